"""The batched check path (sanctions/fastpath.py): same answers as the general route,
every answer written down before it is sent, and no stale facts after a local write."""

from __future__ import annotations

import asyncio
import sqlite3

import httpx
import pytest
from sqlalchemy import func, select

from chengxin.audit.service import GENESIS, chain_hash
from chengxin.rights.models import QueryLog
from chengxin.sanctions import fastpath, service
from chengxin.sanctions.models import Check
from tests.conftest import audit_rows
from tests.records.factories import EDU, pid, teacher_penalty


def _check(client, key, n, scenario="civil_service_hiring"):
    return client.post("/api/v1/check", headers=key,
                       json={"id_number": pid(n), "scenario": scenario, "purpose": "入职审查"})


@pytest.fixture
def key(client, users):
    """A department key, verified once by the general route (which caches it)."""
    k = users.api_key("410522-rsj")
    assert _check(client, k, 1).status_code == 200
    return k


def _engine(rt) -> fastpath.CheckEngine:
    return fastpath.engine_of(rt)


def test_served_by_the_engine_and_written_down(client, users, rt, key):
    client.post("/api/v1/records", headers=users.api_key(EDU), json=[teacher_penalty(2)])
    r = _check(client, key, 2)
    assert r.status_code == 200
    a = r.json()
    assert (a["status"], a["decision"]) == ("warning", "allow")
    assert a["subject"]["id_number_masked"] == pid(2)[:4] + "*" * 10 + pid(2)[-4:]
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-content-type-options"] == "nosniff"  # security headers wrap it too
    engine = _engine(rt)
    assert engine.writes.items >= 1  # this one went through the engine
    with rt.uow() as s:
        row = s.get(Check, a["check_id"])
        assert (row.status, row.decision, row.department_code) == ("warning", "allow", "410522-rsj")
        logged = s.scalar(select(QueryLog).where(QueryLog.person_id == row.person_id))
        assert (logged.channel, logged.purpose) == ("check", "入职审查")
        assert logged.organization  # the department's name, shown to the person
    entry = [e for e in audit_rows(rt, "check.run") if e.object_id == a["check_id"]]
    assert len(entry) == 1 and entry[0].details["decision"] == "allow"


def test_same_answer_as_the_general_route(client, users, rt, key):
    client.post("/api/v1/records", headers=users.api_key(EDU), json=[teacher_penalty(3)])
    fast = _check(client, key, 3).json()
    with rt.uow() as s:
        slow = service.run_check(s, actor=_actor(rt, key), id_number=pid(3),
                                 scenario="civil_service_hiring")
    fast.pop("check_id")
    slow.pop("check_id")
    assert fast == slow


def test_a_cached_person_checked_for_another_scenario(client, users, rt, key, monkeypatch):
    """The second scenario finds the person's facts in memory, unpacked from bytes, and
    the answer decided for the first is not reused for it."""
    client.post("/api/v1/records", headers=users.api_key(EDU), json=[teacher_penalty(9)])
    monkeypatch.setattr(_engine(rt).cache, "clock", lambda: 1000.0)  # nothing expires
    first = _check(client, key, 9).json()
    entries = dict(_engine(rt).cache.entries)
    second = _check(client, key, 9, scenario="licensing").json()
    assert _engine(rt).cache.entries == entries  # served from memory, not reloaded
    with rt.uow() as s:
        slow = service.run_check(s, actor=_actor(rt, key), id_number=pid(9),
                                 scenario="licensing")
    assert {k: v for k, v in second.items() if k != "check_id"} == {
        k: v for k, v in slow.items() if k != "check_id"}
    assert second["check_id"] != first["check_id"]
    assert [m["code"] for m in second["measures"]] == ["P15"] and first["measures"] == []


def test_the_cache_holds_nothing_the_collector_tracks(client, users, rt, key):
    """Entries are bytes and answers tuples of plain values: once the collector has seen
    them it stops tracking them, so a large cache adds nothing to its passes."""
    import gc

    client.post("/api/v1/records", headers=users.api_key(EDU), json=[teacher_penalty(10)])
    for n in (10, 11):  # one known person with a record, one unknown
        for scenario in ("civil_service_hiring", "awards"):
            assert _check(client, key, n, scenario).status_code == 200
    cache = _engine(rt).cache
    for _ in range(3):  # one pass per level of nesting
        gc.collect()
    assert len(cache.answers) >= 4
    held = [*cache.entries.items(), *cache.answers.items()]
    assert held and not [item for item in held if gc.is_tracked(item[1])]


def test_an_answer_is_reused_only_for_the_same_facts_day_and_reference():
    import datetime as dt

    from chengxin.sanctions.fastpath import FactsCache, Memo

    cache = FactsCache(ttl=1.0)
    packed, day = b"facts", dt.date(2026, 11, 30)
    memo = Memo(packed, day, 3, 7, b'{"status":"trustworthy"}',
                ("trustworthy", "allow", (), (), "x"))
    cache.remember("d", "awards", memo)
    assert cache.answer("d", "awards", packed, day, 3) == memo
    assert cache.answer("d", "awards", bytes(bytearray(packed)), day, 3) is None  # reloaded
    assert cache.answer("d", "awards", packed, day + dt.timedelta(days=1), 3) is None
    assert cache.answer("d", "awards", packed, day, 4) is None  # measures changed
    assert cache.answer("d", "civil_service_hiring", packed, day, 3) is None
    cache.clear()
    assert cache.answer("d", "awards", packed, day, 3) is None


def _actor(rt, key):
    from chengxin.accounts.security import hash_api_key

    token = key["Authorization"].removeprefix("Bearer ")
    return rt.caches["api_keys"][hash_api_key(token)][0]


def test_a_local_write_is_seen_at_once(client, users, rt, key):
    assert _check(client, key, 4).json()["status"] == "unknown"
    # The person becomes known and gets a record: the next check must see it, within
    # the cache's lifetime.
    client.post("/api/v1/records", headers=users.api_key(EDU), json=[teacher_penalty(4)])
    assert _check(client, key, 4).json()["status"] == "warning"


def test_another_process_write_is_seen_within_the_ttl(client, rt, key, monkeypatch):
    """A write the engine cannot see (here: straight through the driver, as another
    worker process's would be) shows once the facts' lifetime is over."""
    import time

    from chengxin.db import make_engine, make_sessionmaker
    from chengxin.subjects.service import resolve_person

    assert _check(client, key, 5).json()["status"] == "unknown"
    engine = _engine(rt)
    other = make_engine(rt.settings.database_url)  # no events of this engine's cache
    try:
        with make_sessionmaker(other)() as s:
            s.info["runtime"] = rt
            resolve_person(s, pid(5), "张三")
            s.commit()
    finally:
        other.dispose()
    assert _check(client, key, 5).json()["status"] == "unknown"  # still within the TTL
    # The cache's own clock only: the event loop keeps the real one.
    monkeypatch.setattr(engine.cache, "clock", lambda: time.monotonic() + engine.cache.ttl + 1)
    assert _check(client, key, 5).json()["status"] != "unknown"


def test_concurrent_checks_are_grouped_and_all_logged(app, client, users, rt, key):
    client.post("/api/v1/records", headers=users.api_key(EDU),
                json=[teacher_penalty(n) for n in range(10, 20)])
    engine = _engine(rt)
    before_batches, before_items = engine.writes.batches, engine.writes.items
    headers = dict(key)

    async def many():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as c:
            return await asyncio.gather(*(
                c.post("/api/v1/check", headers=headers,
                       json={"id_number": pid(10 + k % 10), "scenario": "awards"})
                for k in range(60)))

    responses = asyncio.run(many())
    assert [r.status_code for r in responses] == [200] * 60
    ids = {r.json()["check_id"] for r in responses}
    assert len(ids) == 60
    assert engine.writes.items - before_items == 60
    assert engine.writes.batches - before_batches < 60  # grouped, not one commit each
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(Check).where(Check.id.in_(ids))) == 60
        assert s.scalar(select(func.count()).select_from(QueryLog)
                        .where(QueryLog.channel == "check")) >= 60
    entries = audit_rows(rt)
    assert {e.object_id for e in entries if e.action == "check.run"} >= ids
    prev = GENESIS
    for e in entries:  # the chain is intact across group commits
        assert e.prev_hash == prev and e.hash == chain_hash(prev, {
            k: getattr(e, k) for k in ("seq", "at", "actor_type", "actor_id", "actor_role",
                                       "department_code", "action", "object_type", "object_id",
                                       "subject_person_id", "purpose", "outcome", "details")})
        prev = e.hash


def _refuse_boom(done):
    if any(d.purpose == "boom" for d in done):
        if len(done) > 1:
            raise RuntimeError("batch refused")  # the whole batch fails first…
        raise RuntimeError("this one is bad")   # …then only the bad one, alone


def test_a_failed_write_fails_only_its_own_request(app, client, rt, key, monkeypatch):
    original, original_async = service.store_direct, service.store_direct_async

    def store(conn, dialect, done, departments):  # SQLite's batches
        _refuse_boom(done)
        return original(conn, dialect, done, departments)

    async def store_async(conn, done, departments, head=None):  # PostgreSQL's, on the loop
        _refuse_boom(done)
        return await original_async(conn, done, departments, head)

    monkeypatch.setattr(service, "store_direct", store)
    monkeypatch.setattr(service, "store_direct_async", store_async)
    headers = dict(key)

    async def many():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await asyncio.gather(*(
                c.post("/api/v1/check", headers=headers,
                       json={"id_number": pid(30 + k), "scenario": "awards",
                             "purpose": "boom" if k == 3 else "ok"})
                for k in range(8)))

    responses = asyncio.run(many())
    codes = [r.status_code for r in responses]
    assert codes[3] == 500 and responses[3].json()["error"]["code"] == "internal_error"
    assert codes[:3] + codes[4:] == [200] * 7
    good = {r.json()["check_id"] for k, r in enumerate(responses) if k != 3}
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(Check).where(Check.id.in_(good))) == 7


def test_errors_take_the_general_route(client, users, key):
    r = client.post("/api/v1/check", headers=key, json={"id_number": "123", "scenario": "x"})
    assert r.status_code == 422
    assert {d["field"] for d in r.json()["error"]["details"]} == {"id_number", "scenario"}
    bad = client.post("/api/v1/check", headers=key, content=b"{not json")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    arr = client.post("/api/v1/check", headers=key, content=b"[1, 2]")
    assert arr.status_code == 422
    big = client.post("/api/v1/check", headers=key, content=b" " * (fastpath.MAX_BODY + 10)
                      + b'{"id_number": "%s", "scenario": "awards"}' % pid(1).encode())
    assert big.status_code == 200  # large but valid: the general route answers it
    wrong = client.post("/api/v1/check", headers={"Authorization": "Bearer cx_nope"},
                        json={"id_number": pid(1), "scenario": "awards"})
    assert wrong.status_code == 401
    users.add("staffer", "reviewer")
    assert client.post("/api/v1/check", headers=users.headers("staffer"),
                       json={"id_number": pid(1), "scenario": "awards"}).status_code == 403


def test_revoked_key_is_refused_at_once(client, users, key):
    users.add("keyadmin", "admin")
    admin = users.headers("keyadmin")
    keys = client.get("/api/v1/apikeys", headers=admin).json()
    newest = max(keys, key=lambda k: k["id"])
    assert client.delete(f"/api/v1/apikeys/{newest['id']}", headers=admin).status_code == 200
    r = client.post("/api/v1/check", headers=key, json={"id_number": pid(1), "scenario": "awards"})
    assert r.status_code == 401


def test_a_bulk_write_for_a_known_person_is_seen_at_once(client, users, key):
    """Records go in through COPY / the driver's executemany (chengxin.bulk), which the
    engine's statement events do not see: bulk notes the tables itself."""
    from tests.sanctions.test_check import _black_row

    edu = users.api_key(EDU)
    client.post("/api/v1/records", headers=edu, json=[teacher_penalty(6)])
    assert _check(client, key, 6).json()["status"] == "warning"
    row = {**_black_row(6), "subject_name": teacher_penalty(6)["subject_name"]}
    r = client.post("/api/v1/records", headers=edu, json=[row])
    assert r.json()["results"][0]["status"] == "created", r.text
    assert _check(client, key, 6).json()["status"] == "serious_dishonesty"


def test_a_held_sqlite_write_lock_sends_the_batch_to_the_thread(app, rt, key):
    """SQLite batches are tried on the event loop through connections that never wait; when
    another connection holds the write lock, the batch waits on the thread instead, and
    the loop keeps serving meanwhile."""
    if rt.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock; PostgreSQL's batches wait on the event loop")
    engine = _engine(rt)
    deferred = engine.writes.deferred
    headers = dict(key)

    async def scenario():
        blocker = sqlite3.connect(rt.engine.url.database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://t") as c:
                task = asyncio.create_task(c.post("/api/v1/check", headers=headers, json={
                    "id_number": pid(41), "scenario": "awards", "purpose": "锁"}))
                loop = asyncio.get_running_loop()
                # The lock is held until the write batch has gone to the thread (however long
                # the request takes to get there on a slow machine), and a while after, so
                # the thread is seen waiting. Meanwhile the loop must keep turning: the
                # longest gap between its 10 ms ticks is what the test measures.
                longest, last = 0.0, loop.time()
                deadline, after = last + 20, None
                while not task.done() and loop.time() < deadline:
                    await asyncio.sleep(0.01)
                    now = loop.time()
                    longest, last = max(longest, now - last), now
                    if after is None and engine.writes.deferred > deferred:
                        after = now
                    if after is not None and now - after > 0.2:
                        break
                waiting = not task.done()
                blocker.execute("ROLLBACK")
                return longest, waiting, await asyncio.wait_for(task, 20)
        finally:
            blocker.close()

    longest, waiting, response = asyncio.run(scenario())
    assert engine.writes.deferred == deferred + 1  # the write batch went to the thread
    assert longest < 2  # the loop was never stuck behind the lock (busy_timeout is 15 s)
    assert waiting  # no answer before its rows could be written
    assert response.status_code == 200
    with rt.uow() as s:
        assert s.get(Check, response.json()["check_id"]) is not None


def test_the_group_commit_writes_what_the_general_route_writes(client, users, rt, key):
    """The fast path writes on the driver connection, without the ORM session
    (service.store_direct): the same check row, query-log row and audit entry as
    service.store, apart from ids and times."""
    from chengxin.audit.models import AuditEntry

    client.post("/api/v1/records", headers=users.api_key(EDU), json=[teacher_penalty(6)])
    fast = _check(client, key, 6).json()["check_id"]
    engine = _engine(rt)
    assert engine.writes.items >= 1
    with rt.uow() as s:
        slow = service.run_check(s, actor=_actor(rt, key), id_number=pid(6),
                                 scenario="civil_service_hiring", purpose="入职审查")["check_id"]

    def written(check_id):
        with rt.uow() as s:
            c = s.get(Check, check_id)
            check = {k: getattr(c, k) for k in service._CHECK_COLUMNS if k not in ("id", "at")}
            entry = s.scalars(select(AuditEntry).where(AuditEntry.object_id == check_id)).one()
            audited = {k: getattr(entry, k) for k in (
                "actor_type", "actor_id", "actor_role", "department_code", "action",
                "object_type", "subject_person_id", "purpose", "outcome", "details")}
            return check, audited, c.at, c.person_id

    (fast_check, fast_audit, fast_at, person), (slow_check, slow_audit, slow_at, _) = (
        written(fast), written(slow))
    assert fast_check == slow_check and fast_check["status"] == "warning"
    assert fast_audit == slow_audit and fast_audit["details"]["decision"] == "allow"
    with rt.uow() as s:
        logged = s.scalars(select(QueryLog).where(QueryLog.person_id == person)
                           .order_by(QueryLog.id)).all()
    assert len(logged) == 2 and fast_at <= slow_at
    fields = ("channel", "actor", "actor_key", "organization", "purpose", "what",
              "authorization_id")
    assert [{k: getattr(q, k) for k in fields} for q in logged] == [
        {"channel": "check", "actor": logged[0].actor, "actor_key": logged[0].actor_key,
         "organization": "安阳县人力资源和社会保障局", "purpose": "入职审查", "what": "check",
         "authorization_id": None}] * 2


def test_store_direct_takes_api_keys_only():
    """Reads by users are watched for unusual patterns, which needs a session: the
    driver-connection path refuses them rather than skip the watch."""
    from chengxin.accounts.principal import cli_principal

    done = service.answered(cli_principal(), None, "awards", None,
                            ("unknown", "allow", (), (), "x"))
    with pytest.raises(ValueError, match="API keys only"):
        service.store_direct(None, None, [done], {})


def test_a_batcher_runs_on_a_thread_or_on_the_loop_not_both():
    """A batcher is given its thread function or its coroutine function: neither or both
    is a programming error, refused when it is built rather than at its first batch."""
    async def on_loop(items):
        return items

    def on_thread(items):
        return items

    with pytest.raises(ValueError, match="thread"):
        fastpath.Batcher(None, "neither")
    with pytest.raises(ValueError, match="thread"):
        fastpath.Batcher(on_thread, "both", awork=on_loop)
    for batcher in (fastpath.Batcher(on_thread, "thread"),
                    fastpath.Batcher(None, "loop", awork=on_loop)):
        try:
            assert asyncio.run(batcher.submit(7)) == 7
        finally:
            batcher.close()


def _head(rt) -> tuple[int, str]:
    from chengxin.audit.models import AuditEntry

    with rt.uow() as s:
        row = s.execute(select(AuditEntry.seq, AuditEntry.hash)
                        .order_by(AuditEntry.seq.desc()).limit(1)).one()
    return row.seq, row.hash


def test_a_write_batch_chains_on_the_head_it_wrote_and_yields_to_another_writer(
        client, users, rt, key, monkeypatch):
    """PostgreSQL: a write batch chains its audit entries after the head the previous
    batch wrote, without reading it first (one round trip). When another writer has
    appended since, the database refuses that batch whole, and it is written again
    after the head read under the lock, as are the batches of the pause that follows:
    every check answered and logged once, the chain whole."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's batches read the head under the write lock they hold")
    from chengxin.accounts.principal import cli_principal
    from chengxin.audit.service import record
    from chengxin.audit.verify import verify_chain

    engine = _engine(rt)
    given = []
    original = service.lock_chain_async

    async def spy(conn, head):
        given.append(head)
        return await original(conn, head)

    client.post("/api/v1/records", headers=users.api_key(EDU),
                json=[teacher_penalty(n) for n in (20, 21, 22, 23)])  # known: reads logged
    monkeypatch.setattr(service, "lock_chain_async", spy)
    first = _check(client, key, 20).json()["check_id"]
    assert engine._head == _head(rt)  # what the batch committed, as the database holds it
    written = engine._head
    with rt.uow() as s:  # another writer (a user's request, an import) comes between
        record(s, cli_principal(), "test.between")
    second = _check(client, key, 21).json()["check_id"]
    # Refused on the head it knew, then written with the head read under the lock (None).
    assert given[-2:] == [written, None]
    # For a while after a refusal the head is read under the lock, not guessed: another
    # writer that appends often would have every guess refused.
    third = _check(client, key, 22).json()["check_id"]
    assert given[-1] is None and engine._head[0] == written[0] + 3
    monkeypatch.setattr(engine, "_guess_from", 0.0)  # the pause is over
    before = engine._head
    fourth = _check(client, key, 23).json()["check_id"]
    assert given[-1] == before  # chained on the third's head without reading it
    assert engine._head == _head(rt) and engine._head[0] == written[0] + 4
    ids = [first, second, third, fourth]
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(Check).where(Check.id.in_(ids))) == 4
        assert s.scalar(select(func.count()).select_from(QueryLog)
                        .where(QueryLog.channel == "check")) == 4
        assert verify_chain(s).ok
    logged = [e.object_id for e in audit_rows(rt) if e.action == "check.run"]
    assert sorted(logged[-4:]) == sorted(ids)  # each once
    assert len(set(logged)) == len(logged)


def test_the_lock_function_refuses_a_head_that_has_moved(rt):
    """Migration 0011's audit_log_lock_at: the chain's advisory lock, then the head
    compared with the one given; a wrong one fails the transaction with HEAD_MOVED."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's function")
    import psycopg

    from chengxin.accounts.principal import cli_principal
    from chengxin.audit.service import _PG_LOCK_KEY, HEAD_MOVED, record

    with rt.uow() as s:
        record(s, cli_principal(), "test.head")
    seq, digest = _head(rt)
    url = rt.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        conn.execute("SELECT audit_log_lock_at(%s, %s)", (seq, digest))
        held = conn.execute("SELECT objid FROM pg_locks WHERE locktype = 'advisory' "
                            "AND pid = pg_backend_pid()").fetchall()
        assert held == [(_PG_LOCK_KEY,)]
        conn.rollback()
        for wrong in ((seq - 1, digest), (seq, "0" * 64), (seq + 1, digest)):
            with pytest.raises(psycopg.Error) as refused:
                conn.execute("SELECT audit_log_lock_at(%s, %s)", wrong)
            assert refused.value.sqlstate == HEAD_MOVED
            conn.rollback()


def _cut_connections(rt) -> int:
    """Terminate every other client connection to the test database (a restart, a
    failover, as the server's connections see it); how many were cut."""
    from sqlalchemy import text

    with rt.engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'")).scalar()


def test_a_lost_database_connection_fails_no_check(client, rt, key):
    """PostgreSQL: the group commit's own connection is cut between two checks (a server
    restart, a failover). The batch fails on it, and its checks are retried on a new
    connection: the caller gets its answer, and it is written down."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("a server connection to lose")
    engine = _engine(rt)
    assert _check(client, key, 7).status_code == 200  # the writer's connection is open
    cut = _cut_connections(rt)
    assert cut >= 1
    batches = engine.writes.batches
    r = _check(client, key, 7)
    assert r.status_code == 200
    assert engine.writes.batches == batches + 1  # answered through the engine
    with rt.uow() as s:
        assert s.get(Check, r.json()["check_id"]) is not None


def test_a_lost_connection_fails_no_read_batch(client, users, rt, key):
    """PostgreSQL: the read batches' connection is not pinged before use (a round trip
    each); when it was cut, the batch is read again on a new one."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("a server connection to lose")
    client.post("/api/v1/records", headers=users.api_key(EDU), json=[teacher_penalty(12)])
    engine = _engine(rt)
    assert _check(client, key, 11).status_code == 200  # the read batches' connection is open
    cut = _cut_connections(rt)
    assert cut >= 2  # the read and the write connections at least
    reads = engine.reads.batches
    r = _check(client, key, 12)  # never asked about: read from the database
    assert r.status_code == 200, r.text
    assert engine.reads.batches == reads + 1
    assert (r.json()["status"], r.json()["decision"]) == ("warning", "allow")
