from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from chengxin.db import Base, BigId, UTCDateTime


class ChangeLog(Base):
    """One entry of the change feed, pointing at an immutable row (a record version, a
    record state, a list event). Writers hold the change lock until commit, so that the
    sequence order is the commit order and a reader's cursor never skips a late commit."""

    __tablename__ = "change_log"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # version | state | list_event
    ref_id: Mapped[int] = mapped_column(BigInteger)
    department_code: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_change_log_kind_ref", "kind", "ref_id"),)


class ExchangeSource(Base):
    """A lower platform this one pulls from: where, whose key (pinned), how far."""

    __tablename__ = "exchange_sources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(500), unique=True)
    platform_id: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(64))
    public_key: Mapped[str | None] = mapped_column(String(100))  # pinned on the first pull
    last_cursor: Mapped[str | None] = mapped_column(String(100))
    items_applied: Mapped[int] = mapped_column(BigInteger, default=0)
    last_pull_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ExchangeApplyError(Base):
    """A feed item that could not be applied here (e.g. a row our catalog rejects): kept for
    the credit office to look at; the pull goes on."""

    __tablename__ = "exchange_apply_errors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(BigInteger, index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
