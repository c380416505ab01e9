"""chengxin.bulk (COPY / executemany) stores what SQLAlchemy's own INSERT stores, for the
check path's rows (string keys, JSON lists, aware datetimes), on both backends."""

from __future__ import annotations

import datetime as dt

import psycopg
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError

from chengxin.bulk import insert_dicts
from chengxin.sanctions.models import Check


def _row(check_id: str, **over):
    row = {"id": check_id, "department_code": "410522-rsj", "scenario": "awards",
           "person_id": None, "status": "unknown", "decision": "allow",
           "measures": ["P01", "中文"], "lists": [], "actor": "系统",
           "at": dt.datetime(2026, 11, 23, 2, 0, 0, 123456, tzinfo=dt.UTC)}
    return {**row, **over}


def test_same_values_as_a_plain_insert(rt):
    with rt.uow() as s:
        s.execute(insert(Check), [_row("plain", person_id=7)])
        insert_dicts(s, Check, [
            _row("bulk", person_id=7),
            _row("bulk-naive-tz", at=dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone(
                dt.timedelta(hours=8))), measures=[], lists=[{"type": "black"}])])
    with rt.uow() as s:
        got = {c.id: c for c in s.scalars(select(Check))}
    plain, bulk, other = got["plain"], got["bulk"], got["bulk-naive-tz"]
    for field in ("department_code", "scenario", "person_id", "status", "decision",
                  "measures", "lists", "at", "actor"):
        assert getattr(plain, field) == getattr(bulk, field), field
    assert bulk.at.tzinfo is not None and bulk.at == plain.at
    assert other.at == dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # stored as UTC
    assert other.lists == [{"type": "black"}] and other.measures == []


def _outcome(rt, write) -> str:
    try:
        with rt.uow() as s:
            write(s)
    except (DBAPIError, psycopg.Error):  # COPY raises the driver's own error
        return "refused"
    with rt.uow() as s:
        stored = s.scalar(select(Check.id))
        s.execute(Check.__table__.delete())
    return stored


def test_too_long_value_is_treated_as_a_plain_insert_treats_it(rt):
    """PostgreSQL refuses a value longer than the column (never truncates it); SQLite,
    which has no lengths, keeps it whole — both exactly as a plain INSERT."""
    long_id = "x" * 40
    plain = _outcome(rt, lambda s: s.execute(insert(Check), [_row(long_id)]))
    bulk = _outcome(rt, lambda s: insert_dicts(s, Check, [_row(long_id)]))
    assert bulk == plain
    assert plain == ("refused" if rt.engine.dialect.name == "postgresql" else long_id)


def test_no_rows_is_a_no_op(rt):
    with rt.uow() as s:
        insert_dicts(s, Check, [])
        assert s.scalar(select(Check.id)) is None
