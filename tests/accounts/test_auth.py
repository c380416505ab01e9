from __future__ import annotations

import datetime as dt

from chengxin import clock
from tests.conftest import PASSWORD, audit_rows


def _token(client, login, password=PASSWORD):
    return client.post("/api/v1/auth/token", json={"login": login, "password": password})


def test_token_issued_and_accepted(client, users):
    users.add("alice", "admin")
    r = _token(client, "alice")
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 30 * 60
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["login"] == "alice" and me.json()["role"] == "admin"


def test_bad_password_and_unknown_login_look_the_same(client, users):
    users.add("bob", "reviewer")
    wrong = _token(client, "bob", "Wrong-Passw0rd!")
    unknown = _token(client, "nobody", "Wrong-Passw0rd!")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "bad_credentials"
    outcomes = [(e.outcome, e.details.get("reason")) for e in audit_rows(users.rt, "auth.login")]
    assert ("failed", "bad_password") in outcomes and ("failed", "unknown_login") in outcomes


def test_lockout_after_repeated_failures_then_unlock(client, users, frozen_clock):
    users.add("carol", "reporter", department_code="410522-jyj")
    for _ in range(5):
        assert _token(client, "carol", "Wrong-Passw0rd!").status_code == 401
    # Locked now: even the right password is refused, with the same answer.
    locked = _token(client, "carol")
    assert locked.status_code == 401
    assert [e.details.get("reason") for e in audit_rows(users.rt, "auth.login")][-1] == "locked"
    frozen_clock.advance(minutes=16)
    assert _token(client, "carol").status_code == 200


def test_token_expires(client, users, frozen_clock):
    users.add("dave", "auditor")
    headers = users.headers("dave")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    frozen_clock.advance(minutes=31)
    r = client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"


def test_tampered_and_garbage_tokens_are_401(client, users):
    users.add("erin", "admin")
    token = users.headers("erin")["Authorization"]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for value in (tampered, "Bearer nonsense", "Bearer cx1.a.b", "Basic abc", "Bearer "):
        r = client.get("/api/v1/auth/me", headers={"Authorization": value})
        assert r.status_code == 401, value
        assert set(r.json()["error"]) == {"code", "message", "details"}


def test_deactivated_user_token_dies(client, users):
    uid = users.add("frank", "reviewer")
    users.add("root1", "admin")
    headers = users.headers("frank")
    r = client.post(f"/api/v1/users/{uid}/deactivate", headers=users.headers("root1"))
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert _token(client, "frank").status_code == 401


def test_weak_password_refused_with_field_details(client, users):
    users.add("admin1", "admin")
    r = client.post("/api/v1/users", headers=users.headers("admin1"),
                    json={"login": "weakling", "password": "abc", "role": "reviewer"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "weak_password"
    assert all(d["field"] == "password" for d in err["details"]) and len(err["details"]) >= 2


def test_create_users_of_each_kind(client, users):
    users.add("admin2", "admin")
    h = users.headers("admin2")
    ok = client.post("/api/v1/users", headers=h, json={
        "login": "teacher-desk", "password": PASSWORD, "role": "reporter",
        "department": "410522-jyj"})
    assert ok.status_code == 201 and ok.json()["department"] == "410522-jyj"
    no_dept = client.post("/api/v1/users", headers=h, json={
        "login": "lost", "password": PASSWORD, "role": "reporter"})
    assert no_dept.status_code == 422
    bad_role = client.post("/api/v1/users", headers=h, json={
        "login": "wizard", "password": PASSWORD, "role": "wizard"})
    assert bad_role.status_code == 422 and bad_role.json()["error"]["code"] == "unknown_role"
    dup = client.post("/api/v1/users", headers=h, json={
        "login": "teacher-desk", "password": PASSWORD, "role": "reviewer"})
    assert dup.status_code == 409
    person = client.post("/api/v1/users", headers=h, json={
        "login": "zhangsan", "password": PASSWORD, "role": "individual",
        "id_number": "11010519491231002x", "name": "张三"})
    assert person.status_code == 201
    bad_id = client.post("/api/v1/users", headers=h, json={
        "login": "lisi", "password": PASSWORD, "role": "individual",
        "id_number": "110105194912310021", "name": "李四"})
    assert bad_id.status_code == 422
    assert bad_id.json()["error"]["details"][0]["field"] == "id_number"
    assert "110105194912310021" not in bad_id.text


def test_password_stored_as_argon2id(rt, users):
    from sqlalchemy import select

    from chengxin.accounts.models import User

    users.add("gina", "auditor")
    with rt.uow() as s:
        stored = s.scalar(select(User.password_hash).where(User.login == "gina"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_token_clock_is_utc(frozen_clock):
    assert clock.now() == dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    assert clock.today() == dt.date(2026, 11, 23)
