"""Reference tables: loaded from the YAML files in data/, never edited by hand.

Rows that disappear from the files are deactivated, not deleted: records written under
an old catalog item must still say what that item was.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chengxin.db import Base, BigId, Json, UTCDateTime


class Department(Base):
    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str | None] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(6))
    is_credit_office: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Group(Base):
    __tablename__ = "key_groups"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    cadence: Mapped[str] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class GroupDepartment(Base):
    """Every department responsible for a group (some groups have several)."""

    __tablename__ = "group_departments"

    group_code: Mapped[str] = mapped_column(ForeignKey("key_groups.code"), primary_key=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), primary_key=True)


class CatalogItem(Base):
    __tablename__ = "catalog_items"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    polarity: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str | None] = mapped_column(String(16))
    visibility: Mapped[str] = mapped_column(String(16))
    display_months: Mapped[int | None] = mapped_column(Integer)
    list_type: Mapped[str | None] = mapped_column(String(8))
    subject_types: Mapped[list] = mapped_column(Json)
    fields: Mapped[list] = mapped_column(Json)
    legal_basis_required: Mapped[bool] = mapped_column(Boolean, default=False)
    providers: Mapped[list | None] = mapped_column(Json)
    source: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Scenario(Base):
    __tablename__ = "scenarios"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    checked_by: Mapped[list] = mapped_column(Json, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Measure(Base):
    __tablename__ = "measures"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    effect: Mapped[str] = mapped_column(String(16))
    applies_to: Mapped[list] = mapped_column(Json)
    scenarios: Mapped[list] = mapped_column(Json)
    legal_basis: Mapped[str] = mapped_column(Text)
    implementing_body: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ReferenceLoad(Base):
    """Which version of the reference files was loaded, when and by whom."""

    __tablename__ = "reference_loads"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    digest: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    counts: Mapped[dict] = mapped_column(Json)
