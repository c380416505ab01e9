"""The public portal (no sign-in) and signing in and out."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from chengxin.accounts import service as accounts
from chengxin.disclosure.public import search
from chengxin.identity import scrub_text
from chengxin.reference.repository import list_catalog
from chengxin.rights.common import policy
from chengxin.web import auth
from chengxin.web.common import CSRF, PageRoute, home_for, page_number, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 20


@router.get("/")
def home(request: Request) -> Response:
    return render(request, "public/home.html")


def _search_page(request: Request, kind: str, q: str, page: str | None) -> Response:
    n = page_number(page)
    q = (q or "").strip()[:50]
    with auth.runtime(request).uow() as s:
        # One extra row tells whether a next page exists.
        result = search(s, kind, q or None, limit=PAGE_SIZE + 1, offset=(n - 1) * PAGE_SIZE)
    items = result["items"]
    return render(request, "public/search.html", {
        "kind": kind, "q": q, "page": n, "items": items[:PAGE_SIZE],
        "has_next": len(items) > PAGE_SIZE, "as_of": result["as_of"],
        "title": "严重失信信息公示" if kind == "disclosures" else "守信红名单",
    })


@router.get("/public/disclosures")
def disclosures(request: Request, q: str = "", page: str | None = None) -> Response:
    return _search_page(request, "disclosures", q, page)


@router.get("/public/honors")
def honors(request: Request, q: str = "", page: str | None = None) -> Response:
    return _search_page(request, "honors", q, page)


@router.get("/verify")
@router.get("/public/verify")
def verify(request: Request, report_no: str = "", code: str = "") -> Response:
    result = None
    report_no, code = report_no.strip()[:32], code.strip()[:32]
    if report_no or code:
        try:
            from chengxin.reports.service import verify as verify_report
        except ImportError:  # pragma: no cover - the reports module arrives separately
            return render(request, "public/verify.html", {
                "unavailable": True, "report_no": report_no, "code": code}, status=503)
        with auth.runtime(request).uow() as s:
            result = verify_report(s, report_no, code)
    return render(request, "public/verify.html", {"result": result, "report_no": report_no,
                                                   "code": code})


@router.get("/public/catalog")
def catalog(request: Request) -> Response:
    with auth.runtime(request).uow() as s:
        items = list_catalog(s)
    return render(request, "public/catalog.html", {"items": items})


@router.get("/public/repair-guide")
def repair_guide(request: Request) -> Response:
    with auth.runtime(request).uow() as s:
        pol = policy(s)
    regimes = sorted(pol.display.regimes, key=lambda r: r.from_, reverse=True)
    return render(request, "public/repair_guide.html", {"pol": pol, "regimes": regimes})


# --- sign in / out ------------------------------------------------------------------

BAD_LOGIN = {"bad_credentials": "登录名、密码或动态口令错误。",
             "locked": "连续输错密码次数过多，账号已暂时锁定，请稍后再试。",
             "totp_required": "请输入身份验证器应用中的 6 位动态口令。"}


@router.get("/login")
def login_form(request: Request, next: str = "") -> Response:
    return render(request, "login.html", {"next": auth.safe_next(next), "error": ""})


@router.post("/login")
def login(request: Request, _: None = CSRF, login: str = Form(""), password: str = Form(""),
          totp: str = Form(""), next: str = Form("")) -> Response:
    target = auth.safe_next(next)
    login = login.strip()[:64]
    if not login or not password:
        return render(request, "login.html", {"next": target, "error": "请输入登录名和密码。",
                                              "login": login}, status=400)
    with auth.runtime(request).uow() as s:
        result = accounts.sign_in(s, login, password[:256], totp.strip()[:12] or None)
    if not result.ok or not result.token:
        return render(request, "login.html", {
            "next": target, "login": scrub_text(login),
            "error": BAD_LOGIN.get(result.reason, "登录失败。")}, status=401)
    with auth.runtime(request).uow() as s:
        who = accounts.principal_from_token(s, result.token)
    response = redirect(target or (home_for(who) if who else "/"))
    auth.set_session(request, response, result.token, result.expires_in)
    return response


@router.post("/logout")
def logout(request: Request, _: None = CSRF) -> Response:
    response = redirect("/")
    auth.clear_session(request, response)
    return response
