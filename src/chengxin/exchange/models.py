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
