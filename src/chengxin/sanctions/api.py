"""Check, feedback, lists and their maker–checker routes."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from chengxin.accounts.principal import Principal
from chengxin.deps import DbId, RuntimeDep, require
from chengxin.errors import JSONResponse, NotFound, ValidationFailed
from chengxin.sanctions import lists, service
from chengxin.sanctions.models import ListEntry, ListEvent, PendingListChange

router = APIRouter(prefix="/api/v1", tags=["sanctions"])


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise ValidationFailed("请求体不是有效的 JSON", details=[
            {"field": "body", "message": "不是有效的 JSON"}]) from None
    if not isinstance(body, dict):
        raise ValidationFailed("请求体应为 JSON 对象", details=[
            {"field": "body", "message": "应为 JSON 对象"}])
    return body


_CHECK_SCHEMA = {"type": "object", "required": ["id_number", "scenario"], "properties": {
    "id_number": {"type": "string"}, "scenario": {"type": "string"},
    "purpose": {"type": "string"}}}


@router.post("/check", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": _CHECK_SCHEMA}}}})
async def check(request: Request, rt: RuntimeDep,
                actor: Annotated[Principal, Depends(require("check.run"))]) -> JSONResponse:
    # The hot path: raw request and orjson, no per-request pydantic model.
    body = await _json_object(request)
    purpose = body.get("purpose")
    from starlette.concurrency import run_in_threadpool

    def work() -> dict[str, Any]:
        with rt.uow() as s:
            return service.run_check(s, actor=actor, id_number=body.get("id_number"),
                                     scenario=body.get("scenario"),
                                     purpose=purpose if isinstance(purpose, str) else None)

    return JSONResponse(await run_in_threadpool(work))


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    applied: list[str] = Field(max_length=100)
    note: str | None = Field(default=None, max_length=2000)


@router.post("/check/{check_id}/feedback")
def check_feedback(check_id: str, body: FeedbackIn, rt: RuntimeDep,
                   actor: Annotated[Principal, Depends(require("check.feedback"))]) -> dict:
    with rt.uow() as s:
        return service.feedback(s, actor=actor, check_id=check_id[:64], applied=body.applied,
                                note=body.note)


@router.get("/stats/measures")
def measure_stats(rt: RuntimeDep, actor: Annotated[Principal, Depends(require("stats.read"))],
                  department: Annotated[str | None, Query(max_length=64)] = None) -> list[dict]:
    if actor.department_code and actor.role in ("reporter",):
        department = actor.department_code
    with rt.uow() as s:
        return service.measure_stats(s, department=department)


@router.get("/lists")
def list_entries(
    rt: RuntimeDep, actor: Annotated[Principal, Depends(require("lists.read"))],
    type: Annotated[str | None, Query(pattern="^(black|red|focus)$")] = None,
    status: Annotated[str | None, Query(max_length=12)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    with rt.uow() as s:
        q = select(ListEntry).order_by(ListEntry.id.desc()).limit(limit)
        if type:
            q = q.where(ListEntry.list_type == type)
        if status:
            q = q.where(ListEntry.status == status)
        return [lists.entry_dict(e) for e in s.scalars(q)]


@router.get("/lists/{entry_id}")
def list_entry(entry_id: DbId, rt: RuntimeDep,
               actor: Annotated[Principal, Depends(require("lists.read"))]) -> dict[str, Any]:
    with rt.uow() as s:
        entry = s.get(ListEntry, entry_id)
        if entry is None:
            raise NotFound("名单条目不存在")
        events = list(s.scalars(select(ListEvent).where(ListEvent.entry_id == entry_id)
                                .order_by(ListEvent.id)))
        return lists.entry_dict(entry, events=events)


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000)


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/lists/{entry_id}/approve")
def approve(entry_id: DbId, body: Note, rt: RuntimeDep,
            actor: Annotated[Principal, Depends(require("lists.decide"))]) -> dict[str, Any]:
    with rt.uow() as s:
        return lists.entry_dict(lists.approve_listing(s, actor=actor, entry_id=entry_id,
                                                      note=body.note))


@router.post("/lists/{entry_id}/reject")
def reject(entry_id: DbId, body: Reason, rt: RuntimeDep,
           actor: Annotated[Principal, Depends(require("lists.decide"))]) -> dict[str, Any]:
    with rt.uow() as s:
        return lists.entry_dict(lists.reject_listing(s, actor=actor, entry_id=entry_id,
                                                     reason=body.reason))


@router.post("/lists/{entry_id}/removal")
def propose_removal(entry_id: DbId, body: Reason, rt: RuntimeDep,
                    actor: Annotated[Principal, Depends(require("lists.decide"))]) -> dict:
    with rt.uow() as s:
        change = lists.propose_removal(s, actor=actor, entry_id=entry_id, reason=body.reason)
        return {"change_id": change.id, "status": change.status, "action": change.action}


@router.post("/lists/{entry_id}/suspend")
def suspend(entry_id: DbId, body: Reason, rt: RuntimeDep,
            actor: Annotated[Principal, Depends(require("lists.decide"))]) -> dict[str, Any]:
    with rt.uow() as s:
        return lists.entry_dict(lists.set_suspended(s, actor=actor, entry_id=entry_id,
                                                    suspended=True, reason=body.reason))


@router.post("/lists/{entry_id}/resume")
def resume(entry_id: DbId, body: Reason, rt: RuntimeDep,
           actor: Annotated[Principal, Depends(require("lists.decide"))]) -> dict[str, Any]:
    with rt.uow() as s:
        return lists.entry_dict(lists.set_suspended(s, actor=actor, entry_id=entry_id,
                                                    suspended=False, reason=body.reason))


class ChangeDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    note: str | None = Field(default=None, max_length=2000)


@router.post("/list-changes/{change_id}/decision")
def decide_change(change_id: DbId, body: ChangeDecision, rt: RuntimeDep,
                  actor: Annotated[Principal, Depends(require("lists.decide"))]) -> dict:
    with rt.uow() as s:
        change = lists.decide_change(s, actor=actor, change_id=change_id, approve=body.approve,
                                     note=body.note)
        return {"change_id": change.id, "status": change.status}


@router.get("/list-changes")
def pending_changes(rt: RuntimeDep,
                    actor: Annotated[Principal, Depends(require("lists.read"))]) -> list[dict]:
    with rt.uow() as s:
        return [{"change_id": c.id, "entry_id": c.entry_id, "action": c.action,
                 "reason": c.reason, "proposed_by": c.proposed_by,
                 "proposed_at": c.proposed_at.isoformat()}
                for c in s.scalars(select(PendingListChange).where(
                    PendingListChange.status == "pending").order_by(PendingListChange.id))]
