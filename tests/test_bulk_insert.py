"""chengxin.bulk (COPY / executemany) stores what SQLAlchemy's own INSERT stores, for the
check path's rows (string keys, JSON lists, aware datetimes), on both backends."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, StatementError

from chengxin.bulk import insert_dicts, json_insert
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


def test_stored_text_is_the_same_as_a_plain_insert(rt):
    """The bytes in the table, not only the values read back: SQLite keeps datetimes and
    JSON as text, which the bulk path formats itself (whole seconds keep their
    microseconds; a JSON None is stored as 'null', as SQLAlchemy's JSON type stores it)."""
    at = dt.datetime(2026, 11, 23, 10, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with rt.uow() as s:
        s.execute(insert(Check), [_row("plain", at=at, lists=None)])
        insert_dicts(s, Check, [_row("bulk", at=at, lists=None)])
    with rt.uow() as s:
        raw = dict(s.connection().exec_driver_sql(
            "SELECT id, CAST(at AS TEXT) || '|' || CAST(measures AS TEXT) || '|' || "
            "COALESCE(CAST(lists AS TEXT), 'SQL NULL') FROM checks").all())
    assert raw["bulk"] == raw["plain"]
    if rt.engine.dialect.name == "sqlite":
        assert raw["bulk"].startswith("2026-11-23 02:00:05.000000|")


def test_naive_datetime_is_refused_as_a_plain_insert_refuses_it(rt):
    naive = dt.datetime(2026, 11, 23, 10, 0)  # no tzinfo: the point of the test
    for write in (lambda s: s.execute(insert(Check), [_row("p", at=naive)]),
                  lambda s: insert_dicts(s, Check, [_row("b", at=naive)])):
        with pytest.raises((ValueError, StatementError), match="naive datetime"):
            with rt.uow() as s:
                write(s)
    with rt.uow() as s:
        assert s.scalar(select(Check.id)) is None


def _from_json(rt, rows: list[dict]) -> None:
    """json_insert's INSERT, in a transaction of its own (the check's group commit
    sends it in pipeline mode on an asynchronous connection; the statement is the same)."""
    url = rt.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    columns = tuple(rows[0])
    with psycopg.connect(url) as conn:
        conn.execute(*json_insert([(Check, columns,
                                    [tuple(r[c] for c in columns) for r in rows])]))


def test_json_rows_store_what_copy_stores(rt):
    """PostgreSQL, where COPY cannot run in a pipeline: one INSERT … FROM
    jsonb_array_elements(…) with the rows as one JSON parameter stores the same text as
    COPY and as a plain INSERT (a JSON None as JSON 'null'; quotes, braces and backslashes
    in text as sent)."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("the check's pipelined group commit is PostgreSQL's")
    at = dt.datetime(2026, 11, 23, 10, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with rt.uow() as s:
        s.execute(insert(Check), [_row("plain", at=at, lists=None, person_id=3)])
        insert_dicts(s, Check, [_row("copy", at=at, lists=None, person_id=3)])
    _from_json(rt, [_row("json", at=at, lists=None, person_id=3),
                    _row("json-2", at=at, measures=[], lists=[{"type": "black"}],
                         decision="deny", actor="它'\"{,}\\n")])
    with rt.uow() as s:
        raw = dict(s.connection().exec_driver_sql(
            "SELECT id, concat_ws('|', department_code, scenario, person_id, status, "
            "decision, CAST(at AS TEXT), CAST(measures AS TEXT), "
            "COALESCE(CAST(lists AS TEXT), 'SQL NULL'), actor) FROM checks").all())
    assert raw["json"] == raw["copy"] == raw["plain"]
    assert raw["json-2"].endswith('|[]|[{"type": "black"}]|它\'"{,}\\n')


def test_json_rows_refuse_what_copy_refuses(rt):
    """A value longer than its column is refused, never cut to fit (an explicit cast to
    VARCHAR(n) would cut it silently; the text is assigned to the column without a cast);
    a naive datetime is refused before anything is sent."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("the check's pipelined group commit is PostgreSQL's")
    with pytest.raises(psycopg.errors.StringDataRightTruncation):
        _from_json(rt, [_row("ok"), _row("x" * 40)])
    with pytest.raises(ValueError, match="naive datetime"):
        _from_json(rt, [_row("naive", at=dt.datetime(2026, 11, 23, 10, 0))])
    with rt.uow() as s:
        assert s.scalar(select(Check.id)) is None  # nothing of either was kept


def test_json_insert_writes_several_tables_in_one_statement(rt):
    """Parts become data-modifying WITH queries of one INSERT, each run to completion;
    a part without rows is left out, and nothing at all is a programming error. One
    bad part fails the statement whole."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("the check's pipelined group commit is PostgreSQL's")
    from chengxin.accounts.principal import cli_principal
    from chengxin.audit.models import AuditEntry
    from chengxin.audit.service import COLUMNS, GENESIS, chained, entry

    columns = tuple(_row("x"))
    checks = [tuple(_row(f"c{k}")[c] for c in columns) for k in range(3)]
    with rt.uow() as s:
        head = s.execute(select(AuditEntry.seq, AuditEntry.hash)
                         .order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
    audited = chained([entry(cli_principal(), "test.json", details={"k": k})
                       for k in range(2)], head)
    sql, params = json_insert([(Check, columns, checks[:2]), (Check, columns, []),
                               (AuditEntry, COLUMNS, audited)])
    assert sql.startswith("WITH w0 AS (INSERT INTO \"checks\"") and len(params) == 2
    url = rt.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        conn.execute(sql, params)
    with rt.uow() as s:
        assert sorted(s.scalars(select(Check.id))) == ["c0", "c1"]
        stored = s.execute(select(AuditEntry.seq, AuditEntry.prev_hash, AuditEntry.details)
                           .order_by(AuditEntry.seq)).all()
    assert [tuple(r) for r in stored][-2:] == [(seq + 1, prev, {"k": 0}),
                                               (seq + 2, audited[0][-1], {"k": 1})]
    bad = _row("c2", at=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC))
    with pytest.raises(psycopg.errors.UniqueViolation), psycopg.connect(url) as conn:
        conn.execute(*json_insert([(Check, columns, [tuple(bad[c] for c in columns)]),
                                   (Check, columns, checks[:1])]))  # c0 again
    with rt.uow() as s:
        assert sorted(s.scalars(select(Check.id))) == ["c0", "c1"]  # not c2 either
    with pytest.raises(ValueError, match="no rows"):
        json_insert([(Check, columns, [])])
