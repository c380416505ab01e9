"""Credit records, their versions and states, submissions and import jobs.

A record is identified by its department and decision document number. Its row holds the
current state for fast queries; every content it ever had is a row of record_versions and
every status it ever had a row of record_states, so what was shown, when, stays answerable.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from chengxin.db import Base, BigId, Json, UTCDateTime

RECORD_STATUSES = ("active", "under_objection", "corrected", "deleted", "repaired", "expired")


class CreditRecord(Base):
    __tablename__ = "credit_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    document_no: Mapped[str] = mapped_column(String(100))
    item_code: Mapped[str] = mapped_column(ForeignKey("catalog_items.code"))
    subject_type: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    group_code: Mapped[str | None] = mapped_column(ForeignKey("key_groups.code"))
    decision_date: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    # End of public display (展示期限), from the catalog's period at collection time;
    # issue-5 policy tables may shorten it. NULL: the item is never displayed publicly.
    display_until: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    # 落实到人: a person's record derived from an organisation's serious record.
    derived_from: Mapped[int | None] = mapped_column(ForeignKey("credit_records.id"))
    derived_role: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64))  # api | import:<job> | exchange:<platform>
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Idempotency key of api.md; derived records share their origin's document number.
        Index("uq_credit_records_dept_doc", "department_code", "document_no", unique=True,
              sqlite_where=text("derived_from IS NULL"),
              postgresql_where=text("derived_from IS NULL")),
        Index("uq_credit_records_derived", "derived_from", "person_id", unique=True,
              sqlite_where=text("derived_from IS NOT NULL"),
              postgresql_where=text("derived_from IS NOT NULL")),
        Index("ix_credit_records_person", "person_id", "item_code"),
        Index("ix_credit_records_org", "organization_id"),
        Index("ix_credit_records_dept_group_updated", "department_code", "group_code", "updated_at"),
        Index("ix_credit_records_status_display", "status", "display_until"),
    )


class RecordVersion(Base):
    __tablename__ = "record_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("credit_records.id"))
    version: Mapped[int] = mapped_column(Integer)
    # Everything sent, normalised; persons appear by id and masked number, never in clear.
    payload: Mapped[dict] = mapped_column(Json)
    content_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))  # created | resent | correction | propagated
    source: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_record_versions_record_version", "record_id", "version", unique=True),
    )


class RecordState(Base):
    """Every status a record has had, with why and who: nothing is overwritten."""

    __tablename__ = "record_states"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("credit_records.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(100))


class HeldRow(Base):
    """A row held for review: its name differs from the one known for that ID number."""

    __tablename__ = "held_rows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    document_no: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    sent_name: Mapped[str] = mapped_column(String(100))
    # The row as sent, with its ID numbers encrypted (context "held_row").
    row_enc: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|accepted|rejected
    reason: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_records.id"))


class Submission(Base):
    """One delivery from a department (API batch, file import, nil report): cadence."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    group_code: Mapped[str | None] = mapped_column(ForeignKey("key_groups.code"))
    channel: Mapped[str] = mapped_column(String(16))  # api | import | nil | exchange
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_submissions_dept_group_at", "department_code", "group_code", "at"),)


class ImportJob(Base):
    __tablename__ = "import_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    stored_path: Mapped[str] = mapped_column(String(500))
    format: Mapped[str] = mapped_column(String(8))
    item_code: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    total_rows: Mapped[int | None] = mapped_column(Integer)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(100))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ImportRowError(Base):
    """Errors of rejected (and held) rows of an import: the error report is built from these."""

    __tablename__ = "import_row_errors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("import_jobs.id"))
    row: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # rejected | held
    errors: Mapped[list] = mapped_column(Json)

    __table_args__ = (Index("ix_import_row_errors_job_row", "job_id", "row"),)


class GroupMembership(Base):
    """A person's membership of a key group, as a department reported it."""

    __tablename__ = "group_memberships"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    group_code: Mapped[str] = mapped_column(ForeignKey("key_groups.code"))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    employer: Mapped[str | None] = mapped_column(String(300))
    position: Mapped[str | None] = mapped_column(String(100))
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_records.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_group_memberships_person_group_dept", "person_id", "group_code",
              "department_code", unique=True),
        Index("ix_group_memberships_group_dept", "group_code", "department_code"),
    )
