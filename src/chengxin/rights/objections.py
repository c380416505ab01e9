"""异议处理: mark at once, route to the source department, decide by a working-day
deadline, notify, escalate when overdue, allow a second review (复核)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal, Role
from chengxin.audit.service import record as audit
from chengxin.errors import Conflict, NotFound, ValidationFailed
from chengxin.exchange.changes import emit
from chengxin.records.ingest import content_hash
from chengxin.records.models import CreditRecord, RecordVersion
from chengxin.records.states import change_status
from chengxin.records.validation import _attributes, parse_date
from chengxin.reference.models import Department
from chengxin.rights.common import may_decide, own_person, own_record, policy, workdays_after
from chengxin.rights.models import Objection
from chengxin.rights.notices import notify

OUTCOMES = ("corrected", "upheld", "deleted")
CORRECTABLE = {"content", "legal_basis", "decision_date", "valid_until", "attributes"}


def file_objection(session: Session, *, actor: Principal, record_id: int, reason: str,
                   evidence_ids: list[int]) -> Objection:
    rec = own_record(session, actor, record_id)
    if rec.status in ("deleted", "expired"):
        raise Conflict("该记录已删除或已过展示期，无需提出异议", code="record_closed")
    if session.scalar(select(Objection.id).where(Objection.record_id == rec.id,
                                                 Objection.status == "open")):
        raise Conflict("该记录已有正在处理的异议", code="objection_open")
    today = clock.today()
    objection = Objection(
        record_id=rec.id, person_id=rec.person_id, department_code=rec.department_code,
        reason=reason, evidence_ids=evidence_ids, status="open",
        due_date=workdays_after(session, today, policy(session).objections.decide_workdays),
        previous_status=rec.status, created_at=clock.now(), created_by=actor.name)
    session.add(objection)
    session.flush()
    # 异议标注: marked at once, wherever the record is shown.
    change_status(session, [rec.id], "under_objection", reason=f"异议 {objection.id} 受理",
                  actor=actor.name)
    notify(session, rec.person_id or 0, kind="objection_received", title="异议申请已受理",
           body=f"您对记录 {rec.id} 提出的异议已受理，将于 {objection.due_date.isoformat()} 前作出处理。",
           object_type="objection", object_id=objection.id)
    audit(session, actor, "objection.file", object_type="objection", object_id=objection.id,
          subject_person_id=rec.person_id, details={"record_id": rec.id,
                                                    "due_date": objection.due_date.isoformat()})
    return objection


def request_review(session: Session, *, actor: Principal, objection_id: int,
                   reason: str) -> Objection:
    """复核: a decided objection goes to the credit office for a second look."""
    person_id = own_person(actor)
    first = session.get(Objection, objection_id)
    if first is None or first.person_id != person_id:
        raise NotFound("异议不存在")
    if first.status != "decided":
        raise Conflict("异议尚未处理完毕，不能申请复核", code="not_decided")
    if session.scalar(select(Objection.id).where(Objection.review_of == first.id)):
        raise Conflict("已申请过复核", code="review_exists")
    rec = session.get(CreditRecord, first.record_id)
    office = credit_office_for(session, first.department_code)
    review = Objection(
        record_id=first.record_id, person_id=person_id, department_code=office, reason=reason,
        evidence_ids=[], status="open", review_of=first.id,
        due_date=workdays_after(session, clock.today(), policy(session).objections.review_workdays),
        previous_status=rec.status if rec else "active", created_at=clock.now(),
        created_by=actor.name)
    session.add(review)
    session.flush()
    if rec is not None and rec.status not in ("deleted",):
        change_status(session, [rec.id], "under_objection", reason=f"复核 {review.id} 受理",
                      actor=actor.name)
    audit(session, actor, "objection.review", object_type="objection", object_id=review.id,
          subject_person_id=person_id, details={"review_of": first.id})
    return review


def decide(session: Session, *, actor: Principal, objection_id: int, outcome: str,
           note: str | None, correction: dict[str, Any] | None) -> Objection:
    objection = session.get(Objection, objection_id)
    if objection is None:
        raise NotFound("异议不存在")
    may_decide(actor, objection.department_code)
    if objection.status != "open":
        raise Conflict("该异议已处理", code="already_decided")
    if outcome not in OUTCOMES:
        raise ValidationFailed("处理结果无效", details=[
            {"field": "outcome", "message": "应为 corrected、upheld 或 deleted"}])
    rec = session.get(CreditRecord, objection.record_id)
    assert rec is not None  # FK
    label = actor.name
    if outcome == "corrected":
        _correct(session, rec, correction or {}, label, objection.id)
        change_status(session, [rec.id], "corrected", reason=f"异议 {objection.id}：更正",
                      actor=label)
    elif outcome == "deleted":
        change_status(session, [rec.id], "deleted", reason=f"异议 {objection.id}：删除", actor=label)
    else:
        previous = objection.previous_status if objection.previous_status != "under_objection" else "active"
        change_status(session, [rec.id], previous, reason=f"异议 {objection.id}：维持原记录",
                      actor=label)
    objection.status, objection.outcome, objection.note = "decided", outcome, note
    objection.decided_at, objection.decided_by = clock.now(), label
    words = {"corrected": "已更正", "upheld": "维持原记录", "deleted": "已删除"}[outcome]
    notify(session, objection.person_id, kind="objection_decided", title="异议处理结果",
           body=f"您对记录 {rec.id} 提出的异议已处理：{words}。"
                + (f"说明：{note}" if note else "") + " 如对结果有异议，可申请复核。",
           object_type="objection", object_id=objection.id)
    audit(session, actor, "objection.decide", object_type="objection", object_id=objection.id,
          subject_person_id=objection.person_id, details={"outcome": outcome, "record_id": rec.id})
    return objection


def _correct(session: Session, rec: CreditRecord, correction: dict[str, Any], actor: str,
             objection_id: int) -> None:
    """The corrected content becomes a new version; the old one stays in history."""
    unknown = sorted(set(correction) - CORRECTABLE)
    if not correction or unknown:
        raise ValidationFailed("更正内容无效", details=[
            {"field": f"correction.{k}" if unknown else "correction",
             "message": "不可更正的字段" if unknown else "请给出更正后的内容"}
            for k in (unknown or ["correction"])])
    current = session.scalar(select(RecordVersion).where(
        RecordVersion.record_id == rec.id, RecordVersion.version == rec.version))
    payload = dict(current.payload if current else {})
    errors: list[dict[str, Any]] = []
    for key in ("content", "legal_basis"):
        if key in correction:
            value = correction[key]
            if not isinstance(value, str) or not value.strip() or len(value) > 4000:
                errors.append({"field": f"correction.{key}", "message": "应为非空文本"})
            else:
                payload[key] = value.strip()
    for key in ("decision_date", "valid_until"):
        if key in correction:
            d = parse_date(correction[key])
            if d is None or (key == "decision_date" and d > clock.today()):
                errors.append({"field": f"correction.{key}", "message": "应为有效日期"})
            else:
                payload[key] = d.isoformat()
                setattr(rec, key, d)
    if "attributes" in correction:
        from chengxin.reference.models import CatalogItem
        from chengxin.reference.repository import catalog_item_dict

        item = catalog_item_dict(session.get(CatalogItem, rec.item_code))
        ctx_errs = _AttrErrors()
        attrs = _attributes({"attributes": correction["attributes"]}, ctx_errs, item)
        errors += [{"field": f"correction.{e['field']}", "message": e["message"]}
                   for e in ctx_errs.items]
        payload["attributes"] = attrs
    if errors:
        raise ValidationFailed("更正内容无效", details=errors)
    rec.version += 1
    rec.content_hash = content_hash(payload)
    rec.updated_at = clock.now()
    version = RecordVersion(record_id=rec.id, version=rec.version, payload=payload,
                            content_hash=rec.content_hash, reason="correction",
                            source=f"objection:{objection_id}", actor=actor,
                            created_at=clock.now())
    session.add(version)
    session.flush()
    emit(session, "version", [version.id], rec.department_code)


class _AttrErrors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, field_name: str, message: str, code: str = "invalid") -> None:
        self.items.append({"field": field_name, "message": message, "code": code})


def escalate_overdue(session: Session, *, actor: Principal) -> int:
    """Objections past their due date go to the credit office (audited, flagged)."""
    today = clock.today()
    overdue = list(session.scalars(select(Objection).where(
        Objection.status == "open", Objection.escalated.is_(False), Objection.due_date < today)))
    for o in overdue:
        o.escalated, o.escalated_at = True, clock.now()
    if overdue:
        audit(session, actor, "objection.escalate",
              details={"objections": [o.id for o in overdue]})
    return len(overdue)


def objection_dict(o: Objection) -> dict[str, Any]:
    return {"id": o.id, "record_id": o.record_id, "status": o.status, "outcome": o.outcome,
            "due_date": o.due_date.isoformat(), "department_code": o.department_code,
            "reason": o.reason, "note": o.note, "evidence": o.evidence_ids,
            "escalated": o.escalated, "review_of": o.review_of,
            "overdue": o.status == "open" and o.due_date < clock.today(),
            "created_at": o.created_at.isoformat(),
            "decided_at": o.decided_at.isoformat() if o.decided_at else None}


def queue(session: Session, *, actor: Principal, status: str = "open") -> list[dict[str, Any]]:
    q = select(Objection).where(Objection.status == status).order_by(Objection.due_date)
    if actor.role in (Role.REPORTER, Role.SYSTEM):
        q = q.where(Objection.department_code == actor.department_code)
    return [objection_dict(o) for o in session.scalars(q.limit(500))]


def credit_office_for(session: Session, department_code: str) -> str:
    """The credit office over a department: same region first, then up the hierarchy."""
    dept = session.get(Department, department_code)
    seen = 0
    while dept is not None and seen < 10:
        if dept.is_credit_office:
            return dept.code
        office = session.scalar(select(Department.code).where(
            Department.is_credit_office, Department.region_code == dept.region_code,
            Department.active))
        if office:
            return office
        dept = session.get(Department, dept.parent_code) if dept.parent_code else None
        seen += 1
    return department_code
