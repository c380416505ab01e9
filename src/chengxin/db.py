"""Engine, sessions and the one unit of work per request or command.

Services never commit: the request (or CLI command) that called them commits once at the
end, or rolls back everything, so a use case that spans domains stays atomic.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    MetaData,
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


BUSY_TIMEOUT_MS = 15_000  # SQLite: how long a connection waits for another's write lock


def _sqlite_pragmas(busy_ms: int) -> Callable[[Any, Any], None]:
    """The connect listener of an SQLite engine whose connections wait `busy_ms` for
    another's write lock."""

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        _set_pragmas(dbapi_conn, busy_ms)

    return on_connect


def _set_pragmas(dbapi_conn: Any, busy_ms: int) -> None:
    # isolation_level=None hands transaction control to us (the SQLAlchemy recipe), so
    # that BEGIN IMMEDIATE below takes the write lock up front: a deferred transaction
    # that reads and then writes can fail with SQLITE_BUSY when another writer won.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _no_auto_checkpoint(dbapi_conn: Any, _record: Any) -> None:
    # A committing connection past 1000 WAL pages runs the checkpoint itself, fsync
    # included: tens of milliseconds inside a commit that many requests wait on. Such a
    # connection leaves checkpoints to `checkpoint()`, called off the request path.
    dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")


# SQLite starts the WAL over from its beginning only when a checkpoint has caught up with
# its end. Under writes that never pause (checks at full load), a PASSIVE checkpoint never
# does: frames are appended while it copies, and the file grew without end (measured,
# docs/scaling-history.md, tenth round: 0.7 GB in 13 s). Past this many frames `checkpoint`
# makes it catch up, which holds writers back for tens of milliseconds (measured), so
# only this rarely: every few seconds at the check's full load on 2 cores, never at an
# office's usual load, whose pauses let the WAL start over by itself.
WAL_RESTART_FRAMES = 65_536  # 256 MB of 4 KB pages
# How long that catching up may wait for the writer or readers in its way, holding new
# writers back meanwhile; a checkpoint that gives up is tried again at the next call.
RESTART_WAIT_MS = 20


def checkpoint(engine: Engine, restart_above: int | None = WAL_RESTART_FRAMES) -> int:
    """SQLite: copy the WAL back into the database without blocking anyone (PASSIVE); when
    the WAL is then longer than `restart_above` frames, copy what was written meanwhile
    and make the next writer start the WAL over (RESTART), holding writers back for that
    copy and at most RESTART_WAIT_MS more. A reader whose transaction lasts longer keeps
    any checkpoint from copying past its snapshot, so the WAL grows until it ends
    (docs/scaling.md §4). Returns the WAL's length in frames as found; 0 on other
    databases (nothing to do)."""
    if engine.dialect.name != "sqlite":
        return 0
    raw = engine.raw_connection()  # outside any transaction (autocommit connection)
    try:
        conn = raw.driver_connection
        _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if restart_above is not None and frames > restart_above:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # what came in during the first
            waits = conn.execute("PRAGMA busy_timeout").fetchone()[0]
            conn.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
            try:
                conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            finally:
                conn.execute(f"PRAGMA busy_timeout={int(waits)}")
        return frames
    finally:
        raw.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(conn: Any) -> None:
    # Read-only engines: one snapshot for all the statements of a read, no write lock.
    conn.exec_driver_sql("BEGIN")


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
        write_lock = kwargs.pop("write_lock", True)
        busy_ms = int(kwargs.pop("busy_timeout", BUSY_TIMEOUT_MS))
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(busy_ms))
        if not auto_checkpoint:
            event.listen(engine, "connect", _no_auto_checkpoint)
        event.listen(engine, "begin", _sqlite_begin if write_lock else _sqlite_begin_deferred)
        return engine
    for sqlite_only in ("auto_checkpoint", "write_lock", "busy_timeout"):
        kwargs.pop(sqlite_only, None)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_read_engine(url: str) -> Engine | None:
    """SQLite: a second engine for read-only work that must not queue behind writers —
    its transactions are deferred (no BEGIN IMMEDIATE), and WAL lets them read while a
    writer commits. None for server databases, whose reads never take a write lock."""
    return make_engine(url, write_lock=False) if url.startswith("sqlite") else None


TABLES_WRITTEN = "tables_written"  # connection.info key: tables this transaction wrote


def note_written(conn: Connection, table: str) -> None:
    """Record a write the engine's statement events cannot see (COPY, the driver's own
    executemany); listeners read the set at commit (sanctions/fastpath.py)."""
    conn.info.setdefault(TABLES_WRITTEN, set()).add(table)


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
