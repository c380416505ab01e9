"""Changing a record's status: the one path for objections, repairs, deletion and expiry.

Set-based: one UPDATE for the records, one INSERT for their state history. Records derived
from them (落实到人) follow, and so do the list entries they put on a list.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.exchange.changes import emit
from chengxin.records.models import RECORD_STATUSES, CreditRecord, RecordState

# What happens to a list entry when its record reaches a status.
_LIST_END = {"repaired": ("repair", "removed"), "deleted": ("decision", "removed"),
             "expired": ("expiry", "expired")}


def with_derived(session: Session, record_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(record_ids))
    if ids:
        ids += [i for i in session.scalars(select(CreditRecord.id).where(
            CreditRecord.derived_from.in_(ids))) if i not in ids]
    return ids


def change_status(session: Session, record_ids: Sequence[int], status: str, *, reason: str,
                  actor: str, cascade: bool = True) -> list[int]:
    """Set `status` on the records (and, with cascade, on their derived records); record
    the change; end list entries that rest on them. Returns the ids changed."""
    if status not in RECORD_STATUSES:
        raise ValueError(f"unknown record status {status}")
    ids = with_derived(session, record_ids) if cascade else list(record_ids)
    if not ids:
        return []
    now = clock.now()
    session.execute(update(CreditRecord).where(CreditRecord.id.in_(ids))
                    .values(status=status, updated_at=now))
    state_ids = list(session.scalars(insert(RecordState).returning(
        RecordState.id, sort_by_parameter_order=True), [
        {"record_id": i, "status": status, "since": now, "reason": reason[:200], "actor": actor}
        for i in ids]))
    emit(session, "state", state_ids, None)
    if status in _LIST_END:
        _end_list_entries(session, ids, status, actor, reason)
    return ids


def _end_list_entries(session: Session, ids: list[int], status: str, actor: str,
                      reason: str) -> None:
    from chengxin.sanctions.lists import end
    from chengxin.sanctions.models import ListEntry

    why, _ = _LIST_END[status]
    entries = session.scalars(select(ListEntry).where(
        ListEntry.record_id.in_(ids),
        ListEntry.status.in_(("proposed", "active", "suspended"))))
    for entry in entries:
        end(session, entry, why, actor, reason)
