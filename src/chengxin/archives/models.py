from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chengxin.db import Base, BigId, Json, UTCDateTime

ANNUAL_STATUSES = ("trustworthy", "warning", "serious_dishonesty")  # 守信 / 警示 / 严重失信


class EvidenceFile(Base):
    """An uploaded evidence file: stored by content hash, type and size checked."""

    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    stored_path: Mapped[str] = mapped_column(String(500))
    department_code: Mapped[str | None] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AnnualStatus(Base):
    """The yearly credit status determination (年度信用状况认定) by the supervising department.

    A new determination for the same person and year is a new row; the latest counts,
    earlier ones stay as history.
    """

    __tablename__ = "annual_statuses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    group_code: Mapped[str | None] = mapped_column(ForeignKey("key_groups.code"))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    basis: Mapped[str] = mapped_column(Text)
    evidence_ids: Mapped[list] = mapped_column(Json)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str] = mapped_column(String(100))
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("annual_statuses.id"))

    __table_args__ = (Index("ix_annual_statuses_person_year", "person_id", "year"),)
