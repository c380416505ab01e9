"""Appending to the change feed, set-based, in the writer's own transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import event, insert, literal, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from chengxin import clock
from chengxin.exchange.models import ChangeLog

_LOCK = 7_243_003
_HELD = "change_lock_held"


def _lock(session: Session) -> None:
    """Serialise feed writers until commit (SQLite: BEGIN IMMEDIATE already does), so
    that sequence order is commit order."""
    if session.info.get(_HELD):
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    session.info[_HELD] = True


def emit(session: Session, kind: str, ref_ids: Sequence[int], department_code: str | None) -> None:
    if not ref_ids:
        return
    from chengxin.bulk import insert_rows

    _lock(session)  # before the rows take their sequence numbers
    now = clock.now()
    insert_rows(session, ChangeLog, ("kind", "ref_id", "department_code", "at"),
                [(kind, i, department_code, now) for i in ref_ids], with_ids=False)


def emit_select(session: Session, kind: str, rows: Select) -> None:
    """Emit one change per row of `rows` — a SELECT of (ref_id, department_code) — in one
    INSERT … SELECT, for set-based jobs such as expiry."""
    _lock(session)
    sub = rows.subquery()
    cols = list(sub.c)
    session.execute(insert(ChangeLog).from_select(
        ["kind", "ref_id", "department_code", "at"],
        select(literal(kind), cols[0], cols[1], literal(clock.now(), ChangeLog.at.type))
        .order_by(cols[0])))


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _release(session: Session) -> None:
    session.info.pop(_HELD, None)
