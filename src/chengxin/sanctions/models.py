"""List entries with their full history, checks and the feedback on them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chengxin.db import Base, BigId, Json, UTCDateTime

LIST_TYPES = ("black", "red", "focus")  # focus: 重点监管对象
ENTRY_STATUSES = ("proposed", "notified", "active", "suspended", "expired", "removed", "rejected")


class ListEntry(Base):
    """One subject on one list, from one source record or decision."""

    __tablename__ = "list_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    list_type: Mapped[str] = mapped_column(String(8))
    list_name: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_records.id"))
    item_code: Mapped[str | None] = mapped_column(String(64))
    department_code: Mapped[str] = mapped_column(String(64))
    basis: Mapped[str] = mapped_column(Text)
    decision_document: Mapped[str] = mapped_column(String(200))
    # The listing date (when the decision put the subject on the list) is kept apart from
    # the effective dates (from when and until when the listing has effect).
    listed_on: Mapped[dt.date] = mapped_column(Date)
    effective_from: Mapped[dt.date | None] = mapped_column(Date)
    effective_until: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(16))  # repair | decision | expiry
    proposed_by: Mapped[str] = mapped_column(String(100))
    approved_by: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_list_entries_person_status", "person_id", "status"),
        Index("ix_list_entries_org_status", "organization_id", "status"),
        Index("ix_list_entries_type_status", "list_type", "status"),
        Index("uq_list_entries_record_type", "record_id", "list_type", unique=True),
    )


class ListEvent(Base):
    """Every change of a list entry: who proposed, who approved, what changed and why."""

    __tablename__ = "list_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("list_entries.id"), index=True)
    event: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)


class PendingListChange(Base):
    """Maker–checker: a proposed removal from the black list waiting for a second person."""

    __tablename__ = "pending_list_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("list_entries.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # add | remove
    reason: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[str] = mapped_column(String(100))
    proposed_by_id: Mapped[str | None] = mapped_column(String(64))
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12))  # pending | approved | rejected
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Check(Base):
    """One joint reward-and-punishment check and what it answered."""

    __tablename__ = "checks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    department_code: Mapped[str] = mapped_column(String(64), index=True)
    scenario: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(BigId)
    status: Mapped[str] = mapped_column(String(24))
    decision: Mapped[str] = mapped_column(String(12))
    measures: Mapped[list] = mapped_column(Json)
    lists: Mapped[list] = mapped_column(Json)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))


class CheckFeedback(Base):
    __tablename__ = "check_feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    check_id: Mapped[str] = mapped_column(ForeignKey("checks.id"), index=True)
    department_code: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(64))
    applied: Mapped[list] = mapped_column(Json)
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))


class AppliedMeasure(Base):
    """One measure a department applied (from feedback): statistics group these."""

    __tablename__ = "applied_measures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("check_feedback.id"))
    check_id: Mapped[str] = mapped_column(String(32))
    measure_code: Mapped[str] = mapped_column(String(64))
    department_code: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_applied_measures_dept_scenario", "department_code", "scenario"),)
