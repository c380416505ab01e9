"""Engine, sessions and the one unit of work per request or command.

Services never commit: the request (or CLI command) that called them commits once at the
end, or rolls back everything, so a use case that spans domains stays atomic.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    Table,
    create_engine,
    event,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Integer primary keys: BIGINT on PostgreSQL (tens of millions of records), INTEGER on
# SQLite where only INTEGER PRIMARY KEY is the fast rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# JSON that is JSONB on PostgreSQL (indexable) and TEXT-backed JSON on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on both backends (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # isolation_level=None hands transaction control to us (the SQLAlchemy recipe), so
    # that BEGIN IMMEDIATE below takes the write lock up front: a deferred transaction
    # that reads and then writes can fail with SQLITE_BUSY when another writer won.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _no_auto_checkpoint(dbapi_conn: Any, _record: Any) -> None:
    # A committing connection past 1000 WAL pages runs the checkpoint itself, fsync
    # included: tens of milliseconds inside a commit that many requests wait on. Such a
    # connection leaves checkpoints to `checkpoint()`, called off the request path.
    dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")


def checkpoint(engine: Engine) -> None:
    """SQLite: copy the WAL back into the database without blocking anyone (PASSIVE)."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # outside any transaction (autocommit connection)
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            raw.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class _NoResultRows(logging.Filter):
    """SQLAlchemy logs result rows at DEBUG when sqlalchemy.engine is turned up: rows
    hold names and free text, so they never reach a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def json_dumps(value: Any) -> str:
    """JSON columns through orjson (several times faster than the standard library on the
    check path's group commits); integer keys become strings, as json.dumps makes them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, **kwargs: Any) -> Engine:
    for name in ("sqlalchemy.engine", "sqlalchemy.engine.Engine"):
        target = logging.getLogger(name)
        if not any(isinstance(f, _NoResultRows) for f in target.filters):
            target.addFilter(_NoResultRows())
    # SQL parameters carry content, names and ID numbers: never let a logging config
    # (sqlalchemy.engine at INFO/DEBUG) or an error message print them.
    kwargs.setdefault("hide_parameters", True)
    kwargs.setdefault("json_serializer", json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url.startswith("sqlite"):
        auto_checkpoint = kwargs.pop("auto_checkpoint", True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        if not auto_checkpoint:
            event.listen(engine, "connect", _no_auto_checkpoint)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.pop("auto_checkpoint", None)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_read_engine(url: str) -> Engine | None:
    """SQLite: a second engine for read-only work that must not queue behind writers —
    its transactions are deferred (no BEGIN IMMEDIATE), and WAL lets them read while a
    writer commits. None for server databases, whose reads never take a write lock."""
    if not url.startswith("sqlite"):
        return None
    engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True,
                           json_serializer=json_dumps, json_deserializer=orjson.loads)
    event.listen(engine, "connect", _sqlite_pragmas)
    # One snapshot for all the statements of a read (deferred: no write lock).
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
    return engine


_INSERTS: dict[tuple[str, str, tuple[str, ...]], Any] = {}


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """A multi-row INSERT for group commits of many small rows, with the same stored values
    as SQLAlchemy's own INSERT but without its per-row machinery. PostgreSQL: one
    statement over `unnest` of one array per column (psycopg's executemany spends tens of
    microseconds of Python per row); SQLite: the driver's executemany. Every row must
    have the same keys."""
    if not rows:
        return
    keys = tuple(rows[0])
    cache_key = (conn.dialect.name, table.name, keys)
    plan = _INSERTS.get(cache_key)
    if plan is None:
        plan = _INSERTS[cache_key] = (_unnest_plan if conn.dialect.name == "postgresql"
                                      else _executemany_plan)(conn.dialect, table, keys)
    plan(conn, rows)


def _executemany_plan(dialect: Any, table: Table, keys: tuple[str, ...]) -> Any:
    compiled = table.insert().compile(dialect=dialect, column_keys=list(keys))
    names = list(compiled.positiontup) if compiled.positional else list(keys)
    procs = [compiled._bind_processors.get(n) for n in names]
    sql, positional = compiled.string, compiled.positional

    def run(conn: Connection, rows: list[dict[str, Any]]) -> None:
        converted = [[(f(r[n]) if f else r[n]) for n, f in zip(names, procs, strict=True)]
                     for r in rows]
        params: list[Any] = ([tuple(v) for v in converted] if positional else
                             [dict(zip(names, v, strict=True)) for v in converted])
        conn.exec_driver_sql(sql, params)

    return run


def _unnest_plan(dialect: Any, table: Table, keys: tuple[str, ...]) -> Any:
    columns = [table.c[k] for k in keys]
    quote = dialect.identifier_preparer.quote
    # Array element types without lengths: a cast to varchar(n) would truncate silently,
    # the column's own type then refuses a value that is too long, as a plain INSERT does.
    types = [re.sub(r"\(.*?\)", "", c.type.compile(dialect=dialect)) for c in columns]
    names = ", ".join(quote(k) for k in keys)
    arrays = ", ".join(f"%s::{t}[]" for t in types)
    sql = f"INSERT INTO {quote(table.name)} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608
    convert = [_pg_converter(c, dialect) for c in columns]

    def run(conn: Connection, rows: list[dict[str, Any]]) -> None:
        arrays = tuple([f(r[k]) for r in rows] if f else [r[k] for r in rows]
                       for k, f in zip(keys, convert, strict=True))
        conn.exec_driver_sql(sql, arrays)

    return run


def _pg_converter(column: Any, dialect: Any) -> Any:
    impl = column.type.dialect_impl(dialect)
    if isinstance(column.type, TypeDecorator):
        return lambda v: column.type.process_bind_param(v, dialect)
    if isinstance(impl, JSON):
        if impl.none_as_null:
            return lambda v: None if v is None else json_dumps(v)
        return json_dumps  # None is stored as JSON null, as SQLAlchemy's JSON type does
    return None


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


@contextlib.contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit at the end, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
