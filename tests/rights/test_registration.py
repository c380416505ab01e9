"""Online registration: one account per verified identity, phone only encrypted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from chengxin.accounts.models import User
from chengxin.rights.identity_providers import (
    UNAVAILABLE_MESSAGE,
    DemoIdentityProvider,
    DisabledProvider,
    provider_for,
)
from chengxin.subjects.models import Person
from chengxin.subjects.service import PHONE_DOMAIN, find_person
from tests.conftest import audit_rows
from tests.records.factories import pid
from tests.rights.test_authorizations import mounted_client

PHONE = "13812345678"


@pytest.fixture
def client(rt) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with mounted_client(rt) as c:
        yield c


@pytest.fixture
def demo(rt):  # type: ignore[no-untyped-def]
    rt.settings.demo_mode = True
    yield rt
    rt.settings.demo_mode = False


def _body(**kw):  # type: ignore[no-untyped-def]
    return {"login": "zhangyi", "password": "Str0ng-Passw0rd", "id_number": pid(1),
            "name": "张一", "phone": PHONE} | kw


def test_demo_registration_creates_an_individual_with_encrypted_phone(client, demo, rt,
                                                                     frozen_clock):
    r = client.post("/api/v1/register", json=_body(phone="138-1234-5678"))
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["verified_by"] == "demo" and answer["demonstration"] is True
    assert "演示" in answer["note"] and answer["role"] == "individual"
    # The new account signs in and sees its own (empty) query log.
    tok = client.post("/api/v1/auth/token",
                      json={"login": "zhangyi", "password": "Str0ng-Passw0rd"})
    assert tok.status_code == 200
    me = {"Authorization": f"Bearer {tok.json()['access_token']}"}
    assert client.get("/api/v1/me/queries", headers=me).json()["items"] == []
    with rt.uow() as s:
        person = find_person(s, pid(1))
        user = s.scalar(select(User).where(User.login == "zhangyi"))
        assert user.person_id == person.id and user.role == "individual"
        assert person.phone_enc and PHONE not in person.phone_enc
        assert rt.cipher.decrypt(person.phone_enc, context=PHONE_DOMAIN) == PHONE
        assert person.phone_hash == rt.blind.digest(PHONE, domain=PHONE_DOMAIN)
        # Nowhere in the persons table in clear.
        for row in s.execute(text("SELECT * FROM persons")):
            assert all(PHONE not in str(v) for v in row)
    (entry,) = audit_rows(rt, "user.register")
    assert entry.details["verified_by"] == "demo" and PHONE not in str(entry.details)
    assert pid(1) not in str(entry.details)


def test_outside_demo_mode_registration_is_refused_with_a_clear_503(client, rt):
    assert isinstance(provider_for(rt.settings), DisabledProvider)
    r = client.post("/api/v1/register", json=_body())
    assert r.status_code == 503
    assert r.json()["error"] == {"code": "identity_verification_unavailable",
                                 "message": UNAVAILABLE_MESSAGE, "details": []}
    # Even the demo provider, picked by name, refuses outside demo mode.
    assert provider_for(rt.settings, "demo").__class__ is DemoIdentityProvider
    with pytest.raises(Exception) as exc:
        provider_for(rt.settings, "demo").verify(pid(1), "张一", PHONE)
    assert getattr(exc.value, "status", None) == 503
    with rt.uow() as s:
        assert s.scalar(select(User).where(User.login == "zhangyi")) is None
        assert find_person(s, pid(1)) is None
    assert audit_rows(rt, "user.register")[-1].outcome == "failed"


def test_one_account_per_identity_and_login(client, demo, users, rt, frozen_clock):
    assert client.post("/api/v1/register", json=_body()).status_code == 201
    dup = client.post("/api/v1/register", json=_body(login="zhangyi2"))
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "identity_taken"
    taken = client.post("/api/v1/register", json=_body(id_number=pid(2)))
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "login_taken"


def test_name_mismatch_with_a_known_person_does_not_reveal_the_name(client, demo, rt, frozen_clock):
    from chengxin.subjects.service import resolve_person

    with rt.uow() as s:
        resolve_person(s, pid(3), "王小明")  # known from a department's records
    r = client.post("/api/v1/register", json=_body(id_number=pid(3), name="李四"))
    assert r.status_code == 422
    assert "王小明" not in r.text and r.json()["error"]["details"][0]["field"] == "name"
    ok = client.post("/api/v1/register", json=_body(id_number=pid(3), name="王小明"))
    assert ok.status_code == 201, ok.text
    with rt.uow() as s:
        assert s.scalar(select(User.person_id).where(User.login == "zhangyi")) == \
            find_person(s, pid(3)).id
        assert len(s.scalars(select(Person)).all()) == 1


def test_bad_input_is_422_naming_the_field_without_echoing_it(client, demo, rt):
    bad_id = pid(1)[:-1] + ("0" if pid(1)[-1] != "0" else "1")
    r = client.post("/api/v1/register", json=_body(id_number=bad_id))
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "id_number" and bad_id not in r.text
    r = client.post("/api/v1/register", json=_body(phone="1234567"))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "phone"
    assert "1234567" not in r.text
    r = client.post("/api/v1/register", json=_body(password="short"))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "password"
    r = client.post("/api/v1/register", json={"login": "x"})
    assert r.status_code == 422


def test_registration_is_rate_limited_per_address(client, demo, rt, frozen_clock):
    codes = [client.post("/api/v1/register",
                         json=_body(login=f"user{i}", id_number="bad")).status_code
             for i in range(11)]
    assert codes == [422] * 10 + [429]
    frozen_clock.advance(minutes=11)
    assert client.post("/api/v1/register", json=_body()).status_code == 201
