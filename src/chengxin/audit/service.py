"""Write audit entries in the same transaction as the change they describe.

`record()` only queues the entry on the session; a before-commit hook chains and inserts
all queued entries at the very end of the transaction. The chain needs one writer at a
time, and taking that lock last keeps it held for milliseconds, not a whole request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import orjson
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal
from chengxin.audit.models import AuditEntry

GENESIS = "0" * 64
_PENDING = "audit_pending"
_PG_LOCK_KEY = 7_243_001  # arbitrary, fixed: the audit chain's advisory lock


def record(
    session: Session,
    actor: Principal,
    action: str,
    *,
    object_type: str | None = None,
    object_id: str | int | None = None,
    subject_person_id: int | None = None,
    purpose: str | None = None,
    outcome: str = "success",
    details: dict[str, Any] | None = None,
) -> None:
    """Queue an audit entry. `details` must hold ids and masked values only."""
    session.info.setdefault(_PENDING, []).append(
        {
            "at": clock.now(),
            "actor_type": actor.kind,
            "actor_id": actor.id,
            "actor_role": str(actor.role),
            "department_code": actor.department_code,
            "action": action,
            "object_type": object_type,
            "object_id": None if object_id is None else str(object_id),
            "subject_person_id": subject_person_id,
            "purpose": purpose,
            "outcome": outcome,
            "details": details or {},
        }
    )


def canonical(entry: dict[str, Any]) -> bytes:
    """The bytes a hash covers: every field but the hashes, in a fixed form."""
    at: dt.datetime = entry["at"]
    body = {k: entry[k] for k in _HASHED_FIELDS}
    body["at"] = at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


_HASHED_FIELDS = (
    "seq", "at", "actor_type", "actor_id", "actor_role", "department_code", "action",
    "object_type", "object_id", "subject_person_id", "purpose", "outcome", "details",
)


def chain_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(entry)).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    # SQLite: every transaction began with BEGIN IMMEDIATE and holds the write lock.


def flush_pending(session: Session) -> int:
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    if not pending:
        return 0
    _lock_chain(session)
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    rows = []
    for entry in pending:
        seq += 1
        entry["seq"] = seq
        entry["prev_hash"] = prev
        entry["hash"] = prev = chain_hash(prev, entry)
        rows.append(entry)
    # COPY / the driver's executemany: the check path group-commits hundreds at once.
    from chengxin.bulk import insert_dicts  # bulk -> db -> models: imported late

    insert_dicts(session, AuditEntry, rows)
    return len(rows)


def discard_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    flush_pending(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    # Entries of a rolled-back change describe something that did not happen.
    discard_pending(session)
