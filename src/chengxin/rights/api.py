"""Objections, repairs, notices and statements: the person's routes and the staff queues."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal
from chengxin.archives.models import EvidenceFile
from chengxin.audit.service import record as audit
from chengxin.deps import DbId, RuntimeDep, require
from chengxin.errors import NotFound, ValidationFailed
from chengxin.rights import objections, repairs
from chengxin.rights.common import own_person, own_record
from chengxin.rights.models import Notice, Objection, RepairApplication, Statement
from chengxin.rights.notices import notice_dict
from chengxin.sanctions.models import ListEntry

router = APIRouter(prefix="/api/v1", tags=["rights"])
Me = Annotated[Principal, Depends(require("me.subject"))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ObjectionIn(_In):
    record_id: int = Field(ge=1, le=2**63 - 1)
    reason: str = Field(min_length=1, max_length=4000)
    evidence: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(default_factory=list, max_length=20)


class ReviewIn(_In):
    reason: str = Field(min_length=1, max_length=4000)


class ObjectionDecisionIn(_In):
    outcome: str = Field(pattern="^(corrected|upheld|deleted)$")
    note: str | None = Field(default=None, max_length=4000)
    correction: dict[str, Any] | None = None


class RepairIn(_In):
    record_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    list_entry_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    method: str = Field(max_length=24)
    reason: str = Field(min_length=1, max_length=4000)
    evidence: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(default_factory=list, max_length=20)
    commitment: bool = False


class RepairDecisionIn(_In):
    outcome: str = Field(pattern="^(approved|rejected)$")
    reason: str | None = Field(default=None, max_length=4000)


class StatementIn(_In):
    record_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    list_entry_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    text: str = Field(min_length=1, max_length=4000)


def _evidence(session: Session, ids: list[int]) -> list[int]:
    if not ids:
        return []
    found = set(session.scalars(select(EvidenceFile.id).where(EvidenceFile.id.in_(ids))))
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed("证明材料不存在", details=[
            {"field": f"evidence.{ids.index(i)}", "message": "请先上传证明材料"} for i in missing])
    return list(dict.fromkeys(ids))


@router.post("/me/objections", status_code=201)
def file_objection(body: ObjectionIn, rt: RuntimeDep, actor: Me) -> dict[str, Any]:
    with rt.uow() as s:
        o = objections.file_objection(s, actor=actor, record_id=body.record_id,
                                      reason=body.reason, evidence_ids=_evidence(s, body.evidence))
        return objections.objection_dict(o)


@router.get("/me/objections")
def my_objections(rt: RuntimeDep, actor: Me) -> list[dict[str, Any]]:
    with rt.uow() as s:
        pid = own_person(actor)
        return [objections.objection_dict(o) for o in s.scalars(
            select(Objection).where(Objection.person_id == pid).order_by(Objection.id.desc()))]


@router.post("/me/objections/{objection_id}/review", status_code=201)
def request_review(objection_id: DbId, body: ReviewIn, rt: RuntimeDep, actor: Me) -> dict:
    with rt.uow() as s:
        return objections.objection_dict(objections.request_review(
            s, actor=actor, objection_id=objection_id, reason=body.reason))


@router.get("/objections")
def objection_queue(rt: RuntimeDep,
                    actor: Annotated[Principal, Depends(require("objections.queue"))],
                    status: Annotated[str, Query(pattern="^(open|decided)$")] = "open") -> list:
    with rt.uow() as s:
        return objections.queue(s, actor=actor, status=status)


@router.post("/objections/{objection_id}/decision")
def decide_objection(objection_id: DbId, body: ObjectionDecisionIn, rt: RuntimeDep,
                     actor: Annotated[Principal, Depends(require("objections.decide"))]) -> dict:
    with rt.uow() as s:
        return objections.objection_dict(objections.decide(
            s, actor=actor, objection_id=objection_id, outcome=body.outcome, note=body.note,
            correction=body.correction))


@router.post("/me/repairs", status_code=201)
def apply_repair(body: RepairIn, rt: RuntimeDep, actor: Me) -> dict[str, Any]:
    with rt.uow() as s:
        a = repairs.apply(s, actor=actor, record_id=body.record_id,
                          list_entry_id=body.list_entry_id, method=body.method,
                          reason=body.reason, evidence_ids=_evidence(s, body.evidence),
                          commitment=body.commitment)
        return repairs.repair_dict(a)


@router.get("/me/repairs")
def my_repairs(rt: RuntimeDep, actor: Me) -> list[dict[str, Any]]:
    with rt.uow() as s:
        pid = own_person(actor)
        return [repairs.repair_dict(a) for a in s.scalars(
            select(RepairApplication).where(RepairApplication.person_id == pid)
            .order_by(RepairApplication.id.desc()))]


@router.get("/repairs")
def repair_queue(rt: RuntimeDep, actor: Annotated[Principal, Depends(require("repairs.queue"))],
                 status: Annotated[str, Query(pattern="^(submitted|approved|rejected)$")] = "submitted"
                 ) -> list:
    with rt.uow() as s:
        return repairs.queue(s, actor=actor, status=status)


@router.post("/repairs/{repair_id}/decision")
def decide_repair(repair_id: DbId, body: RepairDecisionIn, rt: RuntimeDep,
                  actor: Annotated[Principal, Depends(require("repairs.decide"))]) -> dict:
    with rt.uow() as s:
        return repairs.repair_dict(repairs.decide(s, actor=actor, repair_id=repair_id,
                                                  outcome=body.outcome, reason=body.reason))


@router.get("/me/notices")
def my_notices(rt: RuntimeDep, actor: Me,
               unread: bool = False) -> list[dict[str, Any]]:
    with rt.uow() as s:
        pid = own_person(actor)
        q = select(Notice).where(Notice.person_id == pid).order_by(Notice.id.desc()).limit(200)
        if unread:
            q = q.where(Notice.read_at.is_(None))
        return [notice_dict(n) for n in s.scalars(q)]


@router.post("/me/notices/{notice_id}/read")
def read_notice(notice_id: DbId, rt: RuntimeDep, actor: Me) -> dict[str, Any]:
    with rt.uow() as s:
        pid = own_person(actor)
        n = s.get(Notice, notice_id)
        if n is None or n.person_id != pid:
            raise NotFound("通知不存在")
        n.read_at = n.read_at or clock.now()
        return notice_dict(n)


@router.post("/me/statements", status_code=201)
def add_statement(body: StatementIn, rt: RuntimeDep, actor: Me) -> dict[str, Any]:
    """陈述申辩 / 本人声明, kept beside the record or list entry and shown with it."""
    with rt.uow() as s:
        pid = own_person(actor)
        if (body.record_id is None) == (body.list_entry_id is None):
            raise ValidationFailed("请指定一条记录或一个名单条目", details=[
                {"field": "record_id", "message": "record_id 与 list_entry_id 二选一"}])
        if body.record_id is not None:
            own_record(s, actor, body.record_id)
        else:
            entry = s.get(ListEntry, body.list_entry_id)
            if entry is None or entry.person_id != pid:
                raise NotFound("名单条目不存在")
        st = Statement(person_id=pid, record_id=body.record_id, list_entry_id=body.list_entry_id,
                       text=body.text.strip(), created_at=clock.now())
        s.add(st)
        s.flush()
        audit(s, actor, "statement.add", object_type="statement", object_id=st.id,
              subject_person_id=pid)
        return {"id": st.id, "record_id": st.record_id, "list_entry_id": st.list_entry_id,
                "text": st.text, "created_at": st.created_at.isoformat()}
