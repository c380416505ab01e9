"""TOTP second factor (等保 2.0 level 3: two factors, one cryptographic).

Codes come from pyotp with the enrolment secret at the frozen clock's time, so windows
and replays are exact. Sign-in tests need the accounts/service.py + api.py change that
passes the code to sign_in; they skip (saying so) until it is applied.
"""

from __future__ import annotations

import inspect
import urllib.parse

import pyotp
import pytest
from sqlalchemy import select

from chengxin.accounts import service, totp
from chengxin.accounts.models import User
from tests.conftest import PASSWORD, audit_rows

SIGN_IN_HAS_TOTP = "totp_code" in inspect.signature(service.sign_in).parameters
needs_sign_in_change = pytest.mark.skipif(
    not SIGN_IN_HAS_TOTP, reason="apply the sign_in/token diff (service.sign_in(totp_code=))")


@pytest.fixture
def tclient(app, client):
    """The client, with the TOTP router mounted if app.py does not mount it yet."""
    from chengxin.accounts import totp_api

    if not any(getattr(r, "path", "") == "/api/v1/auth/totp/enrol" for r in app.routes):
        app.include_router(totp_api.router)
    return client


def _enrol(client, headers) -> str:
    r = client.post("/api/v1/auth/totp/enrol", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["secret"]


def _confirm(client, headers, secret, clock) -> None:
    code = pyotp.TOTP(secret).at(clock.now())
    r = client.post("/api/v1/auth/totp/confirm", headers=headers, json={"code": code})
    assert r.status_code == 200 and r.json() == {"enabled": True}, r.text


def _user(rt, login) -> User:
    with rt.uow() as s:
        user = s.scalar(select(User).where(User.login == login))
        s.expunge(user)
        return user


def test_enrolment_stores_the_secret_encrypted_and_enables_only_after_a_valid_code(
        tclient, rt, users, frozen_clock):
    users.add("rev1", "reviewer")
    h = users.headers("rev1")
    r = tclient.post("/api/v1/auth/totp/enrol", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    secret = body["secret"]
    assert len(secret) == 32 and body["digits"] == 6 and body["period"] == 30
    uri = urllib.parse.urlparse(body["provisioning_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert urllib.parse.parse_qs(uri.query)["secret"] == [secret]
    assert r.headers["cache-control"] == "no-store"

    stored = _user(rt, "rev1")
    assert stored.totp_enabled is False
    assert secret not in stored.totp_secret_enc  # encrypted at rest ...
    assert rt.cipher.decrypt(stored.totp_secret_enc, context=totp.CONTEXT) == secret
    with pytest.raises(Exception):  # ... and bound to its column's purpose
        rt.cipher.decrypt(stored.totp_secret_enc, context="person.id_number")

    wrong = tclient.post("/api/v1/auth/totp/confirm", headers=h, json={"code": "000000"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "invalid_totp"
    assert tclient.get("/api/v1/auth/totp", headers=h).json() == {"enabled": False}
    _confirm(tclient, h, secret, frozen_clock)
    assert _user(rt, "rev1").totp_enabled is True
    again = tclient.post("/api/v1/auth/totp/enrol", headers=h)
    assert again.status_code == 409 and again.json()["error"]["code"] == "totp_already_enabled"
    actions = [e.action for e in audit_rows(rt) if e.action.startswith("totp.")]
    assert actions == ["totp.enrol", "totp.enable"]
    assert not any(secret in str(e.details) for e in audit_rows(rt))


def test_window_is_one_step_either_side():
    secret = pyotp.random_base32()
    t = 1_795_000_000  # a step boundary does not matter: steps are counted from t // 30
    gen = pyotp.TOTP(secret)
    for delta, ok in [(0, True), (-30, True), (30, True), (-60, False), (60, False),
                      (-90, False), (90, False)]:
        step = totp.matching_step(secret, gen.at(t + delta), t)
        assert (step is not None) is ok, delta
    for bad in ["", "12345", "1234567", "abcdef", None, "12 34 5", "１２３４５６"]:
        assert totp.matching_step(secret, bad, t) is None


def test_a_code_is_accepted_once(rt, users, frozen_clock):
    uid = users.add("rep1", "reporter", department_code="410522-jyj")
    secret = pyotp.random_base32()
    with rt.uow() as s:
        user = s.get(User, uid)
        user.totp_secret_enc = rt.cipher.encrypt(secret, context=totp.CONTEXT)
        user.totp_enabled = True
    code = pyotp.TOTP(secret).at(frozen_clock.now())
    with rt.uow() as s:
        user = s.get(User, uid)
        assert totp.verify(s, user, code) is True
        assert totp.verify(s, user, code) is False  # replay
        # an older code (previous step) after a newer one was used: also refused
        assert totp.verify(s, user, pyotp.TOTP(secret).at(frozen_clock.now().timestamp() - 30)) is False
    frozen_clock.advance(seconds=30)
    with rt.uow() as s:
        assert totp.verify(s, s.get(User, uid), pyotp.TOTP(secret).at(frozen_clock.now()))


def test_only_people_enrol_and_only_another_admin_resets(tclient, rt, users, frozen_clock):
    key = users.api_key("410522-jyj")
    r = tclient.post("/api/v1/auth/totp/enrol", headers=key)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_a_person_account"
    assert tclient.post("/api/v1/auth/totp/enrol").status_code == 401

    uid = users.add("rev2", "reviewer")
    admin1 = users.add("adm1", "admin")
    users.add("adm2", "admin")
    h = users.headers("rev2")
    _confirm(tclient, h, _enrol(tclient, h), frozen_clock)

    r = tclient.post(f"/api/v1/users/{uid}/totp/reset", headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    ha1 = users.headers("adm1")
    own = tclient.post(f"/api/v1/users/{admin1}/totp/reset", headers=ha1)
    assert own.status_code == 403 and own.json()["error"]["code"] == "own_account"
    assert tclient.post("/api/v1/users/999999/totp/reset", headers=ha1).status_code == 404
    r = tclient.post(f"/api/v1/users/{uid}/totp/reset", headers=ha1)
    assert r.status_code == 200 and r.json() == {"id": uid, "login": "rev2", "totp_enabled": False}
    stored = _user(rt, "rev2")
    assert stored.totp_secret_enc is None and stored.totp_enabled is False
    (entry,) = audit_rows(rt, "totp.reset")
    assert entry.object_id == str(uid) and entry.details == {"was_enabled": True}


@needs_sign_in_change
def test_sign_in_requires_the_code_once_enabled(tclient, rt, users, frozen_clock):
    users.add("rev3", "reviewer")
    h = users.headers("rev3")
    secret = _enrol(tclient, h)
    _confirm(tclient, h, secret, frozen_clock)
    frozen_clock.advance(seconds=30)  # the confirming code is spent
    token = "/api/v1/auth/token"

    r = tclient.post(token, json={"login": "rev3", "password": PASSWORD})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "totp_required"
    assert set(r.json()["error"]) == {"code", "message", "details"}

    bad_password = tclient.post(token, json={"login": "rev3", "password": "Wrong-Passw0rd!"})
    bad_code = tclient.post(token, json={"login": "rev3", "password": PASSWORD, "totp": "000000"})
    unknown = tclient.post(token, json={"login": "nobody", "password": PASSWORD, "totp": "000000"})
    assert bad_password.status_code == bad_code.status_code == unknown.status_code == 401
    assert bad_password.json() == bad_code.json() == unknown.json()  # one generic answer
    assert bad_password.json()["error"]["code"] == "bad_credentials"

    code = pyotp.TOTP(secret).at(frozen_clock.now())
    ok = tclient.post(token, json={"login": "rev3", "password": PASSWORD, "totp": code})
    assert ok.status_code == 200, ok.text
    replay = tclient.post(token, json={"login": "rev3", "password": PASSWORD, "totp": code})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "bad_credentials"
    reasons = [e.details.get("reason") for e in audit_rows(rt, "auth.login")
               if e.outcome != "success"]
    assert {"totp_required", "bad_totp"} <= set(reasons)


@needs_sign_in_change
def test_wrong_codes_count_towards_the_lockout(tclient, rt, users, frozen_clock):
    users.add("rev4", "reviewer")
    h = users.headers("rev4")
    secret = _enrol(tclient, h)
    _confirm(tclient, h, secret, frozen_clock)
    frozen_clock.advance(seconds=30)
    for _ in range(rt.settings.lockout_threshold):
        tclient.post("/api/v1/auth/token",
                     json={"login": "rev4", "password": PASSWORD, "totp": "000000"})
    code = pyotp.TOTP(secret).at(frozen_clock.now())
    r = tclient.post("/api/v1/auth/token", json={"login": "rev4", "password": PASSWORD, "totp": code})
    assert r.status_code == 401  # locked, even with the right password and code
    frozen_clock.advance(minutes=rt.settings.lockout_minutes + 1)
    code = pyotp.TOTP(secret).at(frozen_clock.now())
    r = tclient.post("/api/v1/auth/token", json={"login": "rev4", "password": PASSWORD, "totp": code})
    assert r.status_code == 200, r.text


@needs_sign_in_change
def test_required_for_staff_restricts_until_enrolled(tclient, rt, users, frozen_clock):
    if "require_totp_for_staff" not in type(rt.settings).model_fields:
        pytest.skip("apply the config.py diff (require_totp_for_staff)")
    rt.settings.require_totp_for_staff = True
    users.add("adm5", "admin")
    users.add("person5", "individual", id_number="11010519491231002X", name="张三")
    r = tclient.post("/api/v1/auth/token", json={"login": "adm5", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["totp_enrolment_required"] is True
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    refused = tclient.get("/api/v1/users", headers=h)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "totp_enrolment_required"
    secret = _enrol(tclient, h)
    _confirm(tclient, h, secret, frozen_clock)
    # the same token now passes: the pending flag is read from the account, not the token
    assert tclient.get("/api/v1/users", headers=h).status_code == 200
    # individuals are not staff: no second factor demanded of them
    me = tclient.post("/api/v1/auth/token", json={"login": "person5", "password": PASSWORD})
    assert me.status_code == 200 and me.json()["totp_enrolment_required"] is False
