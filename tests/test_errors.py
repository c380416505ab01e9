"""Every failure speaks the api.md error format; no stack trace, no 500 for bad input."""

from __future__ import annotations

import pytest


def _is_error(r, status, code=None):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert "Traceback" not in r.text
    if code:
        assert body["error"]["code"] == code


def test_unknown_path_and_wrong_method(client):
    _is_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    _is_error(client.delete("/api/v1/catalog"), 405, "method_not_allowed")


@pytest.mark.parametrize("body", [b"{", b"[]", b"null", b'{"login": 5}', b"\xff\xfe", b""])
def test_malformed_json_to_token(client, body):
    r = client.post("/api/v1/auth/token", content=body,
                    headers={"content-type": "application/json"})
    _is_error(r, 422, "validation_error")


def test_validation_details_name_the_field(client):
    r = client.post("/api/v1/auth/token", json={"login": "x"})
    _is_error(r, 422)
    assert r.json()["error"]["details"][0]["field"] == "password"


def test_unknown_fields_refused(client):
    r = client.post("/api/v1/auth/token", json={"login": "x", "password": "y", "extra": 1})
    _is_error(r, 422)
    assert r.json()["error"]["details"][0]["field"] == "extra"


def test_missing_credentials_401_and_bad_query_422(client, users):
    _is_error(client.get("/api/v1/audit"), 401, "unauthorized")
    users.add("aud1", "auditor")
    r = client.get("/api/v1/audit?limit=abc", headers=users.headers("aud1"))
    _is_error(r, 422)
    assert r.json()["error"]["details"][0]["field"] == "limit"


def test_security_headers_present(client):
    r = client.get("/api/v1/catalog")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_openapi_served(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    assert "/api/v1/auth/token" in r.json()["paths"]
