"""`chengxin expire`: end display periods and list effects that are over, set-based."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, insert, literal, select, text, update
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal
from chengxin.audit.service import record as audit
from chengxin.exchange.changes import emit_select
from chengxin.records.models import CreditRecord, RecordState
from chengxin.sanctions.models import ListEntry, ListEvent

_LOCK = 7_243_002


def run_expiry(session: Session, *, actor: Principal) -> dict[str, Any]:
    """Six statements whatever the data size: history rows first (INSERT … SELECT), their
    change-feed entries, then
    the UPDATE, for records and for list entries."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    today, now = clock.today(), clock.now()
    label = actor.name
    due = and_(CreditRecord.status.in_(("active", "corrected")),
               CreditRecord.display_until.is_not(None), CreditRecord.display_until < today)
    states = session.execute(insert(RecordState).from_select(
        ["record_id", "status", "since", "reason", "actor"],
        select(CreditRecord.id, literal("expired"), literal(now, RecordState.since.type),
               literal("展示期限届满"), literal(label)).where(due)))
    records = session.execute(update(CreditRecord).where(due).values(
        status="expired", updated_at=now).execution_options(synchronize_session=False))
    ended = and_(ListEntry.status.in_(("active", "suspended")),
                 ListEntry.effective_until.is_not(None), ListEntry.effective_until < today)
    session.execute(insert(ListEvent).from_select(
        ["entry_id", "event", "from_status", "to_status", "at", "actor", "reason"],
        select(ListEntry.id, literal("ended_expiry"), ListEntry.status, literal("expired"),
               literal(now, ListEvent.at.type), literal(label), literal("有效期届满")).where(ended)))
    emit_select(session, "state", select(RecordState.id, literal(None, String)).where(
        RecordState.since == now, RecordState.status == "expired", RecordState.actor == label))
    emit_select(session, "list_event", select(ListEvent.id, literal(None, String)).where(
        ListEvent.at == now, ListEvent.event == "ended_expiry", ListEvent.actor == label))
    entries = session.execute(update(ListEntry).where(ended).values(
        status="expired", ended_on=today, end_reason="expiry", updated_at=now
    ).execution_options(synchronize_session=False))
    result = {"records_expired": records.rowcount, "list_entries_expired": entries.rowcount,
              "states_written": states.rowcount, "as_of": today.isoformat()}
    audit(session, actor, "expire.run", details=result)
    return result
