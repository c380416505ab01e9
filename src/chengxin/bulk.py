"""Bulk inserts, in the session's own transaction: ingestion, the change feed, notices,
list entries and the check path's group commit.

SQLAlchemy's multi-row INSERT … RETURNING costs more than the rows themselves here
(psycopg parses each huge multi-VALUES statement; the ORM splices RETURNING rows back into
parameter order, quadratically on SQLite). So large inserts bypass it:

- PostgreSQL: ids are taken from the table's sequence in one round trip, then the rows go
  in with COPY on the session's own connection (psycopg's cursor.copy()). The check's
  group commit, in pipeline mode where COPY cannot run, uses `json_insert`.
- SQLite: ids follow max(id): the unit of work began with BEGIN IMMEDIATE, so this
  transaction holds the write lock and no other writer can take them; the rows go in with
  the driver's executemany.

Either way the caller gets the new ids in row order, and a rollback removes everything.
Values are given as the ORM would take them (aware datetimes, dates, dicts for JSON); on
SQLite they go through the column types' own bind processors, so the stored text is the
same as SQLAlchemy would have written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import ARRAY, JSON, Enum, String, Table, any_, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from chengxin.db import UTCDateTime, json_dumps, note_written

Row = Sequence[Any]

def _table(model: Any) -> Table:
    return model.__table__ if hasattr(model, "__table__") else model


def insert_rows(session: Session, model: Any, columns: Sequence[str], rows: Sequence[Row],
                *, with_ids: bool = True) -> list[int]:
    """Insert `rows` (tuples in `columns` order) into `model`'s table; return their new ids
    in row order ([] when `with_ids` is false: the table's own default numbers them)."""
    if not rows:
        return []
    table = _table(model)
    session.flush()  # ORM objects added earlier may be referenced by these rows
    # These writes bypass SQLAlchemy's statement events: say which table changed (the
    # check path's cache of persons' facts listens for it).
    note_written(session.connection(), table.name)
    return write_rows(*on_driver(session), table, columns, rows, with_ids=with_ids)


def on_driver(session: Session) -> tuple[Any, Dialect]:
    """The session's driver connection (sqlite3 / psycopg), inside its transaction (begun
    here if need be), and its dialect: for work that skips SQLAlchemy's statement layer."""
    connection = session.connection()
    return connection.connection.driver_connection, connection.dialect


def write_rows(conn: Any, dialect: Dialect, model: Any, columns: Sequence[str],
               rows: Sequence[Row], *, with_ids: bool = False) -> list[int]:
    """`insert_rows` on a driver connection (sqlite3 / psycopg) whose transaction the
    caller runs: the check path's group commit, which skips the ORM session (its
    per-transaction cost was most of a small batch's). On SQLite the transaction must
    hold the write lock (BEGIN IMMEDIATE) when `with_ids` is true. Nothing is noted for
    the engine's listeners: the caller says what it wrote, if anyone listens."""
    if not rows:
        return []
    table = _table(model)
    if dialect.name == "postgresql":
        return _pg_insert(conn, table, columns, rows, with_ids)
    return _sqlite_insert(conn, dialect, table, columns, rows, with_ids)


def insert_dicts(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """`insert_rows` for rows given as dicts with the same keys (no ids returned)."""
    if rows:
        columns = tuple(rows[0])
        insert_rows(session, model, columns, [tuple(r[c] for c in columns) for r in rows],
                    with_ids=False)


IN_CHUNK = 900  # stays under every backend's bound-parameter limit


def where_in(session: Session, column: Any, values: Sequence[Any]
             ) -> Iterator[ColumnElement[bool]]:
    """`column IN values` in as few statements as the backend allows. PostgreSQL takes the
    list as one array parameter (psycopg spends longer parsing a 900-parameter IN than the
    server spends running it); SQLite is bounded by its parameter limit."""
    if not values:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
        return
    for i in range(0, len(values), IN_CHUNK):
        yield column.in_(values[i:i + IN_CHUNK])


# ------------------------------------------------------------------ PostgreSQL


def _pg_insert(conn: Any, table: Table, columns: Sequence[str], rows: Sequence[Row],
               with_ids: bool) -> list[int]:
    ids: list[int] = []
    if with_ids:
        # pg_get_serial_sequence: the sequence behind the id, whether SERIAL or IDENTITY.
        with conn.cursor() as cur:
            cur.execute("SELECT nextval(q.s) FROM (SELECT pg_get_serial_sequence(%s, 'id')"
                        "::regclass AS s) AS q, generate_series(1, %s)", (table.name, len(rows)))
            ids = [r[0] for r in cur.fetchall()]
        # generate_series runs in order, but nothing promises nextval's results come back
        # sorted; sorting keeps ids ascending in row order (the change feed relies on it).
        ids.sort()
    names = (["id"] if with_ids else []) + list(columns)
    # As SQLAlchemy binds them: JSON as text (None as JSON 'null'), UTC datetimes only
    # when aware (COPY would read a naive one in the session's time zone).
    procs = [(i, proc) for i, c in enumerate(columns)
             if (proc := _by_type(_PG_PROCESSORS, table.c[c].type)) is not None]
    quoted = ", ".join(f'"{n}"' for n in names)
    with conn.cursor() as cur, cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as cp:
        write = cp.write_row
        for k, row in enumerate(rows):
            values = list(row)
            for i, proc in procs:
                values[i] = proc(values[i])
            write([ids[k], *values] if with_ids else values)
    return ids


def json_insert(parts: Sequence[tuple[Any, Sequence[str], Sequence[Row]]]
                ) -> tuple[str, list[str]]:
    """PostgreSQL: one statement that inserts each part's rows (model, columns, rows as
    tuples) into its table, and its parameters: for the check's group commit on an
    asynchronous connection in pipeline mode, where COPY cannot run.

    Each part is an `INSERT … SELECT … FROM jsonb_array_elements(%s)` whose one parameter
    is its rows as a JSON array of arrays; all but the last are data-modifying WITH
    queries (PostgreSQL runs each exactly once, to completion, whether or not anything
    reads it). Parts without rows are left out. orjson writes the JSON in C; an array
    per column in psycopg's binary format went through psycopg's Python list dumper,
    value by value (measured: 0.43 → 0.27 ms of client CPU for a batch of 21 checks'
    and audit entries' rows, the server's CPU the same)."""
    parts = [part for part in parts if part[2]]
    if not parts:
        raise ValueError("json_insert: no rows")  # programming error
    inserts, params = [], []
    for model, columns, rows in parts:
        sql, stamps = _json_plan(_table(model), tuple(columns))
        for i in stamps:  # a naive datetime would be read in the session's time zone
            for row in rows:
                _aware(row[i])
        inserts.append(sql)
        params.append(orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS).decode())
    *first, last = inserts
    if not first:
        return last, params
    ctes = ", ".join(f"w{k} AS ({sql})" for k, sql in enumerate(first))
    return f"WITH {ctes} {last}", params


# (table, columns) -> the statement and the positions of its UTC datetime columns, built
# once: the check's group commit runs it several hundred times a second.
_JSON_PLANS: dict[tuple[str, tuple[str, ...]], tuple[str, list[int]]] = {}


def _json_plan(table: Table, columns: tuple[str, ...]) -> tuple[str, list[int]]:
    key = (table.name, columns)
    plan = _JSON_PLANS.get(key)
    if plan is None:
        from sqlalchemy.dialects import postgresql

        dialect = postgresql.psycopg.dialect()
        values = []
        for i, name in enumerate(columns):
            col_type = table.c[name].type
            if isinstance(col_type, JSON):
                # The element itself: a JSON null stays JSON 'null', as SQLAlchemy's JSON
                # type stores None.
                values.append(f"(x->{i})::{col_type.compile(dialect=dialect)}")
            elif isinstance(col_type, String) and not isinstance(col_type, Enum):
                # Text, assigned to the column: a value longer than VARCHAR(n) is refused
                # (an explicit cast to VARCHAR(n) would cut it silently).
                values.append(f"x->>{i}")
            else:
                values.append(f"(x->>{i})::{col_type.compile(dialect=dialect)}")
        quoted = ", ".join(f'"{n}"' for n in columns)
        stamps = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, UTCDateTime)]
        plan = _JSON_PLANS[key] = (
            f'INSERT INTO "{table.name}" ({quoted}) '  # noqa: S608
            f"SELECT {', '.join(values)} FROM jsonb_array_elements(%s::jsonb) AS x", stamps)
    return plan


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value


_PG_PROCESSORS: dict[type, Callable[[Any], Any]] = {UTCDateTime: _aware, JSON: json_dumps}


def _by_type(table: dict[type, Callable[[Any], Any]], col_type: Any
             ) -> Callable[[Any], Any] | None:
    return next((fn for cls, fn in table.items() if isinstance(col_type, cls)), None)


# ------------------------------------------------------------------ SQLite


def _utc_text(value: dt.datetime | None) -> str | None:
    """UTCDateTime's bind processing on SQLite in one step (the type decorator, then the
    dialect's DATETIME formatting, cost four times as much): the same text."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


# Column types whose SQLite bind processing is done here instead of through SQLAlchemy's
# layers; tests/test_bulk_insert.py checks the stored text is the same as a plain INSERT's.
# JSON: the engine's json_serializer is json_dumps, and SQLAlchemy's JSON processor
# serialises None as 'null' too.
_SHORTCUTS: dict[type, Callable[[Any], Any]] = {UTCDateTime: _utc_text, JSON: json_dumps}

_PROCESSORS: dict[tuple[str, tuple[str, ...]], list[tuple[int, Callable[[Any], Any]]]] = {}


def _processors(dialect: Dialect, table: Table, columns: Sequence[str]
                ) -> list[tuple[int, Callable[[Any], Any]]]:
    """The columns' bind processors, looked up once per table and column list (the
    check path inserts a few rows many times a second); each call gets its own memo."""
    key = (table.name, tuple(columns))
    found = _PROCESSORS.get(key)
    if found is None:
        found = []
        for i, name in enumerate(columns):
            col_type = table.c[name].type
            proc = _by_type(_SHORTCUTS, col_type) or col_type.dialect_impl(
                dialect).bind_processor(dialect)
            if proc is not None:
                found.append((i, proc))
        _PROCESSORS[key] = found
    return [(i, _remember_last(proc)) for i, proc in found]


def _remember_last(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A batch repeats one timestamp (its `now`) in every row: convert it once."""
    last: list[Any] = [object(), None]

    def process(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, proc(value)
        return last[1]

    return process


def _sqlite_insert(conn: Any, dialect: Dialect, table: Table, columns: Sequence[str],
                   rows: Sequence[Row], with_ids: bool) -> list[int]:
    procs = _processors(dialect, table, columns)
    ids: list[int] = []
    if with_ids:
        top = conn.execute(f'SELECT max(id) FROM "{table.name}"').fetchone()[0] or 0  # noqa: S608
        ids = list(range(top + 1, top + 1 + len(rows)))
    names = (["id"] if with_ids else []) + list(columns)
    marks = ", ".join("?" for _ in names)
    sql = f'INSERT INTO "{table.name}" ({", ".join(names)}) VALUES ({marks})'  # noqa: S608

    def converted() -> Any:
        for k, row in enumerate(rows):
            values = list(row)
            for i, proc in procs:
                values[i] = proc(values[i])
            yield (ids[k], *values) if with_ids else values

    conn.executemany(sql, converted())
    return ids
