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
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal
from chengxin.audit.models import AuditEntry
from chengxin.db import note_written

GENESIS = "0" * 64
_PENDING = "audit_pending"
_PG_LOCK_KEY = 7_243_001  # arbitrary, fixed: the audit chain's advisory lock


def record(
    session: Session,
    actor: Principal,
    action: str,
    **fields: Any,
) -> None:
    """Queue an audit entry (see `entry`) on the session; it is chained at commit."""
    session.info.setdefault(_PENDING, []).append(entry(actor, action, **fields))


def entry(
    actor: Principal,
    action: str,
    *,
    object_type: str | None = None,
    object_id: str | int | None = None,
    subject_person_id: int | None = None,
    purpose: str | None = None,
    outcome: str = "success",
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An audit entry, not yet chained. `details` must hold ids and masked values only."""
    return {
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


# The chain's head, read on the driver connection: this runs once per audited
# transaction, and an ORM select costs ten times the query (measured on the check path's
# group commit, where it was a fifth of the event loop's time).
_HEAD = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
# PostgreSQL: the lock, then the head, as two statements of one round trip. Under READ
# COMMITTED each statement takes its own snapshot, so the head is read after the lock is
# held (one statement doing both could read a snapshot older than the lock).
_PG_LOCK = f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})"
_PG_LOCK_AND_HEAD = f"{_PG_LOCK}; {_HEAD}"
_PG_LOCK_AT = "SELECT audit_log_lock_at(%s, %s)"
HEAD_MOVED = "CXA01"  # audit_log_lock_at's refusal: the chain's head is not the one given


def flush_pending(session: Session) -> int:
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    if not pending:
        return 0
    from chengxin.bulk import on_driver  # bulk -> db -> models: imported late

    note_written(session.connection(), AuditEntry.__tablename__)
    return append_chained(*on_driver(session), pending)


def append_chained(conn: Any, dialect: Dialect, pending: list[dict[str, Any]]) -> int:
    """Chain `pending` entries onto the log and insert them, on a driver connection
    inside the caller's transaction, which must end soon: it holds the chain's lock.
    On SQLite the transaction must have begun with BEGIN IMMEDIATE (the write lock is
    the chain's lock); on PostgreSQL an advisory lock is taken here until it ends."""
    if not pending:
        return 0
    if dialect.name == "postgresql":
        with conn.cursor() as cur:
            cur.execute(_PG_LOCK_AND_HEAD)
            cur.nextset()
            last = cur.fetchone()
    else:
        last = conn.execute(_HEAD).fetchone()
    # COPY / the driver's executemany: the check path group-commits hundreds at once.
    from chengxin.bulk import write_rows  # bulk -> db -> models: imported late

    write_rows(conn, dialect, AuditEntry, COLUMNS, chained(pending, last))
    return len(pending)


async def lock_chain_async(conn: Any, head: tuple[int, str] | None
                           ) -> tuple[int, str] | None:
    """Take the chain's lock on a psycopg AsyncConnection in pipeline mode (PostgreSQL),
    inside the caller's transaction, and return the head to chain the entries after
    ((seq, hash), or None for an empty log).

    With `head`, the head this writer last wrote, nothing is waited for: the lock and a
    check of the head are queued as one statement (`audit_log_lock_at`, migration 0011),
    and the server refuses the transaction with SQLSTATE `HEAD_MOVED` when another writer
    has appended since. Without it, the head is read once the lock is held (two
    statements, which the server runs in order) and fetched: a round trip, so the
    transaction must have begun with BEGIN (the fetch's sync would end an implicit one)."""
    if head is not None:
        await conn.execute(_PG_LOCK_AT, head)
        return head
    await conn.execute(_PG_LOCK)
    return await (await conn.execute(_HEAD)).fetchone()


def chained(pending: list[dict[str, Any]], last: Any) -> list[tuple[Any, ...]]:
    """Number and hash `pending` after the chain's head `last` ((seq, hash) or None for an
    empty log); the rows to insert, in COLUMNS order."""
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    for item in pending:
        seq += 1
        item["seq"] = seq
        item["prev_hash"] = prev
        item["hash"] = prev = chain_hash(prev, item)
    return [tuple(item[c] for c in COLUMNS) for item in pending]


COLUMNS = (*_HASHED_FIELDS, "prev_hash", "hash")


def discard_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    flush_pending(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    # Entries of a rolled-back change describe something that did not happen.
    discard_pending(session)
