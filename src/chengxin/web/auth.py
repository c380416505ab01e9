"""The pages' session cookie, CSRF tokens, and who may see which page.

The session cookie `cx_session` holds the same signed token the JSON API issues (deps.py
accepts it as a bearer token). A second cookie, `cx_csrf`, holds a random value; every
form carries HMAC(token_key, "csrf|" + cx_csrf + "|" + cx_session), so a token is bound
to both the browser and the signed-in session, and cannot be made without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

from chengxin.accounts import service as accounts
from chengxin.accounts.permissions import allowed
from chengxin.accounts.principal import PUBLIC_PRINCIPAL, Principal
from chengxin.audit.service import record
from chengxin.identity.masking import loggable_path
from chengxin.runtime import Runtime

SESSION_COOKIE = "cx_session"
CSRF_COOKIE = "cx_csrf"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """Not signed in (or the session expired): go to the sign-in page."""


class PageForbidden(Exception):
    def __init__(self, message: str = "您的账号无权访问此页面") -> None:
        super().__init__(message)
        self.message = message


TOTP_PENDING = ("本平台要求工作人员使用动态口令登录：请先通过 /api/v1/auth/totp/enrol "
                "绑定身份验证器应用，或联系管理员。")


class CsrfFailed(Exception):
    """A POST without a valid CSRF token."""


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get(
        "x-forwarded-proto", "").lower() == "https"


def principal(request: Request) -> Principal:
    """The signed-in principal, or PUBLIC; cached on the request."""
    cached = getattr(request.state, "page_principal", None)
    if cached is not None:
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    who = PUBLIC_PRINCIPAL
    if token:
        with runtime(request).uow() as s:
            who = accounts.principal_from_token(s, token) or PUBLIC_PRINCIPAL
    request.state.page_principal = who
    if who is not PUBLIC_PRINCIPAL:
        request.state.principal = who
    return who


def require(request: Request, permission: str) -> Principal:
    """The principal if it holds the permission; otherwise sign-in or a 403 page."""
    who = principal(request)
    if who is PUBLIC_PRINCIPAL:
        raise LoginRequired()
    if who.totp_pending:
        raise PageForbidden(TOTP_PENDING)
    if not allowed(who, permission):
        deny(request, who)
    return who


def require_staff(request: Request) -> Principal:
    who = principal(request)
    if who is PUBLIC_PRINCIPAL:
        raise LoginRequired()
    if who.totp_pending:
        raise PageForbidden(TOTP_PENDING)
    if not who.is_staff:
        deny(request, who)
    return who


def deny(request: Request, who: Principal) -> None:
    """Audit the refusal (as the API does) and show the 403 page."""
    try:
        with runtime(request).uow() as s:
            record(s, who, "access.denied", outcome="denied",
                   details={"method": request.method, "path": loggable_path(request.url.path),
                            "code": "page_forbidden"})
    except Exception:  # noqa: BLE001 - a failed audit must not turn a 403 into a 500
        pass
    raise PageForbidden()


def login_redirect_target(request: Request) -> str:
    path = request.url.path
    if request.url.query and request.method == "GET":
        path += "?" + request.url.query
    return "/login?next=" + quote(path, safe="")


def safe_next(value: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return ""
    return value


# --- CSRF ---------------------------------------------------------------------------

def _csrf_seed(request: Request) -> str:
    seed = getattr(request.state, "csrf_seed", None)
    if seed is None:
        seed = request.cookies.get(CSRF_COOKIE) or ""
        if len(seed) < 20:
            seed = secrets.token_urlsafe(24)
            request.state.csrf_new = True
        request.state.csrf_seed = seed
    return seed


def _mac(request: Request, seed: str, session_token: str) -> str:
    key = runtime(request).keys.token_key
    msg = f"csrf|{seed}|{session_token}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:40]


def csrf_token(request: Request, session_token: str | None = None) -> str:
    if session_token is None:
        session_token = getattr(request.state, "new_session", None)
        if session_token is None:
            session_token = request.cookies.get(SESSION_COOKIE, "")
    return _mac(request, _csrf_seed(request), session_token)


def check_csrf(request: Request, submitted: str | None) -> None:
    seed = request.cookies.get(CSRF_COOKIE) or ""
    if not submitted or len(seed) < 20:
        raise CsrfFailed()
    expected = _mac(request, seed, request.cookies.get(SESSION_COOKIE, ""))
    if not hmac.compare_digest(expected, submitted):
        raise CsrfFailed()


def set_cookies(request: Request, response: Response) -> None:
    """Give the browser its CSRF seed if it has none yet."""
    if getattr(request.state, "csrf_new", False):
        response.set_cookie(CSRF_COOKIE, request.state.csrf_seed, httponly=True,
                            samesite="strict", secure=is_https(request), path="/")


def set_session(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True,
                        samesite="strict", secure=is_https(request), path="/")


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=is_https(request))
