"""Check the chain: every entry's hash, every link, no gaps, no reordering."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from chengxin.audit.models import AuditEntry
from chengxin.audit.service import _HASHED_FIELDS, GENESIS, chain_hash


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None


def verify_chain(session: Session, batch: int = 5000) -> VerifyResult:
    expected_seq, prev, count = 1, GENESIS, 0
    stmt = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    for row in session.scalars(stmt):
        if row.seq != expected_seq:
            what = "missing entries before" if row.seq > expected_seq else "out of order at"
            return VerifyResult(False, count, row.seq, f"{what} seq {row.seq}")
        if row.prev_hash != prev:
            return VerifyResult(False, count, row.seq, "link to the previous entry broken")
        entry = {f: getattr(row, f) for f in _HASHED_FIELDS}
        if chain_hash(prev, entry) != row.hash:
            return VerifyResult(False, count, row.seq, "entry content altered")
        prev, expected_seq, count = row.hash, expected_seq + 1, count + 1
    return VerifyResult(True, count)
