"""Exchange routes: the signed change feed, the signing public key, list import."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool

from chengxin.accounts.principal import Principal
from chengxin.deps import RuntimeDep, require
from chengxin.errors import JSONResponse, ValidationFailed
from chengxin.exchange import feed
from chengxin.exchange.lists_import import import_list
from chengxin.exchange.signing import CursorError, decode_cursor
from chengxin.keys import public_key_b64

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange"])

MAX_LIST_BODY = 64 * 1024 * 1024


@router.get("/changes")
def get_changes(
    rt: RuntimeDep, actor: Annotated[Principal, Depends(require("exchange.feed"))],
    after: Annotated[str | None, Query(max_length=64, description="opaque cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> JSONResponse:
    try:
        seq = decode_cursor(after)
    except CursorError:
        raise ValidationFailed("游标无效", details=[
            {"field": "after", "message": "不是本平台变更流的游标"}]) from None
    with rt.uow() as s:
        dept = feed.ensure_upper_platform(s, actor)
        page = feed.read_changes(s, actor=actor, after=seq, limit=limit,
                                 receiver=dept.code, after_text=after or None)
    return JSONResponse(page)


@router.get("/public-key")
def get_public_key(rt: RuntimeDep) -> JSONResponse:
    with rt.uow() as s:
        pid = feed.platform_id(s)
    return JSONResponse({"platform_id": pid, "key_id": rt.keys.signing_key_id,
                         "public_key": public_key_b64(rt.keys), "algorithm": "Ed25519"})


@router.post("/lists", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object"}}}}})
async def post_list(request: Request, rt: RuntimeDep,
                    actor: Annotated[Principal, Depends(require("exchange.lists_import"))]
                    ) -> JSONResponse:
    body = await request.body()
    if len(body) > MAX_LIST_BODY:
        from chengxin.errors import AppError

        raise AppError("请求内容过大", code="payload_too_large", status=413)
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValidationFailed("请求体不是有效的 JSON", details=[
            {"field": "body", "message": "不是有效的 JSON"}]) from None

    def work() -> dict[str, Any]:
        with rt.uow() as s:
            return import_list(s, actor=actor, body=data)

    return JSONResponse(await run_in_threadpool(work))


def mount(app: FastAPI) -> FastAPI:
    """The exchange router is part of every app (app.py mounts it); kept for callers."""
    return app


def create_app_with_exchange() -> FastAPI:
    """ASGI factory: `uvicorn --factory chengxin.exchange.api:create_app_with_exchange`."""
    from chengxin.app import create_app

    return create_app()


__all__ = ["Principal", "create_app_with_exchange", "mount", "router"]
