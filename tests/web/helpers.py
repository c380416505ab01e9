"""Page-test helpers: the app with the pages mounted, signing in through the form."""

from __future__ import annotations

import re

from chengxin import web

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def with_pages(app):  # type: ignore[no-untyped-def]
    if not any(getattr(r, "path", None) == "/login" for r in app.routes):
        app.include_router(web.router)
    web.mount_static(app)
    return app


def csrf(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def sign_in(client, login: str, password: str):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    return client.post("/login", data={"login": login, "password": password,
                                       "csrf_token": csrf(page.text)}, follow_redirects=False)
