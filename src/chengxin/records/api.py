"""Collection routes: JSON batches, records with history, held rows."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from chengxin.accounts.principal import Principal
from chengxin.deps import DbId, RuntimeDep, require
from chengxin.errors import AppError, JSONResponse, ValidationFailed
from chengxin.records import service
from chengxin.records.ingest import IngestResult, ingest

router = APIRouter(prefix="/api/v1", tags=["records"])

MAX_BATCH = 10_000
MAX_BODY = 64 * 1024 * 1024


class BatchRejected(AppError):
    status = 422
    code = "batch_rejected"


def batch_answer(result: IngestResult) -> dict[str, Any]:
    counts = result.counts
    answer = {"accepted": result.accepted, "rejected": counts["rejected"],
              "held": counts["held"], "results": [r.as_dict() for r in result.results]}
    if result.results and counts["rejected"] == len(result.results):
        # Never "success" with nothing imported: say so, with every row's errors.
        raise BatchRejected(
            f"全部 {len(result.results)} 行均被拒绝，未导入任何记录",
            details=[e for r in result.results for e in r.errors])
    return answer


async def _json_array(request: Request) -> list[Any]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise AppError("请求内容过大", code="payload_too_large", status=413)
    try:
        rows = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValidationFailed("请求体不是有效的 JSON", details=[
            {"field": "body", "message": "不是有效的 JSON"}]) from None
    if not isinstance(rows, list):
        raise ValidationFailed("请求体应为记录数组", details=[
            {"field": "body", "message": "应为 JSON 数组"}])
    if not rows:
        raise ValidationFailed("记录数组为空", details=[{"field": "body", "message": "至少一行"}])
    if len(rows) > MAX_BATCH:
        raise ValidationFailed(f"每次最多 {MAX_BATCH} 行", code="batch_too_large", details=[
            {"field": "body", "message": f"共 {len(rows)} 行，超过 {MAX_BATCH} 行"}])
    return rows


@router.post("/records", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "array", "maxItems": MAX_BATCH,
                                    "items": {"type": "object"}}}}}})
async def post_records(
    request: Request, rt: RuntimeDep,
    actor: Annotated[Principal, Depends(require("records.write"))],
) -> JSONResponse:
    rows = await _json_array(request)
    if not actor.department_code:
        raise ValidationFailed("账号未绑定部门", code="no_department")

    def work() -> dict[str, Any]:
        with rt.uow() as s:
            result = ingest(s, actor=actor, department_code=actor.department_code or "",
                            rows=rows, source="api", channel="api")
            return batch_answer(result)

    from starlette.concurrency import run_in_threadpool

    return JSONResponse(await run_in_threadpool(work))


@router.get("/records/{record_id}")
def get_record(record_id: DbId, rt: RuntimeDep,
               actor: Annotated[Principal, Depends(require("records.read"))]) -> dict[str, Any]:
    with rt.uow() as s:
        return service.get_record(s, actor=actor, record_id=record_id)


class HeldDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: str = Field(pattern="^(accepted|rejected)$")
    note: str | None = Field(default=None, max_length=500)


@router.get("/held-rows")
def held_rows(rt: RuntimeDep, actor: Annotated[Principal, Depends(require("holds.read"))],
              status: str = "pending") -> list[dict[str, Any]]:
    if status not in ("pending", "accepted", "rejected"):
        raise ValidationFailed("status 无效", details=[{"field": "status", "message": "无效"}])
    with rt.uow() as s:
        return service.list_held(s, actor=actor, status=status)


@router.post("/held-rows/{held_id}/decision")
def decide_held(held_id: DbId, body: HeldDecision, rt: RuntimeDep,
                actor: Annotated[Principal, Depends(require("holds.decide"))]) -> dict[str, Any]:
    with rt.uow() as s:
        return service.decide_held(s, actor=actor, held_id=held_id, outcome=body.outcome,
                                   note=body.note)
