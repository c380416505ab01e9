"""Builds the ASGI application: one router per domain, the error format, headers."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from chengxin import __version__
from chengxin.accounts import api as accounts_api
from chengxin.accounts import totp_api
from chengxin.archives import api as archives_api
from chengxin.audit import api as audit_api
from chengxin.audit.service import record
from chengxin.config import Settings
from chengxin.disclosure import api as disclosure_api
from chengxin.errors import Forbidden, JSONResponse, error_response, install_error_handlers
from chengxin.exchange import api as exchange_api
from chengxin.identity.masking import loggable_path
from chengxin.records import api as records_api
from chengxin.records import imports_api
from chengxin.reference import api as reference_api
from chengxin.reports import api as reports_api
from chengxin.rights import api as rights_api
from chengxin.rights import me_api
from chengxin.runtime import Runtime, build_runtime
from chengxin.sanctions import api as sanctions_api
from chengxin.sanctions.fastpath import CheckFastPath
from chengxin.scoring import api as scoring_api
from chengxin.stats import api as stats_api

log = logging.getLogger("chengxin")

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cache-control": "no-store",
}


class SecurityHeaders:
    """Pure ASGI (no BaseHTTPMiddleware): adds headers without buffering the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.raw = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def _send(message: dict) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (k, v) for k, v in self.raw if k not in present]
            await send(message)

        await self.app(scope, receive, _send)


class ChengxinApp(FastAPI):
    """The application; the check department systems call on every application they
    process is answered ahead of the framework's stack (sanctions/fastpath.py)."""

    fast_check: CheckFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_check is not None and CheckFastPath.wants(scope):
            await self.fast_check(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or build_runtime(settings or Settings())
    app = ChengxinApp(
        title="诚信 Chengxin — 个人公共信用信息平台",
        version=__version__,
        default_response_class=JSONResponse,
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    install_error_handlers(app)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        # A refused attempt is part of "who tried to do what": audit it on its own,
        # since the request's own transaction was rolled back.
        principal = getattr(request.state, "principal", None)
        if principal is not None:
            try:
                with runtime.uow() as s:
                    record(s, principal, "access.denied", outcome="denied",
                           details={"method": request.method,
                                    "path": loggable_path(request.url.path), "code": exc.code})
            except Exception:  # noqa: BLE001 - never turn a 403 into a 500
                log.exception("could not audit a refused request")
        return error_response(exc.status, exc.code, exc.message, exc.details)

    for module in (reference_api, accounts_api, totp_api, audit_api, records_api, sanctions_api,
                   rights_api, disclosure_api, archives_api, stats_api,
                   reports_api, me_api, exchange_api, scoring_api,
                   imports_api):
        app.include_router(module.router)

    @app.get("/api/v1/health", tags=["meta"])
    def health() -> dict:
        with runtime.uow() as s:
            s.connection().exec_driver_sql("SELECT 1")
        return {"status": "ok", "version": __version__}

    from chengxin import web  # pages after the API: the API keeps its own error format

    app.include_router(web.router)
    web.mount_static(app)

    app.add_middleware(SecurityHeaders)
    app.fast_check = CheckFastPath(super(ChengxinApp, app).__call__, runtime,
                                   [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()])
    return app


__all__ = ["create_app"]
