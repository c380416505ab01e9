"""Role × endpoint: every route, every role and no credentials, checked exhaustively.

The expected answer comes from the one permission table (accounts/permissions.py): a
role outside a route's permission gets 403, no credentials get 401, a role inside it
gets past the permission check (whatever the dummy input then earns: 404, 422, 200).
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from chengxin.accounts.permissions import PERMISSIONS
from chengxin.accounts.principal import Role

ROLES = ["admin", "reviewer", "reporter", "auditor", "individual", "third_party", "system"]
# Refusals a service may still give an allowed role for these dummy inputs (its own
# scoping: another department, not the person, maker-checker) — never 401.
SERVICE_SCOPED = {"other_department", "not_the_person", "not_source_department", "no_person",
                  "same_person", "no_department", "not_upper_platform", "not_credit_office"}


def _permission_of(route: APIRoute) -> str | None:
    for dep in route.dependant.dependencies:
        for sub in [dep, *dep.dependencies]:
            perm = getattr(sub.call, "permission", None)
            if perm:
                return perm
    return None


def _flatten(routes, prefix=""):
    """FastAPI nests included routers lazily (_IncludedRouter); walk into them."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flatten(inner.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            yield prefix, route


def _routes(app):
    out = []
    for prefix, route in _flatten(app.routes):
        if not (prefix + route.path).startswith("/api/"):
            continue
        perm = _permission_of(route)
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            out.append((method, prefix + route.path, perm))
    return out


@pytest.fixture
def principals(users):
    headers = {}
    for role in ROLES[:-1]:
        kw = {}
        if role == "reporter":
            kw["department_code"] = "410522-jyj"
        if role == "individual":
            kw.update(id_number="11010519491231002X", name="张三")
        if role == "third_party":
            kw["organization"] = "某公司"
        users.add(f"role-{role}", role, **kw)
        headers[role] = users.headers(f"role-{role}")
    headers["system"] = users.api_key("410522-jyj")
    return headers


def _call(client, method, path, headers):
    url = re.sub(r"\{[^}]+\}", "999999", path)
    return client.request(method, url, headers=headers, json={} if method != "GET" else None)


def test_every_protected_route_follows_the_permission_table(app, client, principals):
    routes = _routes(app)
    assert len(routes) >= 40
    checked = 0
    for method, path, perm in routes:
        anon = _call(client, method, path, {})
        if perm is None:
            assert anon.status_code not in (500,), (method, path)
            continue
        assert anon.status_code == 401, (method, path, anon.text)
        for role in ROLES:
            r = _call(client, method, path, principals[role])
            allowed = Role(role) in PERMISSIONS[perm]
            where = (method, path, role, perm, r.status_code, r.text[:200])
            assert r.status_code != 500, where
            if allowed:
                assert r.status_code != 401, where
                if r.status_code == 403:
                    assert r.json()["error"]["code"] in SERVICE_SCOPED, where
            else:
                assert r.status_code == 403, where
                assert r.json()["error"]["code"] == "forbidden", where
            checked += 1
    assert checked >= 40 * len(ROLES)


def test_auditor_changes_nothing(app, principals):
    """Every route an auditor may call is a read."""
    for method, path, perm in _routes(app):
        if perm and Role.AUDITOR in PERMISSIONS[perm]:
            assert method == "GET", (method, path, perm)
