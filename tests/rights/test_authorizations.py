"""授权查询: code shown once, hashed at rest, one generic refusal for every failure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import select

from chengxin.accounts.principal import Principal
from chengxin.deps import current_principal
from chengxin.rights.authorizations import CODE_ALPHABET, UNAVAILABLE, use_authorization
from chengxin.rights.me_api import router as me_router
from chengxin.rights.models import Authorization, QueryLog
from chengxin.subjects.service import find_person
from tests.conftest import audit_rows
from tests.records.factories import pid

BANK = "安县农村商业银行"


class _ProbeIn(BaseModel):
    id_number: str
    authorization_code: str
    purpose: str


def mounted_client(rt) -> TestClient:  # type: ignore[no-untyped-def]
    """The app with the rights router, and a stand-in for the report endpoint."""
    from chengxin.app import create_app

    app = create_app(runtime=rt)
    if "/api/v1/me/authorizations" not in {getattr(r, "path", "") for r in app.routes}:
        app.include_router(me_router)

    @app.post("/api/v1/_probe/report")
    def probe(body: _ProbeIn,
              actor: Annotated[Principal, Depends(current_principal)]) -> dict:
        with rt.uow() as s:
            auth = use_authorization(s, actor=actor, id18=body.id_number,
                                     code=body.authorization_code, purpose=body.purpose)
            return {"authorization_id": auth.id, "person_id": auth.person_id, "uses": auth.uses}

    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(rt) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with mounted_client(rt) as c:
        yield c


@pytest.fixture
def people(users):  # type: ignore[no-untyped-def]
    users.add("person1", "individual", id_number=pid(1), name="张一")
    users.add("person2", "individual", id_number=pid(2), name="李二")
    users.add("bank1", "third_party", organization=BANK)
    users.add("bank2", "third_party", organization="别的银行")
    return _sign_in(users)


def _sign_in(users) -> dict:  # type: ignore[no-untyped-def]
    # Tokens live 30 minutes: sign in again after moving the clock by days.
    return {"p1": users.headers("person1"), "p2": users.headers("person2"),
            "bank": users.headers("bank1"), "other_bank": users.headers("bank2")}


def _grant(client, headers, **kw):  # type: ignore[no-untyped-def]
    body = {"grantee": BANK, "purpose": "贷款审批", "scope": "report", "valid_days": 30} | kw
    r = client.post("/api/v1/me/authorizations", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _use(client, headers, n=1, code="", purpose="贷款审批"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/_probe/report", headers=headers, json={
        "id_number": pid(n), "authorization_code": code, "purpose": purpose})


def test_code_shown_once_hashed_and_used_by_the_right_third_party(client, people, rt,
                                                                 frozen_clock):
    g = _grant(client, people["p1"])
    code = g["code"]
    assert len(code) == 10 and set(code) <= set(CODE_ALPHABET)
    assert g["expires_at"].startswith("2026-12-23")
    listed = client.get("/api/v1/me/authorizations", headers=people["p1"])
    assert listed.status_code == 200
    assert code not in listed.text and "code" not in listed.json()[0]
    assert listed.json()[0]["code_hint"] == code[:2] + "…"
    assert listed.json()[0]["status"] == "active"
    with rt.uow() as s:
        row = s.get(Authorization, g["authorization_id"])
        assert row.code_hash != code and code not in row.code_hash and row.uses == 0
    # Lower case and spaces, as read over the phone, still match.
    spoken = code[:5].lower() + " " + code[5:]
    r = _use(client, people["bank"], code=spoken)
    assert r.status_code == 200, r.text
    with rt.uow() as s:
        person_id = find_person(s, pid(1)).id
    assert r.json() == {"authorization_id": g["authorization_id"], "person_id": person_id,
                        "uses": 1}
    q = client.get("/api/v1/me/queries", headers=people["p1"])
    assert q.status_code == 200
    (item,) = q.json()["items"]
    assert item["who"] == BANK and item["purpose"] == "贷款审批"
    assert item["authorization_id"] == g["authorization_id"] and item["channel"] == "third_party"
    assert "bank1" not in q.text
    # The other person sees nothing of it.
    assert client.get("/api/v1/me/queries", headers=people["p2"]).json()["items"] == []
    use = audit_rows(rt, "authorization.use")[-1]
    assert use.object_id == str(g["authorization_id"]) and use.purpose == "贷款审批"
    assert code not in str(use.details)
    assert audit_rows(rt, "query_log.read")  # reading one's own log is audited
    assert audit_rows(rt, "authorization.create")[-1].details["grantee"] == BANK


def test_every_failure_is_the_same_403(client, people, users, rt, frozen_clock):
    g1 = _grant(client, people["p1"])
    g2 = _grant(client, people["p2"])
    short = _grant(client, people["p1"], valid_days=1)
    revoked = _grant(client, people["p1"])
    assert client.delete(f"/api/v1/me/authorizations/{revoked['authorization_id']}",
                         headers=people["p1"]).json()["status"] == "revoked"
    frozen_clock.advance(days=2)
    people = _sign_in(users)
    bodies = []
    for headers, n, code in [
        (people["bank"], 1, "ABCDEFGHJK"),  # wrong code
        (people["bank"], 1, g2["code"]),  # another person's code
        (people["bank"], 2, g1["code"]),  # the code for person 1, asked about person 2
        (people["bank"], 9, g1["code"]),  # a person unknown to the platform
        (people["bank"], 1, short["code"]),  # expired
        (people["bank"], 1, revoked["code"]),  # revoked
        (people["other_bank"], 1, g1["code"]),  # not the grantee
        (people["p2"], 1, g1["code"]),  # not a third party at all
    ]:
        r = _use(client, headers, n, code)
        assert r.status_code == 403, r.text
        bodies.append(r.json())
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0] == {"error": {"code": "report_unavailable", "message": UNAVAILABLE,
                                   "details": []}}
    with rt.uow() as s:
        assert s.scalars(select(QueryLog)).all() == []
        assert s.get(Authorization, g1["authorization_id"]).uses == 0
    denied = audit_rows(rt, "access.denied")
    assert len(denied) >= 8 and denied[-1].details["code"] == "report_unavailable"
    # The right one still works.
    assert _use(client, people["bank"], 1, g1["code"]).status_code == 200


def test_freeze_refuses_third_parties_with_the_same_answer_until_lifted(client, people, rt,
                                                                        frozen_clock):
    g = _grant(client, people["p1"])
    wrong = _use(client, people["bank"], 1, "ABCDEFGHJK").json()
    r = client.post("/api/v1/me/freeze", headers=people["p1"])
    assert r.status_code == 200 and r.json()["frozen"] is True
    frozen = _use(client, people["bank"], 1, g["code"])
    assert frozen.status_code == 403 and frozen.json() == wrong
    assert "冻结" not in frozen.text
    assert client.get("/api/v1/me/freeze", headers=people["p1"]).json()["frozen"] is True
    frozen_clock.advance(minutes=5)
    lifted = client.delete("/api/v1/me/freeze", headers=people["p1"]).json()
    assert lifted["frozen"] is False and lifted["history"][0]["lifted_at"]
    assert _use(client, people["bank"], 1, g["code"]).status_code == 200
    # A second freeze is a new row; history keeps both.
    client.post("/api/v1/me/freeze", headers=people["p1"])
    status = client.get("/api/v1/me/freeze", headers=people["p1"]).json()
    assert status["frozen"] is True and len(status["history"]) == 2
    assert status["history"][1]["lifted_at"] is not None
    assert [a.action for a in audit_rows(rt) if a.action.startswith("freeze.")
            and a.action != "freeze.read"] == ["freeze.create", "freeze.lift", "freeze.create"]


def test_revoke_only_own_and_validation(client, people, rt, frozen_clock):
    g = _grant(client, people["p1"])
    other = client.delete(f"/api/v1/me/authorizations/{g['authorization_id']}",
                          headers=people["p2"])
    assert other.status_code == 404
    missing = client.delete("/api/v1/me/authorizations/999999", headers=people["p1"])
    assert missing.status_code == 404 and missing.json() == other.json()
    base = {"grantee": BANK, "purpose": "x", "scope": "report", "valid_days": 3}
    for change, field in [({"valid_days": 91}, "valid_days"), ({"valid_days": 0}, "valid_days"),
                          ({"valid_days": "7"}, "valid_days"), ({"scope": "archive"}, "scope"),
                          ({"grantee": ""}, "grantee")]:
        r = client.post("/api/v1/me/authorizations", headers=people["p1"], json=base | change)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"][0]["field"] == field
    # Third parties and staff have no "me" authorisations.
    r = client.post("/api/v1/me/authorizations", headers=people["bank"],
                    json={"grantee": BANK, "purpose": "x", "scope": "report", "valid_days": 3})
    assert r.status_code == 403
    # A malformed ID number from a third party is a 422 that does not echo it.
    bad = client.post("/api/v1/_probe/report", headers=people["bank"], json={
        "id_number": "41052219850601123", "authorization_code": g["code"], "purpose": "贷款"})
    assert bad.status_code == 422 and "41052219850601123" not in bad.text
    assert bad.json()["error"]["details"][0]["field"] == "id_number"
    assert client.get("/api/v1/me/authorizations", headers=people["p1"]).json()[0]["uses"] == 0
