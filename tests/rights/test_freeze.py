"""冻结: only authorised third-party queries are refused; the freeze is never revealed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from chengxin.accounts.principal import Principal, Role
from chengxin.rights import querylog
from chengxin.rights.freeze import is_frozen
from chengxin.subjects.service import find_person
from tests.conftest import audit_rows
from tests.records.factories import EDU, pid
from tests.rights.test_authorizations import mounted_client


@pytest.fixture
def client(rt) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with mounted_client(rt) as c:
        yield c


def test_freeze_status_history_and_idempotence(client, users, rt, frozen_clock):
    users.add("person1", "individual", id_number=pid(1), name="张一")
    users.add("bank1", "third_party", organization="银行")
    me = users.headers("person1")
    assert client.get("/api/v1/me/freeze", headers=me).json() == {
        "frozen": False, "since": None, "history": []}
    first = client.post("/api/v1/me/freeze", headers=me).json()
    again = client.post("/api/v1/me/freeze", headers=me).json()
    assert first == again and first["frozen"] and len(first["history"]) == 1
    with rt.uow() as s:
        person = find_person(s, pid(1))
        assert is_frozen(s, person.id)
        # Statutory sharing and checks do not consult the freeze: they log and proceed.
        system = Principal(kind="api_key", role=Role.SYSTEM, id="3", department_code=EDU,
                           label="key:abc")
        querylog.log_query(s, actor=system, person_id=person.id, channel="check",
                           what="check", purpose="联合奖惩核查")
    assert client.get("/api/v1/me/queries", headers=me).json()["items"][0]["who"] == "安阳县教育局"
    client.delete("/api/v1/me/freeze", headers=me)
    client.delete("/api/v1/me/freeze", headers=me)  # lifting twice changes nothing more
    with rt.uow() as s:
        assert not is_frozen(s, person.id)
    assert len(audit_rows(rt, "freeze.create")) == 1 and len(audit_rows(rt, "freeze.lift")) == 1
    # Only the person has a freeze to set.
    assert client.post("/api/v1/me/freeze", headers=users.headers("bank1")).status_code == 403
    assert client.get("/api/v1/me/freeze").status_code == 401
