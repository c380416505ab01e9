"""Score tables: runs, each person's current score, and the items that make it up.

Points are integers in hundredths and decay factors integers in ten-thousandths: exact,
identical on SQLite and PostgreSQL, and summable without rounding drift, so the items
shown to a person always add up to their score.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from chengxin.db import Base, BigId, UTCDateTime


class ScoreRun(Base):
    __tablename__ = "score_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))  # all | person
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rules_digest: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[dt.date] = mapped_column(Date)  # "today" of the decay computation
    persons: Mapped[int] = mapped_column(Integer, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(100))


class PersonScore(Base):
    __tablename__ = "person_scores"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    score_x100: Mapped[int] = mapped_column(Integer)  # clamped to [floor, ceiling]
    raw_x100: Mapped[int] = mapped_column(Integer)  # base + points, before clamping
    grade: Mapped[str] = mapped_column(String(8))
    run_id: Mapped[int] = mapped_column(ForeignKey("score_runs.id"))
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ScoreItem(Base):
    __tablename__ = "score_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("score_runs.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    record_id: Mapped[int] = mapped_column(ForeignKey("credit_records.id"))
    rule_code: Mapped[str] = mapped_column(String(64))
    points_x100: Mapped[int] = mapped_column(Integer)  # after decay and cap
    decayed_x100: Mapped[int] = mapped_column(Integer)  # after decay, before cap
    factor_x10000: Mapped[int] = mapped_column(Integer)  # decay factor
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_score_items_person_id", "person_id"),)
