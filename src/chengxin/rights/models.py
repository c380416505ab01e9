from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chengxin.db import Base, BigId, Json, UTCDateTime


class Objection(Base):
    """异议: the record is marked at once; the source department answers by the deadline."""

    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("credit_records.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    department_code: Mapped[str] = mapped_column(String(64), index=True)  # routed to
    reason: Mapped[str] = mapped_column(Text)
    evidence_ids: Mapped[list] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16))  # open | decided | withdrawn
    outcome: Mapped[str | None] = mapped_column(String(16))  # corrected | upheld | deleted
    note: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[dt.date] = mapped_column(Date)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    review_of: Mapped[int | None] = mapped_column(ForeignKey("objections.id"))  # 复核
    previous_status: Mapped[str] = mapped_column(String(20))  # the record's status before
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))


class RepairApplication(Base):
    """信用修复 application: for a record or a list entry."""

    __tablename__ = "repair_applications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_records.id"), index=True)
    list_entry_id: Mapped[int | None] = mapped_column(ForeignKey("list_entries.id"))
    department_code: Mapped[str] = mapped_column(String(64), index=True)  # 谁认定、谁修复
    method: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text)
    commitment_text: Mapped[str | None] = mapped_column(Text)
    evidence_ids: Mapped[list] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16))  # submitted | approved | rejected
    due_date: Mapped[dt.date] = mapped_column(Date)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Notice(Base):
    """信用告知: an in-app notice; other channels are delivered from it."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    respond_by: Mapped[dt.date | None] = mapped_column(Date)  # 陈述申辩 deadline
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deliveries: Mapped[list] = mapped_column(Json)  # [{"channel", "status", "at"}]


class Statement(Base):
    """陈述申辩 / 本人声明: what the person said, kept beside the record."""

    __tablename__ = "statements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_records.id"))
    list_entry_id: Mapped[int | None] = mapped_column(ForeignKey("list_entries.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Authorization(Base):
    """授权查询: the person lets one grantee query their report for one purpose."""

    __tablename__ = "authorizations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    grantee: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(16))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hint: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    uses: Mapped[int] = mapped_column(Integer, default=0)


class QueryLog(Base):
    """查询使用登记: every read of a person's data, shown to the person."""

    __tablename__ = "query_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigId)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(16))  # staff | check | third_party | exchange | self
    actor: Mapped[str] = mapped_column(String(100))
    actor_key: Mapped[str] = mapped_column(String(80))  # kind:id, for pattern detection
    organization: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(String(200))
    what: Mapped[str] = mapped_column(String(32))
    authorization_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (
        Index("ix_query_log_person_at", "person_id", "at"),
        Index("ix_query_log_actor_at", "actor_key", "at"),
    )


class QueryAlert(Base):
    """An unusual pattern: one account reading many different persons."""

    __tablename__ = "query_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    actor_key: Mapped[str] = mapped_column(String(80), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    distinct_persons: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Freeze(Base):
    """The person froze third-party queries (like a credit freeze)."""

    __tablename__ = "freezes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
