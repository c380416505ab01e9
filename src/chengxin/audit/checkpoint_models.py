"""Signed checkpoints of the audit chain's head.

The hash chain alone proves only that the log is internally consistent: someone with
database rights can rewrite every entry and recompute every hash, or cut off the tail.
A checkpoint is the head (seq, hash) signed with the platform's Ed25519 key at a point in
time; a rewritten chain no longer matches it, and a truncated one no longer reaches it.
The table is append-only like the log (triggers in migration 0009).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from chengxin.db import Base, BigId, UTCDateTime


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigId, index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    signature: Mapped[str] = mapped_column(String(128))  # urlsafe base64 of 64 bytes
    key_id: Mapped[str] = mapped_column(String(64))
