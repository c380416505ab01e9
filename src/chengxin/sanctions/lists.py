"""List entries: created from list-type records, approved by a second person, ended by
repair, decision or expiry. Every change is a ListEvent; nothing is overwritten."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal
from chengxin.audit.service import record as audit
from chengxin.bulk import insert_rows, where_in
from chengxin.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chengxin.exchange.changes import emit
from chengxin.records.models import CreditRecord, RecordVersion
from chengxin.reference.models import CatalogItem
from chengxin.sanctions.models import ListEntry, ListEvent, PendingListChange

# Days between approval of a black-list entry and its effect: the prior notice and the
# time to state one's case (陈述申辩, 浙江 art. 28, 河南 art. 28). Policy, not law text.
NOTICE_DAYS = 7



def event(session: Session, entry: ListEntry, name: str, to_status: str, actor: str,
          reason: str | None = None) -> None:
    ev = ListEvent(entry_id=entry.id, event=name, from_status=entry.status,
                   to_status=to_status, at=clock.now(), actor=actor, reason=reason)
    session.add(ev)
    entry.status = to_status
    entry.updated_at = clock.now()
    session.flush()
    emit(session, "list_event", [ev.id], entry.department_code)


def sync_from_records(session: Session, record_ids: Sequence[int], *, actor: Principal) -> int:
    """Create list entries for new list-type records. Black entries start as proposals
    (maker: the sending department); red and focus entries take effect at once.
    Set-based: one query, then the entries and their events go in with bulk inserts."""
    if not record_ids:
        return 0
    rec = CreditRecord
    rows = [r for where in where_in(session, rec.id, list(record_ids)) for r in session.execute(
        select(rec.id, rec.person_id, rec.organization_id, rec.item_code, rec.department_code,
               rec.document_no, rec.decision_date, rec.valid_until, rec.display_until,
               rec.source, CatalogItem.list_type, CatalogItem.name, RecordVersion.payload)
        .join(CatalogItem, CatalogItem.code == rec.item_code)
        .join(RecordVersion, (RecordVersion.record_id == rec.id)
              & (RecordVersion.version == rec.version))
        .where(where, (CatalogItem.list_type.is_not(None))
               | (CatalogItem.category == "focus_supervision"),
               ~exists().where(ListEntry.record_id == rec.id))
        .order_by(rec.id))]
    if not rows:
        return 0
    now, today = clock.now(), clock.today()
    entries = [_entry_values(r, actor.name, now) for r in rows]
    entry_ids = insert_rows(session, ListEntry, _ENTRY_COLUMNS,
                            [tuple(e[c] for c in _ENTRY_COLUMNS) for e in entries])
    event_ids = insert_rows(session, ListEvent, _EVENT_COLUMNS, [
        (eid, "proposed" if e["list_type"] == "black" else "listed", None, e["status"], now,
         actor.name, f"由记录 {e['record_id']} 生成")
        for eid, e in zip(entry_ids, entries, strict=True)])
    # Runs of one department keep the feed in event order.
    pairs = zip(event_ids, (e["department_code"] for e in entries), strict=True)
    for department, run in itertools.groupby(pairs, key=lambda p: p[1]):
        emit(session, "list_event", [eid for eid, _ in run], department)
    _prior_notices(session, [(eid, e) for eid, e in zip(entry_ids, entries, strict=True)
                             if e["list_type"] == "black" and e["person_id"]])
    audit(session, actor, "lists.sync",
          details={"created": len(entries), "as_of": today.isoformat()})
    return len(entries)


_ENTRY_COLUMNS = (
    "list_type", "list_name", "person_id", "organization_id", "record_id", "item_code",
    "department_code", "basis", "decision_document", "listed_on", "effective_from",
    "effective_until", "status", "ended_on", "end_reason", "proposed_by", "approved_by",
    "source", "created_at", "updated_at")
_EVENT_COLUMNS = ("entry_id", "event", "from_status", "to_status", "at", "actor", "reason")


def _entry_values(r: Any, proposed_by: str, now: dt.datetime) -> dict[str, Any]:
    kind = r.list_type or "focus"
    return {
        "list_type": kind, "list_name": r.name, "person_id": r.person_id,
        "organization_id": r.organization_id, "record_id": r.id, "item_code": r.item_code,
        "department_code": r.department_code,
        "basis": r.payload.get("legal_basis") or r.payload.get("content") or "",
        "decision_document": r.document_no, "listed_on": r.decision_date,
        "effective_from": r.decision_date if kind != "black" else None,
        "effective_until": r.valid_until or r.display_until,
        "status": "proposed" if kind == "black" else "active", "ended_on": None,
        "end_reason": None, "proposed_by": proposed_by, "approved_by": None,
        "source": r.source, "created_at": now, "updated_at": now}


def _prior_notices(session: Session, entries: list[tuple[int, dict[str, Any]]]) -> None:
    """Before a black-list entry takes effect the person is told, with the basis, the
    measures and a period to state their case (浙江 art. 28, 河南 art. 28)."""
    from chengxin.rights.notices import notify_many

    respond_by = clock.today() + dt.timedelta(days=NOTICE_DAYS)
    notify_many(session, [
        {"person_id": e["person_id"], "kind": "black_list_prior_notice",
         "title": "拟列入严重失信主体名单告知书",
         "body": (f"依据{e['decision_document']}，拟将您列入“{e['list_name']}”。依据：{e['basis']}。"
                  f"列入后将依法实施联合惩戒措施。您可在 {respond_by.isoformat()} 前提出陈述申辩。"),
         "object_type": "list_entry", "object_id": str(eid), "respond_by": respond_by}
        for eid, e in entries], deliver=True)


def _entry(session: Session, entry_id: int) -> ListEntry:
    entry = session.get(ListEntry, entry_id)
    if entry is None:
        raise NotFound("名单条目不存在")
    return entry


def _second_person(maker: str, actor: Principal) -> None:
    if maker == actor.name:
        raise Forbidden("须由另一名工作人员复核 (双人复核)", code="same_person")


def approve_listing(session: Session, *, actor: Principal, entry_id: int,
                    note: str | None = None) -> ListEntry:
    """Checker's approval of a proposed black-list entry. It takes effect after the prior
    notice period, during which the person can state their case."""
    entry = _entry(session, entry_id)
    if entry.status != "proposed":
        raise Conflict("该条目不在待复核状态", code="not_proposed")
    _second_person(entry.proposed_by, actor)
    entry.approved_by = actor.name
    entry.effective_from = max(entry.listed_on, clock.today()) + dt.timedelta(days=NOTICE_DAYS)
    event(session, entry, "approved", "active", actor.name, note)
    audit(session, actor, "list.approve", object_type="list_entry", object_id=entry.id,
          subject_person_id=entry.person_id,
          details={"list": entry.list_type, "effective_from": entry.effective_from.isoformat()})
    return entry


def reject_listing(session: Session, *, actor: Principal, entry_id: int, reason: str) -> ListEntry:
    entry = _entry(session, entry_id)
    if entry.status != "proposed":
        raise Conflict("该条目不在待复核状态", code="not_proposed")
    _second_person(entry.proposed_by, actor)
    event(session, entry, "rejected", "rejected", actor.name, reason)
    audit(session, actor, "list.reject", object_type="list_entry", object_id=entry.id,
          subject_person_id=entry.person_id)
    return entry


def propose_removal(session: Session, *, actor: Principal, entry_id: int,
                    reason: str) -> PendingListChange:
    entry = _entry(session, entry_id)
    if entry.status not in ("active", "suspended"):
        raise Conflict("只有有效或暂停的条目可以移出", code="not_active")
    if session.scalar(select(PendingListChange.id).where(
            PendingListChange.entry_id == entry.id, PendingListChange.status == "pending")):
        raise Conflict("已有待复核的移出申请", code="pending_exists")
    change = PendingListChange(entry_id=entry.id, action="remove", reason=reason,
                               proposed_by=actor.name, proposed_by_id=actor.id,
                               proposed_at=clock.now(), status="pending")
    session.add(change)
    session.flush()
    audit(session, actor, "list.removal_proposed", object_type="list_entry", object_id=entry.id,
          subject_person_id=entry.person_id, details={"change": change.id})
    return change


def decide_change(session: Session, *, actor: Principal, change_id: int, approve: bool,
                  note: str | None = None) -> PendingListChange:
    change = session.get(PendingListChange, change_id)
    if change is None:
        raise NotFound("变更申请不存在")
    if change.status != "pending":
        raise Conflict("该申请已处理", code="already_decided")
    _second_person(change.proposed_by, actor)
    change.status = "approved" if approve else "rejected"
    change.decided_by, change.decided_at = actor.name, clock.now()
    entry = _entry(session, change.entry_id)
    if approve:
        end(session, entry, "decision", actor.name, change.reason)
    audit(session, actor, "list.removal_decided", object_type="list_entry", object_id=entry.id,
          subject_person_id=entry.person_id, details={"approved": approve, "change": change.id})
    return change


def end(session: Session, entry: ListEntry, why: str, actor: str, reason: str | None) -> None:
    """End an entry: by repair, by decision or by expiry (the three ways off a list)."""
    entry.ended_on = clock.today()
    entry.end_reason = why
    event(session, entry, f"ended_{why}", "expired" if why == "expiry" else "removed", actor,
          reason)


def set_suspended(session: Session, *, actor: Principal, entry_id: int, suspended: bool,
                  reason: str) -> ListEntry:
    entry = _entry(session, entry_id)
    if suspended and entry.status != "active":
        raise Conflict("只有有效条目可以暂停", code="not_active")
    if not suspended and entry.status != "suspended":
        raise Conflict("该条目未被暂停", code="not_suspended")
    event(session, entry, "suspended" if suspended else "resumed",
          "suspended" if suspended else "active", actor.name, reason)
    audit(session, actor, "list.suspend" if suspended else "list.resume",
          object_type="list_entry", object_id=entry.id, subject_person_id=entry.person_id)
    return entry


def entry_dict(entry: ListEntry, *, events: list[ListEvent] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": entry.id, "type": entry.list_type, "name": entry.list_name,
        "status": entry.status, "record_id": entry.record_id, "item_code": entry.item_code,
        "department_code": entry.department_code, "basis": entry.basis,
        "decision_document": entry.decision_document, "listed_on": entry.listed_on.isoformat(),
        "effective_from": entry.effective_from.isoformat() if entry.effective_from else None,
        "effective_until": entry.effective_until.isoformat() if entry.effective_until else None,
        "ended_on": entry.ended_on.isoformat() if entry.ended_on else None,
        "end_reason": entry.end_reason, "proposed_by": entry.proposed_by,
        "approved_by": entry.approved_by,
    }
    if events is not None:
        out["events"] = [{"event": e.event, "from": e.from_status, "to": e.to_status,
                          "at": e.at.isoformat(), "actor": e.actor, "reason": e.reason}
                         for e in events]
    return out


def validate_reason(reason: str | None) -> str:
    if not reason or not reason.strip():
        raise ValidationFailed("请填写理由", details=[{"field": "reason", "message": "不能为空"}])
    return reason.strip()
