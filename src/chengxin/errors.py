"""The api.md error format and the handlers that make every failure use it.

`{"error": {"code": ..., "message": ..., "details": [...]}}` — never a stack trace, never a
500 for bad input. Domain code raises AppError subclasses; the handlers shape them.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from chengxin.identity.masking import loggable_path

log = logging.getLogger("chengxin.errors")


class JSONResponse(Response):
    """orjson-rendered JSON (FastAPI's JSONResponse is deprecated)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        if code:
            self.code = code
        if status:
            self.status = status

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationFailed(AppError):
    status = 422
    code = "validation_error"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class TooMany(AppError):
    status = 429
    code = "rate_limited"


def error_response(status: int, code: str, message: str, details: list | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or []}},
        status_code=status,
        headers=headers,
    )


def _field_path(loc: tuple | list) -> str:
    # FastAPI prefixes locations with "body"/"query"/"path"; users want the field name.
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    details = []
    for err in errors:
        loc = list(err.get("loc", ()))
        item: dict[str, Any] = {"field": _field_path(loc), "message": err.get("msg", "无效")}
        # A top-level array body (batches): the first index is the row, counted from 1.
        if len(loc) >= 2 and loc[0] == "body" and isinstance(loc[1], int):
            item["row"] = loc[1] + 1
            item["field"] = _field_path(loc[2:]) or "row"
        details.append(item)
    return details


_STATUS_CODES = {
    400: ("bad_request", "请求无效"),
    401: ("unauthorized", "未认证或凭据无效"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    406: ("not_acceptable", "不支持的响应格式"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    429: ("rate_limited", "请求过于频繁"),
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "validation_error", "请求数据校验失败",
                              validation_details(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = _STATUS_CODES.get(exc.status_code, ("http_error", "请求失败"))
        if exc.status_code == 404 and request.scope.get("route") is not None:
            message = str(exc.detail) if exc.detail and exc.detail != "Not Found" else message
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        # An id or number past what the database stores (e.g. /lists/99999999999999999999):
        # bad input, found by the API fuzz test (tests/security/test_fuzz_api.py).
        return error_response(422, "value_out_of_range", "请求中的数值超出允许范围")

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value (PostgreSQL: NUL in text, integer out of range,
        # invalid byte sequence): bad input, not a server fault. Type only in the log.
        log.info("database refused a value on %s %s: %s", request.method,
                 loggable_path(request.url.path),
                 type(getattr(exc, "orig", exc)).__name__)
        return error_response(422, "invalid_value", "请求中含有无法保存的值（如超出范围的数字或 NUL 字符）")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Logged with the type and path only: an exception's text may quote personal data.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method,
                  loggable_path(request.url.path))
        return error_response(500, "internal_error", "服务器内部错误，请稍后重试")
