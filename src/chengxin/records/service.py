"""Reading records with their history, and deciding held rows."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.permissions import ensure_department
from chengxin.accounts.principal import Principal, Role
from chengxin.audit.service import record as audit
from chengxin.errors import Conflict, NotFound, ValidationFailed
from chengxin.records.ingest import HELD_CONTEXT, ingest
from chengxin.records.models import CreditRecord, HeldRow, RecordState, RecordVersion
from chengxin.rights.querylog import log_query
from chengxin.runtime import runtime_of
from chengxin.subjects.models import Organization, Person


def _visible_to(actor: Principal, department_code: str) -> None:
    if actor.role in (Role.REPORTER, Role.SYSTEM):
        ensure_department(actor, department_code)


def record_dict(session: Session, rec: CreditRecord, *, with_history: bool) -> dict[str, Any]:
    subject: dict[str, Any]
    if rec.person_id:
        person = session.get(Person, rec.person_id)
        subject = {"type": "person", "person_id": rec.person_id,
                   "id_number_masked": person.id_masked if person else None,
                   "name": person.name if person else None}
    else:
        org = session.get(Organization, rec.organization_id)
        subject = {"type": "organization", "organization_id": rec.organization_id,
                   "uscc": org.uscc if org else None, "name": org.name if org else None}
    current = session.scalar(select(RecordVersion.payload).where(
        RecordVersion.record_id == rec.id, RecordVersion.version == rec.version))
    out: dict[str, Any] = {
        "record_id": rec.id, "department_code": rec.department_code,
        "document_no": rec.document_no, "item_code": rec.item_code, "subject": subject,
        "group_code": rec.group_code, "decision_date": rec.decision_date.isoformat(),
        "valid_until": rec.valid_until.isoformat() if rec.valid_until else None,
        "display_until": rec.display_until.isoformat() if rec.display_until else None,
        "status": rec.status, "version": rec.version, "derived_from": rec.derived_from,
        "derived_role": rec.derived_role, "source": rec.source,
        "content": (current or {}).get("content"),
        "legal_basis": (current or {}).get("legal_basis"),
        "attributes": (current or {}).get("attributes", {}),
        "responsible_persons": [
            {k: p[k] for k in ("person_id", "id_masked", "name", "role")}
            for p in (current or {}).get("responsible_persons", [])],
        "created_at": rec.created_at.isoformat(), "updated_at": rec.updated_at.isoformat(),
    }
    if with_history:
        out["versions"] = [
            {"version": v.version, "reason": v.reason, "source": v.source, "actor": v.actor,
             "created_at": v.created_at.isoformat(), "content_hash": v.content_hash,
             "payload": _public_payload(v.payload)}
            for v in session.scalars(select(RecordVersion).where(
                RecordVersion.record_id == rec.id).order_by(RecordVersion.version))]
        out["states"] = [
            {"status": st.status, "since": st.since.isoformat(), "reason": st.reason,
             "actor": st.actor}
            for st in session.scalars(select(RecordState).where(
                RecordState.record_id == rec.id).order_by(RecordState.id))]
        out["derived_records"] = list(session.scalars(select(CreditRecord.id).where(
            CreditRecord.derived_from == rec.id).order_by(CreditRecord.id)))
    return out


def _public_payload(payload: dict[str, Any]) -> dict[str, Any]:
    # Versions hold masked numbers only already; drop internal keys for readability.
    return {k: v for k, v in payload.items() if k != "subject"} | {
        "subject": {k: v for k, v in payload.get("subject", {}).items()}}


def get_record(session: Session, *, actor: Principal, record_id: int,
               purpose: str | None = None) -> dict[str, Any]:
    rec = session.get(CreditRecord, record_id)
    if rec is None:
        raise NotFound("记录不存在")
    _visible_to(actor, rec.department_code)
    out = record_dict(session, rec, with_history=True)
    audit(session, actor, "record.read", object_type="record", object_id=rec.id,
          subject_person_id=rec.person_id, purpose=purpose or "记录管理")
    if rec.person_id:
        log_query(session, actor=actor, person_id=rec.person_id, channel="staff", what="record",
                  purpose=purpose or "记录管理")
    return out


def list_held(session: Session, *, actor: Principal, status: str = "pending") -> list[dict]:
    q = select(HeldRow).where(HeldRow.status == status).order_by(HeldRow.id)
    if actor.role == Role.REPORTER:
        q = q.where(HeldRow.department_code == actor.department_code)
    out = []
    for h in session.scalars(q.limit(500)):
        person = session.get(Person, h.person_id)
        out.append({"id": h.id, "department_code": h.department_code,
                    "document_no": h.document_no, "status": h.status, "reason": h.reason,
                    "known_name": person.name if person else None, "sent_name": h.sent_name,
                    "id_number_masked": person.id_masked if person else None,
                    "created_at": h.created_at.isoformat()})
    audit(session, actor, "held_rows.list", details={"count": len(out)})
    return out


def decide_held(session: Session, *, actor: Principal, held_id: int, outcome: str,
                note: str | None = None) -> dict[str, Any]:
    """Accept: the record is stored under the known identity (the held row keeps the name
    that was sent, linked to the record); reject: the department corrects and re-sends."""
    held = session.get(HeldRow, held_id)
    if held is None:
        raise NotFound("待核实记录不存在")
    if held.status != "pending":
        raise Conflict("该记录已处理", code="already_decided")
    if outcome not in ("accepted", "rejected"):
        raise ValidationFailed("outcome 应为 accepted 或 rejected", details=[
            {"field": "outcome", "message": "应为 accepted 或 rejected"}])
    held.status, held.decided_at = outcome, clock.now()
    held.decided_by = actor.name
    result: dict[str, Any] = {"id": held.id, "status": outcome}
    if outcome == "accepted":
        rt = runtime_of(session)
        row = orjson.loads(rt.cipher.decrypt(held.row_enc, context=HELD_CONTEXT))
        person = session.get(Person, held.person_id)
        sent_name = row["subject_name"]
        if row.get("id_number") and person is not None:
            row["subject_name"] = person.name
        for p in row.get("responsible_persons", []):
            from chengxin.subjects.service import find_person

            known = find_person(session, p["id_number"])
            if known is not None:
                p["name"] = known.name
        dept_actor = Principal(kind=actor.kind, role=Role.SYSTEM, id=actor.id,
                               department_code=held.department_code, label=actor.label)
        outcome_rows = ingest(session, actor=dept_actor, department_code=held.department_code,
                              rows=[row], source=f"held:{held.id}", channel="review")
        res = outcome_rows.results[0]
        if res.status == "rejected":
            raise ValidationFailed("该行已无法入库", details=res.errors)
        held.record_id = res.record_id
        result["record_id"] = res.record_id
        result["sent_name"] = sent_name
    audit(session, actor, "held_row.decide", object_type="held_row", object_id=held.id,
          subject_person_id=held.person_id, details={"outcome": outcome, "note": (note or "")[:200]})
    return result
