"""Idle timeout, security headers, CSRF on pages, and no stack traces for hostile input."""

from __future__ import annotations

import inspect
import json

import pytest

from chengxin.accounts import service
from tests.conftest import PASSWORD

TRACE_MARKERS = ("Traceback", 'File "', "sqlalchemy.exc", "psycopg")


def assert_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
    for marker in TRACE_MARKERS:
        assert marker not in r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["details"], list) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body


# --- idle timeout -------------------------------------------------------------------------

IDLE_READY = "sessions.check_and_touch" in inspect.getsource(service.principal_from_token)
needs_idle = pytest.mark.skipif(not IDLE_READY, reason="apply the principal_from_token diff "
                                "(idle timeout through accounts/sessions.py)")


@needs_idle
def test_idle_session_ends_before_the_token_expires(client, rt, users, frozen_clock):
    assert rt.settings.token_ttl_minutes > 16
    users.add("idle-admin", "admin")
    h = users.headers("idle-admin")
    for _ in range(3):  # active every 9 minutes: stays signed in (token lives 30)
        frozen_clock.advance(minutes=9)
        assert client.get("/api/v1/auth/me", headers=h).status_code == 200
    h2 = users.headers("idle-admin")
    frozen_clock.advance(minutes=16)  # 16 idle minutes, token still has 14 to live
    assert_error(client.get("/api/v1/auth/me", headers=h2), 401, "unauthorized")
    # a new sign-in starts a new idle clock
    assert client.get("/api/v1/auth/me", headers=users.headers("idle-admin")).status_code == 200


@needs_idle
def test_idle_page_session_goes_back_to_sign_in(client, users, frozen_clock):
    users.add("idle-rev", "reviewer")
    token = users.headers("idle-rev")["Authorization"].split()[1]
    client.cookies.set("cx_session", token)
    assert client.get("/staff", follow_redirects=False).status_code == 200
    frozen_clock.advance(minutes=16)
    r = client.get("/staff", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/login")


def test_api_keys_have_no_idle_timeout(client, users, frozen_clock):
    key = users.api_key("410522-jyj")
    frozen_clock.advance(hours=5)
    r = client.get("/api/v1/imports/template", headers=key,
                   params={"item_code": "PEN-002", "format": "csv"})
    assert r.status_code == 200


# --- headers --------------------------------------------------------------------------------

def _assert_security_headers(r, *, no_store: bool) -> None:
    h = r.headers
    csp = h["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    assert h["x-frame-options"] == "DENY"
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")
    if no_store:
        assert "no-store" in h["cache-control"]


def test_security_headers_on_api_pages_and_errors(client, users):
    users.add("hdr-admin", "admin")
    _assert_security_headers(client.get("/api/v1/catalog"), no_store=True)
    _assert_security_headers(client.get("/api/v1/users", headers=users.headers("hdr-admin")),
                             no_store=True)
    _assert_security_headers(client.get("/api/v1/nope"), no_store=True)
    _assert_security_headers(client.post("/api/v1/auth/token", json={}), no_store=True)
    page = client.get("/login")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    _assert_security_headers(page, no_store=True)
    _assert_security_headers(client.get("/"), no_store=False)


# --- CSRF on pages ----------------------------------------------------------------------------

def test_page_posts_without_csrf_token_are_refused(client, users):
    r = client.post("/login", data={"login": "x", "password": "y"})
    assert r.status_code == 403 and "CSRF" in r.text
    users.add("csrf-rev", "reviewer")
    token = users.headers("csrf-rev")["Authorization"].split()[1]
    client.cookies.set("cx_session", token)
    client.cookies.set("cx_csrf", "a" * 32)
    for data in ({"outcome": "upheld"}, {"outcome": "upheld", "csrf_token": "f" * 40}):
        r = client.post("/staff/objections/1/decide", data=data, follow_redirects=False)
        assert r.status_code == 403 and "CSRF" in r.text
    # the token of another session does not pass either
    page = client.get("/login")
    assert page.status_code == 200


# --- hostile input never yields a stack trace -----------------------------------------------

@pytest.fixture
def key(users):
    return users.api_key("410522-jyj")


def test_malformed_and_wrongly_typed_bodies(client, key):
    for path in ("/api/v1/auth/token", "/api/v1/check"):
        headers = key if path == "/api/v1/check" else {}
        assert_error(client.post(path, content=b"{not json",
                                 headers={**headers, "content-type": "application/json"}), 422)
        for ctype, body in [("text/plain", b"login=a"), ("application/xml", b"<a/>"),
                            ("multipart/form-data; boundary=x", b"--x--"),
                            ("application/x-www-form-urlencoded", b"login=a&password=b")]:
            r = client.post(path, content=body, headers={**headers, "content-type": ctype})
            assert r.status_code in (415, 422), (path, ctype, r.status_code)
            assert_error(r, r.status_code)
    r = client.post("/api/v1/records", headers={**key, "content-type": "application/json"},
                    content=b"[{]")
    assert_error(r, 422, "validation_error")


def test_non_utf8_nul_and_deeply_nested_json(client, key):
    bad_bytes = b'{"login": "\xff\xfe\xfa", "password": "x"}'
    r = client.post("/api/v1/auth/token", content=bad_bytes,
                    headers={"content-type": "application/json"})
    assert_error(r, r.status_code)
    assert r.status_code in (400, 401, 422)
    r = client.post("/api/v1/records", content=b'[{"subject_name": "\xff"}]',
                    headers={**key, "content-type": "application/json"})
    assert_error(r, 422)
    # NUL inside JSON strings: PostgreSQL text refuses NUL, which must not become a 500
    r = client.post("/api/v1/auth/token", json={"login": "adm\u0000in", "password": "x\u0000"})
    assert_error(r, r.status_code)
    assert r.status_code in (401, 422)
    r = client.post("/api/v1/check", headers=key,
                    json={"id_number": "41052219850601\u0000", "scenario": "licensing\u0000"})
    assert_error(r, r.status_code)
    r = client.post("/api/v1/records", headers=key, json=[{
        "subject_type": "person", "subject_name": "张\u0000三", "id_number": "x\u0000",
        "item_code": "PEN-002", "document_no": "\u0000", "decision_date": "2026-01-01",
        "content": "\u0000"}])
    assert r.status_code in (200, 422), r.text[:300]
    if r.status_code == 422:
        assert_error(r, 422)
    for depth in (500, 5000, 100_000):
        deep = b"[" * depth + b"]" * depth
        for path, headers in (("/api/v1/records", key), ("/api/v1/auth/token", {}),
                              ("/api/v1/check", key)):
            r = client.post(path, content=deep, headers={**headers,
                                                          "content-type": "application/json"})
            assert_error(r, r.status_code)
            assert r.status_code in (400, 413, 422), (path, depth, r.status_code)
    nested = json.dumps({"login": "a", "password": "b", "x": [[[[[[{"y": [1] * 10}]]]]]]})
    assert_error(client.post("/api/v1/auth/token", content=nested,
                             headers={"content-type": "application/json"}), 422)


def test_huge_body_is_refused_in_the_error_format(client, key):
    body = b"[" + b'{"a":"' + b"x" * (70 * 1024 * 1024) + b'"}]'
    r = client.post("/api/v1/records", content=body,
                    headers={**key, "content-type": "application/json"})
    assert_error(r, 413, "payload_too_large")


def test_unknown_paths_and_wrong_methods(client):
    assert_error(client.get("/api/v1/does-not-exist"), 404, "not_found")
    assert_error(client.get("/api/v1/records/abc"), 401)  # auth first: no probing
    r = client.delete("/api/v1/catalog")
    assert_error(r, 405, "method_not_allowed")
    r = client.request("PATCH", "/api/v1/auth/token", json={})
    assert_error(r, 405, "method_not_allowed")
    r = client.get("/api/v1/" + "a" * 5000)
    assert_error(r, 404)
    r = client.get("/api/v1/public/disclosures", params={"q": "\x00" * 10, "page": "-1"})
    assert r.status_code in (200, 422)
    if r.status_code == 422:
        assert_error(r, 422)
