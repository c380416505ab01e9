"""The check as department systems call it: many requests, batched reads, group commit.

A department's business system calls `POST /api/v1/check` on every application it
processes. Done one request at a time, each check costs a transaction and a dozen
statements. Here the same rules (`service.validate_request`, `service.decide`,
`service.store`) run with three changes:

* **Facts in memory, briefly.** A person's facts (records, list entries, yearly statuses)
  are kept for `CHENGXIN_CHECK_CACHE_SECONDS` (default 1 s), keyed by the blind index
  of the ID number. A commit in this process that writes any table a check reads clears
  them at once (engine events, see `_watch_writes`); a commit in another worker process
  is seen within that time. The decided answer is kept too, per scenario and day. Both
  are kept as bytes and plain tuples, which the cyclic collector does not scan
  (`FactsCache`).
* **Batched reads.** Persons not in memory are loaded together: while one load runs,
  the requests that arrive queue up and go in the next, one query per table for all.
* **Group commit.** The check rows, query-log rows and audit entries of all requests
  waiting at that moment are written in one transaction, on the driver connection
  without an ORM session (`service.store_direct`: the same rows as `service.store`).
  A response is sent only after its rows are committed, so no answer is ever given
  that the log does not hold.
* **No thread hand-off.** SQLite's batches run on the event loop through connections
  that never wait for a lock, and go to a thread only when another writer holds the lock
  (see `Batcher`). PostgreSQL's run on the event loop too, as coroutines on two
  asynchronous connections, each batch one round trip in psycopg's pipeline mode (a
  write batch two when another writer has appended to the audit chain since this
  process's last; see `_LoopConnection`, `_load_pg`, `_store_pg`).

Everything unusual — a user token instead of an API key, a key not yet verified, a
missing permission, a body that is not a JSON object, invalid input — goes to the
general route (`sanctions/api.py`) unchanged, which answers with the same error format.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
import psycopg
from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from chengxin import clock
from chengxin.accounts.permissions import allowed
from chengxin.accounts.principal import Principal
from chengxin.accounts.security import API_KEY_PREFIX
from chengxin.audit.service import HEAD_MOVED
from chengxin.db import (
    TABLES_WRITTEN,
    checkpoint,
    make_engine,
    make_read_engine,
    make_sessionmaker,
    note_written,
)
from chengxin.deps import cached_api_key
from chengxin.errors import ValidationFailed
from chengxin.rights.querylog import department_names
from chengxin.runtime import Runtime
from chengxin.sanctions import service
from chengxin.sanctions.policy import CheckFacts
from chengxin.sanctions.repository import (
    PersonRef,
    facts_for_on,
    pack,
    persons_by_hash_on,
    read_async,
    unpack,
)
from chengxin.subjects.service import ID_DOMAIN

log = logging.getLogger("chengxin")

CHECK_PATH = "/api/v1/check"
MAX_CACHED = 100_000     # persons kept; beyond it the oldest half is dropped
MAX_BATCH = 512          # requests per read batch or per group commit
SMALL_BATCH = 16         # a batch smaller than this waits LINGER seconds for more
LINGER = 0.0005
MAX_BODY = 16 * 1024     # a check body is ~100 bytes; larger ones take the general route
REFERENCE_TTL = 1.0      # measures and scenarios: as reference/cache.py
# After another writer moved the audit chain's head under a write batch, the batches of
# the next this-many seconds read the head under the lock instead of guessing it: with
# a second worker or a busy office writing too, guessing would fail again and again.
HEAD_GUESS_PAUSE = 1.0

# Tables whose writes can change a check's answer.
WATCHED = frozenset({"credit_records", "record_states", "list_entries", "list_events",
                     "annual_statuses", "persons", "group_memberships", "change_log",
                     "catalog_items", "measures", "scenarios", "reference_loads"})
_WRITE = re.compile(r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY)\s+\"?(\w+)", re.I)


# --------------------------------------------------------------------------- memory


# A cached ID number: (expires, packed) where packed is repository.pack's bytes, or None
# for a number not known to the platform. Bytes, not objects: see repository.pack.
Entry = tuple[float, bytes | None]


class Memo(NamedTuple):
    """An answer decided from one entry's facts, for a scenario and a day: the answer's
    JSON without its check id, and what is stored of it. Kept as a plain tuple (see
    FactsCache.remember)."""
    packed: bytes | None  # the entry's bytes it was decided from: valid while that is cached
    day: dt.date
    reference: int  # _Reference.version
    person_id: int | None
    body: bytes
    said: service.Summary


class FactsCache:
    """Entries by blind index, and answers decided from them by (blind index, scenario).

    Nothing here holds an object the cyclic collector keeps tracking: the entries are
    bytes, the answers tuples of plain values. A cache of 100,000 persons as objects made
    the collector's passes take hundreds of milliseconds (repository.pack)."""

    def __init__(self, ttl: float, limit: int = MAX_CACHED) -> None:
        self.ttl = ttl
        self.limit = limit
        self.clock = time.monotonic  # replaceable: tests move it past the TTL
        self.entries: dict[str, Entry] = {}
        self.answers: dict[tuple[str, str], tuple[Any, ...]] = {}
        self.epoch = 0  # bumped by every clear: a load that straddles one is not kept
        self._lock = threading.Lock()

    def get(self, digest: str) -> Entry | None:
        entry = self.entries.get(digest)
        if entry is None or entry[0] < self.clock():
            return None
        return entry

    def answer(self, digest: str, scenario: str, packed: bytes | None, day: dt.date,
               reference: int) -> Memo | None:
        """The answer decided from these very facts (the same bytes object: a reload makes
        a new one) for this scenario, day and reference data, if there is one."""
        memo = self.answers.get((digest, scenario))
        if memo is None or memo[0] is not packed or memo[1] != day or memo[2] != reference:
            return None
        return Memo._make(memo)

    def remember(self, digest: str, scenario: str, memo: Memo) -> None:
        # Stored as an exact tuple: the collector stops tracking a tuple of untracked
        # values, never a named tuple.
        answers = self.answers
        if len(answers) >= self.limit:
            with self._lock:
                _drop_older_half(answers)
        answers[(digest, scenario)] = tuple(memo)

    def put_all(self, loaded: dict[str, Entry], epoch: int) -> None:
        with self._lock:
            if epoch != self.epoch:
                return
            if len(self.entries) + len(loaded) > self.limit:
                _drop_older_half(self.entries)
            self.entries.update(loaded)

    def clear(self) -> None:
        with self._lock:
            self.epoch += 1
            self.entries = {}
            self.answers = {}


def _drop_older_half(cached: dict[Any, Any]) -> None:
    # Dicts keep insertion order: the first half is the older one.
    for key in list(cached)[: len(cached) // 2]:
        cached.pop(key, None)


def _watch_writes(engine: Engine, cache: FactsCache) -> None:
    """Clear the cache when a transaction of this process that wrote a watched table
    commits. Statements are matched by their first words; bulk writes through the driver
    (chengxin.bulk) note their tables themselves (db.note_written)."""

    @event.listens_for(engine, "after_cursor_execute")
    def _seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        m = _WRITE.match(statement)
        if m:
            note_written(conn, m.group(1).lower())

    @event.listens_for(engine, "commit")
    def _committed(conn):  # type: ignore[no-untyped-def]
        if conn.info.pop(TABLES_WRITTEN, set()) & WATCHED:
            cache.clear()

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn):  # type: ignore[no-untyped-def]
        conn.info.pop(TABLES_WRITTEN, None)


# --------------------------------------------------------------------------- batching


_UNKNOWN = CheckFacts(known=False)


def _facts_of(entry: Entry) -> tuple[PersonRef | None, CheckFacts]:
    return (None, _UNKNOWN) if entry[1] is None else unpack(entry[1])


class WouldWait(Exception):
    """Raised by a Batcher's `first` function: this batch cannot be done without waiting
    (a lock is held elsewhere), so it goes to the batcher's thread instead."""


class Batcher:
    """Runs `work(items)` in one thread for all the items submitted while the previous
    batch ran. `work` returns one result per item; an exception instance as a result
    fails only that item's request.

    `first`, when given, is tried before `work` on the event loop's own thread. SQLite's
    work is CPU in this process either way, and handing it to a thread costs more than
    the work (the two threads and the server's own pass the GIL back and forth: measured
    about 100 µs of CPU per check over HTTP). `first` must never wait: it raises
    WouldWait (or fails in any way, having changed nothing) and the batch goes to
    `work` on the thread, which may wait."""

    def __init__(self, work: Callable[[list[Any]], Sequence[Any]] | None, name: str,
                 first: Callable[[list[Any]], Sequence[Any]] | None = None,
                 awork: Callable[[list[Any]], Awaitable[Sequence[Any]]] | None = None) -> None:
        if (work is None) == (awork is None):
            raise ValueError("a batcher runs its batches on a thread (work) or on the loop "
                             "(awork)")  # programming error
        self.work = work
        self.first = first
        self.awork = awork  # when given, batches run as this coroutine on the event loop
        self.executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pending: list[tuple[Any, asyncio.Future]] = []
        self.running = False
        self._task: asyncio.Task | None = None
        self.batches = 0  # counters: how well requests are grouped
        self.items = 0
        self.deferred = 0  # batches `first` handed to the thread

    async def submit(self, item: Any) -> Any:
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # a new event loop (tests, a restarted server): start over
            self.loop, self.pending, self.running = loop, [], False
        future = loop.create_future()
        self.pending.append((item, future))
        if not self.running:
            self.running = True
            self._task = loop.create_task(self._drain(loop))  # held: tasks are weakly kept
        return await future

    def _first(self, items: list[Any]) -> Sequence[Any] | None:
        if self.first is None:
            return None
        try:
            return self.first(items)
        except WouldWait:
            self.deferred += 1
        except Exception as exc:  # `work` runs the batch again and reports its error
            log.warning("check batch on the event loop failed (%s); retried on the thread",
                        type(exc).__name__)
            self.deferred += 1
        return None

    async def call(self, fn: Callable[[], Any]) -> Any:
        """Run one function on this batcher's thread (between batches)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    async def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while self.pending and self.loop is loop:
                if len(self.pending) < SMALL_BATCH:
                    # Let more requests join: a batch's cost is mostly per batch (a
                    # transaction, a commit), so waiting half a millisecond for company
                    # doubles throughput under load (measured) for 0.5 ms of latency.
                    # Under uvloop, which the server runs, timers count whole
                    # milliseconds and this wait is one pass of the loop (measured: 5 µs
                    # when idle): the requests that arrived with this one join it.
                    await asyncio.sleep(LINGER)
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                self.batches += 1
                self.items += len(batch)
                items = [item for item, _ in batch]
                try:
                    results = self._first(items)
                    if results is None and self.awork is not None:
                        results = await self.awork(items)
                    elif results is None:
                        assert self.work is not None
                        results = await loop.run_in_executor(self.executor, self.work, items)
                except BaseException as exc:
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            if self.loop is loop:
                self.running = False

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


# --------------------------------------------------------------------------- the engine


@dataclass
class _Reference:
    measures: list[dict[str, Any]]
    scenarios: set[str]
    departments: dict[str, str]  # code -> name, for the query log
    version: int
    expires: float


class CheckEngine:
    """One per process and runtime: see the module docstring."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.cache = FactsCache(ttl=rt.settings.check_cache_seconds)
        _watch_writes(rt.engine, self.cache)
        url = rt.settings.database_url
        self._own_engines: list[Engine] = []
        self._checkpointer: _Checkpointer | None = None
        read_engine = make_read_engine(url) or rt.engine
        write_engine = rt.engine
        read_now = write_now = None
        if rt.engine.dialect.name == "sqlite":
            # The group commit's own connection, which leaves WAL checkpoints to a
            # background thread instead of running them inside a commit many wait on.
            write_engine = make_engine(url, auto_checkpoint=False, pool_size=1)
            # Batches are first tried on the event loop (see Batcher), through connections
            # that never wait for a lock: busy means "to the thread" at once.
            read_now = make_engine(url, write_lock=False, pool_size=1, busy_timeout=0)
            write_now = make_engine(url, auto_checkpoint=False, pool_size=1, busy_timeout=0)
            self._own_engines = [read_engine, write_engine, read_now, write_now]
            self._checkpointer = _Checkpointer(write_engine)
        # PostgreSQL: each batcher has one asynchronous connection on the event loop, in
        # autocommit mode (a batch is one transaction in psycopg's pipeline, see _store_pg),
        # never pinged: a lost one is replaced, and its batch read again or its checks
        # written one by one (_load_pg, _write_pg). On threads, the batches' round trips
        # and the event loop took turns at the interpreter lock, and a batch of one or
        # two checks took two to eight times as long under light load as alone
        # (docs/scaling-history.md, seventh round).
        pg = rt.engine.dialect.name == "postgresql"
        self._read_conn = _LoopConnection(url, (_GENERIC_PLANS,)) if pg else None
        self._write_conn = _LoopConnection(url) if pg else None
        self._reads_from = make_sessionmaker(read_engine)
        self._read_engine, self._read_now_engine = read_engine, read_now
        self._write_engine, self._write_now_engine = write_engine, write_now
        self.reads = Batcher(None if pg else self._load, "check-read",
                             first=self._load_now if read_now else None,
                             awork=self._load_pg if pg else None)
        self.writes = Batcher(None if pg else self._write, "check-write",
                              first=self._write_now if write_now else None,
                              awork=self._write_pg if pg else None)
        self._reference: _Reference | None = None
        self._refreshing = False
        # PostgreSQL: the audit chain's head as the last write batch committed it, which
        # the next batch chains after without reading it first (see _store_pg), unless
        # another writer moved it less than HEAD_GUESS_PAUSE ago.
        self._head: tuple[int, str] | None = None
        self._guess_from = 0.0  # time.monotonic() from which the head is guessed again

    # -- reference data (measures, scenarios) -------------------------------------------
    def _load_reference(self) -> _Reference:
        with self._reads_from() as s:  # read-only: never queues behind a writer's lock
            s.info["runtime"] = self.rt
            measures, scenarios = service.current_measures(s), service.scenario_codes(s)
            departments = department_names(s)
            s.rollback()
        old = self._reference
        version = old.version + (old.measures is not measures) if old else 0
        return _Reference(measures, scenarios, departments, version,
                          time.monotonic() + REFERENCE_TTL)

    async def _reference_data(self) -> _Reference:
        ref = self._reference
        if ref is None:
            ref = self._reference = await self.reads.call(self._load_reference)
        elif ref.expires < time.monotonic() and not self._refreshing:
            self._refreshing = True
            try:
                ref = self._reference = await self.reads.call(self._load_reference)
            finally:
                self._refreshing = False
        return ref

    # -- the request ----------------------------------------------------------------------
    async def run(self, actor: Principal, body: dict[str, Any]) -> bytes:
        """Answer one check with the response's JSON; raises ValidationFailed for invalid
        input (nothing written)."""
        ref = await self._reference_data()
        scenario = body.get("scenario")
        id18 = service.validate_request(body.get("id_number"), scenario, ref.scenarios)
        digest = self.rt.blind.digest(id18, domain=ID_DOMAIN)
        entry = self.cache.get(digest)
        fresh = None  # (person, facts) as just read, when this request waited for a load
        if entry is None:
            entry, fresh = await self.reads.submit(digest)
        today = clock.today()
        memo = self.cache.answer(digest, scenario, entry[1], today, ref.version)
        if memo is None:
            person, facts = fresh or _facts_of(entry)
            decided = service.decide(id18, person, facts, scenario, ref.measures, today)
            memo = Memo(entry[1], today, ref.version, person.id if person else None,
                        orjson.dumps(decided), service.summary(decided))
            self.cache.remember(digest, scenario, memo)
        purpose = body.get("purpose")
        done = service.answered(actor, memo.person_id, scenario,
                                purpose if isinstance(purpose, str) else None, memo.said)
        await self.writes.submit(done)
        # {"check_id": ..., **decided}: the decided answer's JSON is an object, never empty.
        return b'{"check_id":"' + done.check_id.encode() + b'",' + memo.body[1:]

    # -- the batches' work ----------------------------------------------------------------
    def _load(self, digests: list[str], engine: Engine | None = None
              ) -> list[tuple[Entry, tuple[PersonRef | None, CheckFacts]]]:
        """Entries for the cache, each with the facts it was packed from, which the
        requests that waited for this load decide with (no unpacking)."""
        epoch = self.cache.epoch
        engine = engine or self._read_engine
        dialect = engine.dialect.name
        # One snapshot for all the reads, without the write lock.
        with _driver_transaction(engine, "BEGIN", commit=False) as conn:
            persons = persons_by_hash_on(conn, dialect, digests)
            facts = facts_for_on(conn, dialect, list(persons.values()))
        return self._entries(digests, persons, facts, epoch)

    async def _load_pg(self, digests: list[str]
                       ) -> list[tuple[Entry, tuple[PersonRef | None, CheckFacts]]]:
        """`_load` on PostgreSQL: the five reads in one round trip on the event loop; once
        more on a new connection when the batch's was lost (a server restart, a
        failover)."""
        assert self._read_conn is not None
        epoch = self.cache.epoch
        for attempt in (1, 2):
            conn = await self._read_conn.get()
            try:
                persons, facts = await read_async(conn, digests)
                break
            except Exception:
                with contextlib.suppress(Exception):
                    await conn.rollback()
                if attempt == 2 or not conn.closed:
                    raise  # an error of the reads themselves: the requests get it
                log.warning("check read batch: the database connection was lost; retried")
        return self._entries(digests, persons, facts, epoch)

    def _entries(self, digests: list[str], persons: dict[str, PersonRef],
                 facts: dict[int, CheckFacts], epoch: int
                 ) -> list[tuple[Entry, tuple[PersonRef | None, CheckFacts]]]:
        expires = self.cache.clock() + self.cache.ttl
        loaded, known = {}, {}
        for d in dict.fromkeys(digests):
            person = persons.get(d)
            if person is None:
                loaded[d], known[d] = (expires, None), (None, _UNKNOWN)
            else:
                loaded[d], known[d] = (expires, pack(person, facts[person.id])), (
                    person, facts[person.id])
        self.cache.put_all(loaded, epoch)
        return [(loaded[d], known[d]) for d in digests]

    def _load_now(self, digests: list[str]
                  ) -> list[tuple[Entry, tuple[PersonRef | None, CheckFacts]]]:
        with _busy_is_wait():
            return self._load(digests, self._read_now_engine)

    def _write_now(self, done: list[service.Answered]) -> list[Any]:
        with _busy_is_wait():
            self._store(done, self._write_now_engine)
        return [None] * len(done)

    def _store(self, done: list[service.Answered], engine: Engine | None = None) -> None:
        engine = engine or self._write_engine
        assert self._reference is not None  # run() loaded it before any check got here
        departments = self._reference.departments
        # The write lock, as every unit of work takes it.
        with _driver_transaction(engine, "BEGIN IMMEDIATE", commit=True) as conn:
            service.store_direct(conn, engine.dialect, done, departments)
        if self._checkpointer is not None:
            self._checkpointer.wrote()

    def _write(self, done: list[service.Answered]) -> list[Any]:
        try:
            self._store(done)
            return [None] * len(done)
        except Exception as exc:
            log.warning("check batch of %d failed (%s); retried one by one", len(done),
                        type(exc).__name__)
        # One bad item must not fail the others: write them one by one. A batch of one
        # is tried again too: a lost connection fails the first attempt only.
        results: list[Any] = []
        for item in done:
            try:
                self._store([item])
                results.append(None)
            except Exception as exc:
                results.append(exc)
        return results

    async def _write_pg(self, done: list[service.Answered]) -> list[Any]:
        """`_write` on PostgreSQL, on the event loop."""
        try:
            await self._store_pg(done)
            return [None] * len(done)
        except Exception as exc:
            log.warning("check batch of %d failed (%s); retried one by one", len(done),
                        type(exc).__name__)
        results: list[Any] = []
        for item in done:
            try:
                await self._store_pg([item])
                results.append(None)
            except Exception as exc:
                results.append(exc)
        return results

    async def _store_pg(self, done: list[service.Answered]) -> None:
        """One round trip when the audit chain's head is still the one this process last
        wrote: the chain's lock with a check of that head, and one insert into the three
        tables, committed by the pipeline's sync (no BEGIN: the statements up to a sync
        are one transaction). Two when it is not known or another writer has appended
        since: BEGIN, the lock, the head read under it and fetched, the insert, COMMIT;
        after such a refusal, for HEAD_GUESS_PAUSE seconds."""
        assert self._write_conn is not None and self._reference is not None
        departments = self._reference.departments
        conn = await self._write_conn.get()
        head, self._head = self._head, None  # unknown again until a commit says otherwise
        try:
            if head is not None and time.monotonic() >= self._guess_from:
                try:
                    async with conn.pipeline():
                        self._head = await service.store_direct_async(
                            conn, done, departments, head)
                    return
                except psycopg.Error as exc:
                    if exc.sqlstate != HEAD_MOVED:
                        raise
                    self._guess_from = time.monotonic() + HEAD_GUESS_PAUSE
            async with conn.pipeline():
                await conn.execute("BEGIN")
                new_head = await service.store_direct_async(conn, done, departments)
                await conn.execute("COMMIT")
            self._head = new_head
        except BaseException:
            # A lost connection fails this rollback too; the next batch gets a new one.
            with contextlib.suppress(Exception):
                await conn.rollback()
            raise

    def close(self) -> None:
        for held in (self._read_conn, self._write_conn):
            if held is not None:
                held.close()
        self.reads.close()
        self.writes.close()
        if self._checkpointer is not None:
            self._checkpointer.stop()
        for engine in self._own_engines:
            engine.dispose()


class _Checkpointer:
    """SQLite: checkpoints the WAL about once a second while checks are being written."""

    def __init__(self, engine: Engine, every: float = 1.0) -> None:
        self.engine = engine
        self.every = every
        self._dirty = threading.Event()
        self._stopped = threading.Event()
        threading.Thread(target=self._run, name="check-checkpoint", daemon=True).start()

    def wrote(self) -> None:
        self._dirty.set()

    def stop(self) -> None:
        self._stopped.set()
        self._dirty.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._dirty.wait()
            if self._stopped.wait(self.every):
                return
            self._dirty.clear()
            with contextlib.suppress(Exception):  # busy now: the next round does it
                checkpoint(self.engine)


@contextlib.contextmanager
def _driver_transaction(engine: Engine, sqlite_begin: str, *, commit: bool) -> Iterator[Any]:
    """A transaction on a pooled driver connection, without an ORM session: for a batch
    of a few dozen checks the session's own work (begin, flush, events, the ORM select of
    the audit chain's head) cost more than the rows (measured). SQLite begins with
    `sqlite_begin`; psycopg begins by itself. Ends with a commit when `commit` is true
    and the block succeeded, else with a rollback."""
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        if engine.dialect.name == "sqlite":
            conn.execute(sqlite_begin)
        try:
            yield conn
        except BaseException:
            # A lost connection fails this rollback, and then the pool's own on return,
            # which drops it: a retry gets a new one.
            with contextlib.suppress(Exception):
                conn.rollback()
            raise
        if commit:
            conn.commit()
        else:
            conn.rollback()
    finally:
        raw.close()


class _LoopConnection:
    """A psycopg AsyncConnection (autocommit) for one batcher, made on first use in the
    running event loop and made again when it was lost or the loop changed (tests run
    one loop after another; a connection belongs to the loop it was made in).

    `setup`: statements run once on each new connection."""

    def __init__(self, url: str, setup: tuple[str, ...] = ()) -> None:
        self.url = make_url(url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self.setup = setup
        self.conn: psycopg.AsyncConnection | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def get(self) -> psycopg.AsyncConnection:
        loop = asyncio.get_running_loop()
        if self.conn is None or self.conn.closed or self.loop is not loop:
            self.close()
            conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            for statement in self.setup:
                await conn.execute(statement)
            self.conn, self.loop = conn, loop
        return self.conn

    def close(self) -> None:
        # Synchronous, from any thread: closing the socket needs no event loop.
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.pgconn.finish()


# The read batches' statements, once psycopg has prepared them (their fifth run), keep one
# plan instead of being planned again on every run. PostgreSQL's default ("auto") kept
# planning them: a plan for `= ANY(array)` made without the array is estimated dearer
# than one made for a batch of a few keys, so it was never chosen, and planning the five
# reads cost more server time than running them (measured, batch of one person: 0.6-0.7
# ms of the server's CPU, 0.14-0.17 ms with one plan; docs/scaling-history.md, eighth
# round). The one plan is what EXPLAIN shows for them anyway: index searches from the
# keys. ANALYZE invalidates it, so it follows the tables' statistics as they grow.
_GENERIC_PLANS = "SET plan_cache_mode = force_generic_plan"

_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


@contextlib.contextmanager
def _busy_is_wait() -> Iterator[None]:
    """SQLite's "database is locked" (another writer, or a reader during WAL recovery) on a
    connection that does not wait: WouldWait, so the batch goes to the thread."""
    try:
        yield
    except (OperationalError, sqlite3.OperationalError) as exc:
        # The batches' statements meet the driver's error bare; SQLAlchemy wraps it when
        # the pool opens a connection (its pragmas).
        code = getattr(getattr(exc, "orig", exc), "sqlite_errorcode", None)
        if code is not None and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED):
            raise WouldWait from exc
        raise


def engine_of(rt: Runtime) -> CheckEngine:
    engine = rt.caches.get("check_engine")
    if engine is None:
        engine = rt.caches["check_engine"] = CheckEngine(rt)
    return engine


# --------------------------------------------------------------------------- ASGI


class CheckFastPath:
    """Serves `POST /api/v1/check` for verified department API keys through the engine,
    ahead of the framework's middleware stack; hands every other case to `fallback`
    (the whole application), which answers errors in the usual format."""

    def __init__(self, fallback: Callable, runtime: Runtime,
                 headers: list[tuple[bytes, bytes]]) -> None:
        self.fallback = fallback
        self.rt = runtime
        self.headers = [(b"content-type", b"application/json"), *headers]

    @staticmethod
    def wants(scope: dict) -> bool:
        return (scope["type"] == "http" and scope["path"] == CHECK_PATH
                and scope["method"] == "POST")

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        actor = self._actor(scope)
        if actor is None:
            await self.fallback(scope, receive, send)
            return
        body, complete = await _read_body(receive)
        parsed = _json_object(body) if complete else None
        if parsed is None:
            await self.fallback(scope, _replay(body, complete, receive), send)
            return
        try:
            answer = await engine_of(self.rt).run(actor, parsed)
        except ValidationFailed:
            # The general route gives the same 422 with its details and format.
            await self.fallback(scope, _replay(body, complete, receive), send)
            return
        except Exception as exc:
            log.error("unhandled %s on POST %s", type(exc).__name__, CHECK_PATH)
            await self._send(send, 500, orjson.dumps({"error": {
                "code": "internal_error", "message": "服务器内部错误，请稍后重试", "details": []}}))
            return
        await self._send(send, 200, answer)

    async def _send(self, send: Callable, status: int, payload: bytes) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [*self.headers, (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

    def _actor(self, scope: dict) -> Principal | None:
        """A department API key already verified (and cached) by this process, allowed to
        run checks; None sends the request the general way, which verifies and caches it."""
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, rest = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    token = rest.strip()
                break
        if not token or not token.startswith(API_KEY_PREFIX):
            return None
        _, actor = cached_api_key(self.rt, token)
        if actor is None or actor.totp_pending or not allowed(actor, "check.run"):
            return None
        return actor


async def _read_body(receive: Callable) -> tuple[bytes, bool]:
    """The request body, up to MAX_BODY; `complete` is False when there is more."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_BODY:
            return b"".join(chunks), False


def _json_object(body: bytes) -> dict[str, Any] | None:
    with contextlib.suppress(orjson.JSONDecodeError):
        value = orjson.loads(body)
        if isinstance(value, dict):
            return value
    return None


def _replay(body: bytes, complete: bool, receive: Callable) -> Callable:
    """A `receive` that gives the app the part of the body already read, then the rest."""
    sent = False

    async def replayed() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replayed
