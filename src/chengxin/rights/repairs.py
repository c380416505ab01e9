"""信用修复 (令第36号, in force 2026-04-01): eligibility, methods, evidence, deadline,
decision. Approval ends public display and sharing, removes list entries and lifts the
measures; the internal record stays, marked `repaired`. A rejection gives reasons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal, Role
from chengxin.audit.service import record as audit
from chengxin.errors import Conflict, NotFound, ValidationFailed
from chengxin.records.models import CreditRecord
from chengxin.records.states import change_status
from chengxin.reference.models import CatalogItem
from chengxin.rights.common import may_decide, own_person, own_record, policy, workdays_after
from chengxin.rights.models import RepairApplication
from chengxin.rights.notices import notify
from chengxin.sanctions.lists import end
from chengxin.sanctions.models import ListEntry

BROKEN_COMMITMENT_ITEM = "COM-003"  # 违背信用承诺: no commitment route until repaired


def _not_eligible(field: str, message: str) -> ValidationFailed:
    return ValidationFailed("暂不符合信用修复条件", code="not_eligible",
                            details=[{"field": field, "message": message}])


def apply(session: Session, *, actor: Principal, record_id: int | None,
          list_entry_id: int | None, method: str, reason: str, evidence_ids: list[int],
          commitment: bool = False) -> RepairApplication:
    person_id = own_person(actor)
    pol = policy(session).repairs
    if (record_id is None) == (list_entry_id is None):
        raise ValidationFailed("请指定一条记录或一个名单条目", details=[
            {"field": "record_id", "message": "record_id 与 list_entry_id 二选一"}])
    entry = None
    if list_entry_id is not None:
        entry = session.get(ListEntry, list_entry_id)
        if entry is None or entry.person_id != person_id or entry.record_id is None:
            raise NotFound("名单条目不存在")
        record_id = entry.record_id
    rec = own_record(session, actor, record_id or 0)
    item = session.get(CatalogItem, rec.item_code)
    if method not in pol.methods:
        raise ValidationFailed("修复方式无效", details=[
            {"field": "method", "message": "应为 " + "、".join(pol.methods)}])
    _check_eligible(session, rec, item, person_id, method, evidence_ids, commitment)
    if session.scalar(select(RepairApplication.id).where(
            RepairApplication.record_id == rec.id, RepairApplication.status == "submitted")):
        raise Conflict("该记录已有待处理的修复申请", code="repair_open")
    application = RepairApplication(
        person_id=person_id, record_id=rec.id, list_entry_id=entry.id if entry else None,
        department_code=rec.department_code, method=method, reason=reason,
        commitment_text=pol.commitment_template if method == "commitment" or commitment else None,
        evidence_ids=evidence_ids, status="submitted",
        due_date=workdays_after(session, clock.today(), pol.decide_workdays),
        created_at=clock.now())
    session.add(application)
    session.flush()
    notify(session, person_id, kind="repair_received", title="信用修复申请已受理",
           body=f"您的信用修复申请已受理，将于 {application.due_date.isoformat()} 前作出决定。",
           object_type="repair", object_id=application.id)
    audit(session, actor, "repair.apply", object_type="repair", object_id=application.id,
          subject_person_id=person_id, details={"record_id": rec.id, "method": method})
    return application


def _check_eligible(session: Session, rec: CreditRecord, item: CatalogItem | None,
                    person_id: int, method: str, evidence_ids: list[int], commitment: bool) -> None:
    pol = policy(session)
    if item is None or item.polarity != "negative":
        raise _not_eligible("record_id", "只有失信信息可以申请修复")
    if rec.status not in ("active", "corrected", "under_objection"):
        raise _not_eligible("record_id", "该记录当前状态不能申请修复")
    if rec.item_code in pol.repairs.excluded_items:
        raise _not_eligible("record_id", "该类信息由认定机关依法移除，不适用本平台信用修复")
    earliest = pol.repair_earliest(rec.decision_date, item.severity)
    if clock.today() < earliest:
        raise _not_eligible("record_id", f"最短公示期未满，{earliest.isoformat()} 起可申请")
    broken = session.scalar(select(CreditRecord.id).where(
        CreditRecord.person_id == person_id, CreditRecord.item_code == BROKEN_COMMITMENT_ITEM,
        CreditRecord.status.in_(("active", "corrected"))))
    if broken is not None:
        raise _not_eligible("method", "存在违背信用承诺且未修复的记录，暂不能申请")
    if not commitment:
        # 36号令: a public credit commitment is a condition of every repair.
        raise _not_eligible("commitment", "须作出信用承诺")
    if method != "commitment" and not evidence_ids:
        raise _not_eligible("evidence", "请提交履行义务或纠正失信行为的证明材料")


def decide(session: Session, *, actor: Principal, repair_id: int, outcome: str,
           reason: str | None) -> RepairApplication:
    application = session.get(RepairApplication, repair_id)
    if application is None:
        raise NotFound("修复申请不存在")
    may_decide(actor, application.department_code)
    if application.status != "submitted":
        raise Conflict("该申请已处理", code="already_decided")
    if outcome not in ("approved", "rejected"):
        raise ValidationFailed("处理结果无效", details=[
            {"field": "outcome", "message": "应为 approved 或 rejected"}])
    if outcome == "rejected" and not (reason and reason.strip()):
        raise ValidationFailed("不予修复须说明理由", details=[
            {"field": "reason", "message": "不予修复须说明理由"}])
    label = actor.name
    application.status, application.decision_reason = outcome, (reason or None)
    application.decided_at, application.decided_by = clock.now(), label
    if outcome == "approved":
        change_status(session, [application.record_id or 0], "repaired",
                      reason=f"信用修复 {application.id} 已批准", actor=label)
        if application.list_entry_id:
            entry = session.get(ListEntry, application.list_entry_id)
            if entry is not None and entry.status in ("proposed", "active", "suspended"):
                end(session, entry, "repair", label, f"信用修复 {application.id}")
        body = "您的信用修复申请已批准：相关信息停止公示和共享，名单已移出，惩戒措施已解除。"
    else:
        body = f"您的信用修复申请未获批准。理由：{reason}"
    notify(session, application.person_id, kind="repair_decided", title="信用修复结果",
           body=body, object_type="repair", object_id=application.id)
    audit(session, actor, "repair.decide", object_type="repair", object_id=application.id,
          subject_person_id=application.person_id, details={"outcome": outcome})
    return application


def repair_dict(a: RepairApplication) -> dict[str, Any]:
    return {"id": a.id, "record_id": a.record_id, "list_entry_id": a.list_entry_id,
            "status": a.status, "method": a.method, "due_date": a.due_date.isoformat(),
            "reason": a.reason, "decision_reason": a.decision_reason,
            "commitment_text": a.commitment_text, "evidence": a.evidence_ids,
            "department_code": a.department_code,
            "overdue": a.status == "submitted" and a.due_date < clock.today(),
            "created_at": a.created_at.isoformat(),
            "decided_at": a.decided_at.isoformat() if a.decided_at else None}


def queue(session: Session, *, actor: Principal, status: str = "submitted") -> list[dict[str, Any]]:
    q = select(RepairApplication).where(RepairApplication.status == status).order_by(
        RepairApplication.due_date)
    if actor.role in (Role.REPORTER, Role.SYSTEM):
        q = q.where(RepairApplication.department_code == actor.department_code)
    return [repair_dict(a) for a in session.scalars(q.limit(500))]
