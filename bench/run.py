"""Chengxin benchmarks, each as a ratio to a baseline measured in the same run.

    .venv/bin/python bench/run.py --quick            # < 5 min on 2 cores, SQLite + PostgreSQL
    .venv/bin/python bench/run.py --tiny             # CI smoke: a few hundred rows, 2 s loads
    .venv/bin/python bench/run.py --full             # 1,000,000 persons, 10,000,000 records (PG)
    .venv/bin/python bench/run.py --quick --only report,check   # a subset (data loaded anyway)

One JSON line per benchmark on stdout: {"name", "value", "unit", "baseline", "ratio", ...}
(extra keys: backend, rows, goal, met, note). Progress goes to stderr. Every run uses a
fresh temporary directory and fresh databases (PostgreSQL: `chengxin_bench_<pid>` on the
server of --pg-url, never an existing database) and removes them at the end.

Internal subcommands (run as separate processes): `_import` (one import job, timed,
peak memory measured by the parent with os.wait4), `_bulk` (one PostgreSQL bulk-load
worker, see datagen.BulkWriter), `_load` (the Python HTTP load generator, used when
wrk is not installed) and `_paced` (the open-loop generator of the paced latency runs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import datagen  # noqa: E402

PY = sys.executable
SCENARIO = "civil_service_hiring"
CHECK_PATH = "/api/v1/check"
DEFAULT_PG = os.environ.get("CHENGXIN_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class Size:
    name: str
    persons: int
    base_records: int        # data set loaded before the measured import (full: bulk path)
    import_rows: dict        # backend -> rows of the measured import
    load_seconds: float
    warmup_seconds: float
    reports: int
    cold_persons: int        # distinct persons of the check_http_cold body list
    paced_rate: float = 500  # req/s offered by the paced (open-loop) latency runs
    bulk_workers: int = 2


SIZES = {
    # tiny: CI's smoke test runs it on both backends within a minute (three loads each)
    "tiny": Size("tiny", 100, 0, {"sqlite": 300, "postgresql": 300}, 2, 0.5, 20, 100, 100),
    # quick: the 100,000-row import (import_peak_mb) runs on SQLite; PostgreSQL's import
    # is smaller because without fresh planner statistics it slows as the table grows
    # (see docs/scaling.md) and quick mode must stay under 5 minutes on 2 cores.
    # cold_persons: the distinct persons of check_http_cold, capped to keep the body list
    # (and wrk's Lua table) small; quick: all of its 10,000 persons
    "quick": Size("quick", 10_000, 0, {"sqlite": 100_000, "postgresql": 30_000}, 10, 2, 200,
                  10_000),
    "full": Size("full", 1_000_000, 9_000_000, {"sqlite": 100_000, "postgresql": 1_000_000},
                 30, 5, 1000, 200_000),
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def emit(name: str, value: float, unit: str, baseline: float, ratio: float, **extra: Any) -> dict:
    line = {"name": name, "value": round(value, 3), "unit": unit, "baseline": round(baseline, 3),
            "ratio": round(ratio, 4), **extra}
    print(json.dumps(line, ensure_ascii=False), flush=True)
    return line


# --------------------------------------------------------------------------- environment


@dataclass
class Env:
    backend: str
    tmp: Path
    url: str
    admin_url: str | None = None
    dbname: str | None = None
    extra_dbs: list[str] = field(default_factory=list)

    @property
    def key_file(self) -> Path:
        return self.tmp / "keys.json"

    def environ(self, url: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHENGXIN_")}
        env.update(CHENGXIN_DATABASE_URL=url or self.url, CHENGXIN_KEY_FILE=str(self.key_file),
                   CHENGXIN_STORAGE_DIR=str(self.tmp / "var"), CHENGXIN_LOG_LEVEL="WARNING",
                   PYTHONPATH=os.pathsep.join(
                       filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        return env

    def settings(self, url: str | None = None):  # type: ignore[no-untyped-def]
        from chengxin.config import Settings

        return Settings(database_url=url or self.url, key_file=self.key_file,
                        storage_dir=self.tmp / "var", token_key=None, field_key=None,
                        blind_index_key=None, signing_key=None)

    def runtime(self, url: str | None = None):  # type: ignore[no-untyped-def]
        from chengxin.runtime import build_runtime

        return build_runtime(self.settings(url))


def _pg_admin(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(_psycopg_url(url))
    return u.set(database="postgres").render_as_string(hide_password=False)


def _pg_url_for(admin_url: str, db: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(admin_url).set(database=db).render_as_string(hide_password=False)


def _pg_exec(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def make_env(backend: str, pg_url: str, suffix: str = "", keys_from: Env | None = None) -> Env:
    """A fresh, initialised environment; `suffix` tells apart several in one process,
    `keys_from` gives it another environment's keys (same blind index, same ciphers)."""
    from chengxin.cli import do_init

    tmp = Path(tempfile.mkdtemp(prefix=f"chengxin-bench-{backend}-"))
    if backend == "sqlite":
        env = Env("sqlite", tmp, f"sqlite:///{tmp / 'bench.db'}")
    else:
        admin = _pg_admin(pg_url)
        name = f"chengxin_bench_{os.getpid()}{suffix}"
        _pg_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _pg_exec(admin, f'CREATE DATABASE "{name}"')
        env = Env("postgresql", tmp, _pg_url_for(admin, name), admin, name)
    from chengxin.keys import new_key_material, write_key_file

    if keys_from is not None:
        shutil.copyfile(keys_from.key_file, env.key_file)
    else:
        write_key_file(env.key_file, new_key_material())
    do_init(env.settings())
    return env


def drop_env(env: Env) -> None:
    if env.backend == "postgresql" and env.admin_url:
        for name in [env.dbname, *env.extra_dbs]:
            with contextlib.suppress(Exception):
                _pg_exec(env.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.rmtree(env.tmp, ignore_errors=True)


def today() -> dt.date:
    from chengxin import clock

    return clock.today()


# --------------------------------------------------------------------------- ingest


def run_import_measured(env: Env, csv_path: Path, analyze_every: int = 0) -> tuple[dict, float]:
    environ = env.environ()
    if analyze_every:
        environ["CHENGXIN_BENCH_ANALYZE_EVERY"] = str(analyze_every)
    proc = subprocess.Popen([PY, str(Path(__file__)), "_import", str(csv_path)],  # noqa: S603
                            env=environ, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"import failed ({proc.returncode}): {out.decode()[-2000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return result, result.get("hwm_mb") or usage.ru_maxrss / 1024


def _import_main(csv_path: str) -> None:
    """Subprocess body: the same calls as `chengxin import` (create_job + run_job)."""
    from chengxin.accounts.principal import Principal, Role
    from chengxin.config import Settings
    from chengxin.gcpolicy import tune_for_throughput
    from chengxin.records import imports
    from chengxin.runtime import build_runtime

    tune_for_throughput()  # as `chengxin`'s main() does before any command
    rt = build_runtime(Settings())
    actor = Principal(kind="system", role=Role.SYSTEM, id="bench",
                      department_code=datagen.DEPARTMENT, label="bench-import")
    path = Path(csv_path)
    job_id = imports.create_job(rt, actor=actor, department_code=datagen.DEPARTMENT, source=path,
                                filename=path.name, item_code=None)
    every = int(os.environ.get("CHENGXIN_BENCH_ANALYZE_EVERY", "0"))
    if every and rt.engine.dialect.name == "postgresql":
        _patch_analyze(imports, every)
    t0 = time.perf_counter()
    job = imports.run_job(rt, job_id)
    seconds = time.perf_counter() - t0
    rt.dispose()
    print(json.dumps({"hwm_mb": _vm_hwm_mb(), "job": job_id, "status": job.status,
                      "created": job.created,
                      "updated": job.updated, "unchanged": job.unchanged,
                      "rejected": job.rejected, "held": job.held, "seconds": seconds}))


def _patch_analyze(imports: Any, every: int) -> None:
    """Experiment (--analyze-every): ANALYZE the tables ingestion reads every N chunks,
    as a proposed change to imports.run_job would. Off by default: the real code runs."""
    from sqlalchemy import text

    original = imports._chunk
    count = [0]

    def chunk(rt, job_id, *a, **kw):  # type: ignore[no-untyped-def]
        job = original(rt, job_id, *a, **kw)
        count[0] += 1
        if count[0] % every == 1 or every == 1:
            with rt.engine.connect() as conn:
                conn.execute(text("ANALYZE credit_records, persons, record_versions, "
                                  "group_memberships, list_entries, change_log"))
                conn.commit()
        return job

    imports._chunk = chunk


def analyze(env: Env) -> None:
    """Fresh statistics before the read benchmarks, as autovacuum would have made them on a
    server where it is on (it is off on some CI/dev servers: then plans are built for
    empty tables)."""
    if env.backend == "postgresql":
        import psycopg

        with psycopg.connect(_psycopg_url(env.url),
                             autocommit=True) as conn:
            conn.execute("ANALYZE")
    else:
        import sqlite3

        with contextlib.closing(sqlite3.connect(env.url.removeprefix("sqlite:///"))) as conn:
            conn.execute("ANALYZE")


def _idle_main() -> None:
    """Subprocess body for the memory floor: the runtime built, nothing imported."""
    from chengxin.config import Settings
    from chengxin.gcpolicy import tune_for_throughput
    from chengxin.records import imports  # noqa: F401 - same modules loaded as an import
    from chengxin.runtime import build_runtime

    tune_for_throughput()  # as the import process
    rt = build_runtime(Settings())
    with rt.uow() as s:
        from sqlalchemy import text

        s.execute(text("SELECT 1"))
    rt.dispose()
    print(json.dumps({"hwm_mb": _vm_hwm_mb()}))


def _vm_hwm_mb() -> float | None:
    """This process's own peak RSS. Preferred to wait4's ru_maxrss, which on Linux also
    counts the parent's resident size at fork time (the high-water mark survives exec)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def idle_peak_mb(env: Env) -> float:
    proc = subprocess.Popen([PY, str(Path(__file__)), "_idle"], env=env.environ(),  # noqa: S603
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)
    hwm = json.loads(out.decode().strip().splitlines()[-1] or "{}").get("hwm_mb")
    return hwm or usage.ru_maxrss / 1024


def raw_baseline(env: Env, start: int, stop: int, persons: int, tag: str) -> float:
    """Rows/s of the same rows loaded raw into a copy of credit_records with its indexes:
    COPY (PostgreSQL) or executemany in one transaction (SQLite)."""
    now = dt.datetime.now(dt.UTC)
    d = today()
    rows = (datagen.raw_values(j, persons, d, tag, now) for j in range(start, stop))
    cols = ", ".join(datagen.RAW_COLUMNS)
    if env.backend == "postgresql":
        import psycopg

        with psycopg.connect(_psycopg_url(env.url)) as conn:
            conn.execute("DROP TABLE IF EXISTS bench_raw")
            conn.execute("CREATE TABLE bench_raw (LIKE credit_records INCLUDING DEFAULTS "
                         "INCLUDING INDEXES INCLUDING IDENTITY)")
            conn.commit()
            t0 = time.perf_counter()
            with conn.cursor() as cur, cur.copy(f"COPY bench_raw ({cols}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
            conn.commit()
            seconds = time.perf_counter() - t0
            conn.execute("DROP TABLE bench_raw")
            conn.commit()
    else:
        import sqlite3

        path = env.url.removeprefix("sqlite:///")
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        ddl = [r[0] for r in conn.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name='credit_records' AND sql IS NOT NULL")]
        conn.execute("DROP TABLE IF EXISTS bench_raw")
        for stmt in ddl:  # table first (sqlite_master lists it first), then its indexes
            stmt = stmt.replace("credit_records", "bench_raw").replace("uq_", "bench_uq_") \
                .replace("ix_", "bench_ix_")
            if "REFERENCES" in stmt:  # no foreign keys on the raw copy
                import re

                stmt = re.sub(r",\s*(CONSTRAINT \w+ )?FOREIGN KEY\([^)]*\) REFERENCES [^)]*\)",
                              "", stmt)
            conn.execute(stmt)
        conn.commit()
        qs = ", ".join("?" for _ in datagen.RAW_COLUMNS)
        sql = f"INSERT INTO bench_raw ({cols}) VALUES ({qs})"  # noqa: S608 - our constants
        conv = (tuple(v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for v in r)
                for r in rows)
        t0 = time.perf_counter()
        batch: list[tuple] = []
        for r in conv:
            batch.append(r)
            if len(batch) >= 10_000:
                conn.executemany(sql, batch)
                batch = []
        if batch:
            conn.executemany(sql, batch)
        conn.commit()
        seconds = time.perf_counter() - t0
        conn.execute("DROP TABLE bench_raw")
        conn.commit()
        conn.close()
    return (stop - start) / seconds


def bench_ingest(env: Env, size: Size, tag: str, args_analyze_every: int = 0) -> list[dict]:
    n = size.import_rows[env.backend]
    start = size.base_records
    path = env.tmp / f"import-{n}.csv"
    written = datagen.write_csv(path, start, start + n, size.persons, today(), tag)
    log(f"{env.backend}: importing {written} rows through imports.create_job + run_job")
    result, peak_mb = run_import_measured(env, path, args_analyze_every)
    accepted = result["created"] + result["updated"] + result["unchanged"]
    if accepted != written:
        log(f"warning: {written - accepted} rows not accepted: {result}")
    rate = written / result["seconds"]
    log(f"{env.backend}: raw baseline for the same {written} rows")
    raw = raw_baseline(env, start, start + n, size.persons, f"{tag}RAW")
    path.unlink()
    note = ("baseline: raw " + ("COPY" if env.backend == "postgresql" else "executemany")
            + " into a copy of credit_records with the same indexes")
    if env.backend == "postgresql":
        note += f"; server autovacuum={_pg_setting(env, 'autovacuum')}"
        if args_analyze_every:
            note += f"; EXPERIMENT: ANALYZE every {args_analyze_every} chunks (monkeypatched)"
    lines = [emit(f"ingest_{env.backend}", rate, "rows/s", raw, rate / raw, backend=env.backend,
                  rows=written, goal=">= 0.5", met=rate / raw >= 0.5, note=note)]
    floor = idle_peak_mb(env)
    lines.append(emit("import_peak_mb", peak_mb, "MB", floor, peak_mb / floor, backend=env.backend,
                      rows=written, goal="< 300 MB at 1,000,000 rows", met=peak_mb < 300,
                      note=f"peak RSS (VmHWM) of a {written:,}-row import process; "
                           "baseline: the same process with the runtime built and no rows"))
    return lines


def _pg_setting(env: Env, name: str) -> str:
    import psycopg

    with psycopg.connect(_psycopg_url(env.url)) as conn:
        return str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]


BULK_LABEL = "bench-bulk"


def bulk_load(env: Env, records: int, persons: int, tag: str, workers: int = 2,
              label: str = BULK_LABEL) -> float:
    """Write records 0..records-1 (and their persons) straight into the tables, see
    datagen.BulkWriter. PostgreSQL: `workers` processes, one slice of persons each, COPY;
    SQLite (one writer at a time anyway): in this process, executemany. Returns seconds."""
    if not records:
        return 0.0
    t0 = time.perf_counter()
    d, now = today(), dt.datetime.now(dt.UTC)
    source = f"bulk:{tag}"
    if env.backend == "postgresql":
        log(f"postgresql: bulk loading {records:,} records (COPY, {workers} processes)")
        args = [str(records), str(persons), tag, d.isoformat(), now.isoformat(), label, source]
        procs = [subprocess.Popen([PY, str(Path(__file__)), "_bulk", f"{k}/{workers}", *args],  # noqa: S603
                                  env=env.environ()) for k in range(workers)]
        if not _wait_all(procs):
            raise RuntimeError("bulk load failed (see the worker's error above)")
        _pg_fix_sequences(env.url)
    else:
        log(f"sqlite: bulk loading {records:,} records (executemany, 1 process)")
        rt = env.runtime()
        try:
            _bulk_write(rt, records, persons, tag, d, now, label, source, (0, 1))
        finally:
            rt.dispose()
    took = time.perf_counter() - t0
    size = f", database {_pg_size(env.url)}" if env.backend == "postgresql" else ""
    log(f"{env.backend}: bulk loaded {records:,} records in {took:,.1f}s "
        f"({records / took:,.0f} records/s){size}")
    return took


def _wait_all(procs: list[subprocess.Popen]) -> bool:
    """Wait for every worker; stop the others as soon as one fails (a failed slice makes
    the whole load useless, and the others may run for many minutes)."""
    while any(p.poll() is None for p in procs):
        if any(p.returncode not in (None, 0) for p in procs):
            for p in procs:
                if p.poll() is None:
                    p.terminate()
                    p.wait()
            break
        time.sleep(0.5)
    return all(p.returncode == 0 for p in procs)


def _pg_size(url: str) -> str:
    import psycopg

    with psycopg.connect(_psycopg_url(url)) as conn:
        return str(conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))"
                                ).fetchone()[0])  # type: ignore[index]


def _bulk_main(slice_: str, records: str, persons: str, tag: str, day: str, now: str,
               label: str, source: str) -> None:
    """Subprocess body of one PostgreSQL bulk-load worker."""
    from chengxin.config import Settings
    from chengxin.runtime import build_runtime

    k, n = (int(x) for x in slice_.split("/"))
    rt = build_runtime(Settings())
    _bulk_write(rt, int(records), int(persons), tag, dt.date.fromisoformat(day),
                dt.datetime.fromisoformat(now), label, source, (k, n))
    rt.dispose()


def _bulk_write(rt: Any, records: int, persons: int, tag: str, day: dt.date, now: dt.datetime,
                label: str, source: str, slice_: tuple[int, int]) -> None:
    w = datagen.BulkWriter(rt, persons, day, now, tag, label, source)
    blocks = datagen.bulk_blocks(w, records, slice_)
    if rt.engine.dialect.name == "postgresql":
        _pg_copy_blocks(rt.settings.database_url, blocks, slice_)
        return
    from chengxin.db import Base

    with rt.engine.begin() as conn:  # one transaction: SQLite's fastest way in
        for block in blocks:
            for table, rows in block.items():
                if rows:
                    conn.execute(Base.metadata.tables[table].insert(), rows)


def _pg_copy_blocks(url: str, blocks: Any, slice_: tuple[int, int]) -> None:
    """COPY each block's rows, one transaction per block. Foreign-key triggers are off
    (session_replication_role = replica): the rows are consistent by construction, and a
    per-row FK lookup would cost more than the COPY itself."""
    import orjson
    import psycopg

    t0, done, rounds = time.perf_counter(), 0, 0
    with psycopg.connect(_psycopg_url(url)) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET synchronous_commit = off")
        for block in blocks:
            for table, rows in block.items():
                if not rows:
                    continue
                cols = list(rows[0])
                json_cols = {i for i, c in enumerate(cols) if c == "payload"}
                with conn.cursor() as cur, cur.copy(
                        f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                    for row in rows:
                        values = list(row.values())
                        for i in json_cols:
                            values[i] = orjson.dumps(values[i]).decode()
                        cp.write_row(values)
            conn.commit()
            done += len(block.get("credit_records", ()))
            rounds += 1
            if rounds % 50 == 0:
                el = time.perf_counter() - t0
                log(f"  worker {slice_[0]}: {done:,} records, {done / el:,.0f}/s")


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _pg_fix_sequences(url: str) -> None:
    """Ids were written explicitly: move each sequence past them for later inserts."""
    import psycopg

    with psycopg.connect(_psycopg_url(url), autocommit=True) as conn:
        for table in datagen.BULK_TABLES:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                         f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")


# --------------------------------------------------------------------------- report


def _pick_persons(env: Env, n: int) -> list[int]:
    from sqlalchemy import func, select

    from chengxin.records.models import CreditRecord

    rt = env.runtime()
    with rt.uow() as s:
        ids = list(s.scalars(select(CreditRecord.person_id)
                             .where(CreditRecord.person_id.is_not(None))
                             .group_by(CreditRecord.person_id)
                             .order_by(func.count().desc()).limit(n)))
    rt.dispose()
    return ids


def bench_report(env: Env, size: Size, records: int, data_note: str = "") -> dict:
    from sqlalchemy import select

    from chengxin.accounts.principal import Principal, Role
    from chengxin.reports import service
    from chengxin.subjects.models import Person

    persons = _pick_persons(env, 50)
    rt = env.runtime()
    times, floor, nrec = [], [], []
    for i in range(size.reports):
        pid = persons[i % len(persons)]
        actor = Principal(kind="user", role=Role.INDIVIDUAL, id=f"bench-{pid}", person_id=pid,
                          label="bench-individual")
        t0 = time.perf_counter()
        with rt.uow() as s:
            person = service.require_person(s, pid)
            doc = service.issue(s, actor=actor, person=person, kind="personal", audience="self",
                                purpose="本人查询")
        times.append(time.perf_counter() - t0)
        if i < len(persons):
            nrec.append(len(json.dumps(doc, ensure_ascii=False, default=str)))
        t0 = time.perf_counter()
        with rt.uow() as s:  # the floor: one unit of work that reads the person
            s.scalar(select(Person.name).where(Person.id == pid))
        floor.append(time.perf_counter() - t0)
    rt.dispose()
    p95 = _pct(times, 95) * 1000
    base = _pct(floor, 95) * 1000
    return emit("report_p95_ms", p95, "ms", base, p95 / base, backend=env.backend,
                rows=records,
                goal="<= 20 ms", met=p95 <= 20,
                note=f"reports.service.issue in process, {size.reports} reports over the 50 "
                     f"persons with most records (median JSON "
                     f"{int(statistics.median(nrec))} chars); "
                     f"baseline: p95 of a one-query unit of work{data_note}")


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


# --------------------------------------------------------------------------- expiry


def bench_expire(env: Env, size: Size, data_note: str = "") -> dict:
    """run_expiry (what `chengxin expire` runs) vs one hand-written UPDATE of the same rows
    on an identical copy of the database."""
    from chengxin.accounts.principal import cli_principal
    from chengxin.disclosure.expiry import run_expiry

    copy_url = _copy_database(env)
    rt = env.runtime()
    t0 = time.perf_counter()
    with rt.uow() as s:
        result = run_expiry(s, actor=cli_principal("expire"))
    took = time.perf_counter() - t0
    rt.dispose()
    d = today()
    t0 = time.perf_counter()
    raw_count = _raw_expire(env, copy_url, d)
    raw = time.perf_counter() - t0
    n = result["records_expired"]
    if n != raw_count:
        log(f"warning: expire changed {n} rows, the hand UPDATE {raw_count}")
    return emit("expire_batch", took, "s", raw, took / raw, backend=env.backend, rows=n,
                goal="ratio <= 2", met=took / raw <= 2,
                note="run_expiry (chengxin expire's work: history rows, change feed, UPDATE, "
                     "audit) vs one UPDATE ... WHERE status IN (...) AND display_until < today "
                     f"on a copy of the same database{data_note}")


def _copy_database(env: Env) -> str:
    if env.backend == "postgresql":
        name = f"{env.dbname}_copy"
        env.extra_dbs.append(name)
        assert env.admin_url
        _pg_exec(env.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _pg_exec(env.admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{env.dbname}"')
        return _pg_url_for(env.admin_url, name)
    import sqlite3

    src = env.url.removeprefix("sqlite:///")
    dst = str(env.tmp / "copy.db")
    with contextlib.closing(sqlite3.connect(src)) as a, \
            contextlib.closing(sqlite3.connect(dst)) as b:
        a.backup(b)
    return f"sqlite:///{dst}"


def _raw_expire(env: Env, url: str, d: dt.date) -> int:
    sql = ("UPDATE credit_records SET status = 'expired', updated_at = {now} "
           "WHERE status IN ('active', 'corrected') AND display_until IS NOT NULL "
           "AND display_until < {today}")
    if env.backend == "postgresql":
        import psycopg

        with psycopg.connect(_psycopg_url(url)) as conn:
            cur = conn.execute(sql.format(now="now()", today="%s"), (d,))
            conn.commit()
            return cur.rowcount
    import sqlite3

    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        cur = conn.execute(sql.format(now="?", today="?"),
                           (dt.datetime.now(dt.UTC).isoformat(), d.isoformat()))
        conn.commit()
        return cur.rowcount


# --------------------------------------------------------------------------- HTTP


def _bare_app():  # type: ignore[no-untyped-def]
    """The baseline: a bare Starlette endpoint doing what any check must (read the
    Authorization header, parse a JSON body, answer JSON), nothing else."""
    import orjson
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def check(request: Request) -> Response:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return Response(b'{"error":"unauthorized"}', 401, media_type="application/json")
        body = orjson.loads(await request.body())
        answer = {"check_id": "0" * 24, "subject": {"id_number_masked": body["id_number"][:4]},
                  "status": "none", "lists": [], "measures": [], "decision": "allow"}
        return Response(orjson.dumps(answer), media_type="application/json")

    return Starlette(routes=[Route(CHECK_PATH, check, methods=["POST"])])


def __getattr__(name: str) -> Any:  # `bench.run:bare_app` for granian, built on first use
    if name == "bare_app":
        from chengxin.gcpolicy import tune_for_throughput

        app = _bare_app()
        globals()["bare_app"] = app
        tune_for_throughput()  # the same collector settings as chengxin.asgi: served the same way
        return app
    raise AttributeError(name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(env: Env, target: str, workers: int):  # type: ignore[no-untyped-def]
    """granian on loopback, the same way for the real app and the bare one. The real app
    is started with `chengxin serve` itself."""
    port = free_port()
    if target == "chengxin":
        cmd = [PY, "-c", "from chengxin.cli import main; main()", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers)]
    else:
        cmd = [PY, "-c", "import sys; from granian import Granian; from granian.constants import "
               "Interfaces; Granian(sys.argv[1], address='127.0.0.1', port=int(sys.argv[2]), "
               "interface=Interfaces.ASGI, workers=int(sys.argv[3]), log_access=False).serve()",
               target, str(port), str(workers)]
    proc = subprocess.Popen(cmd, env=env.environ(), cwd=str(ROOT),  # noqa: S603
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server {target} exited: {proc.stderr.read().decode()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.time() > deadline:
                raise RuntimeError(f"server {target} did not start")
            time.sleep(0.1)
        yield port, proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


HOT_BODIES = 200


def _hot_person(k: int, persons: int) -> int:
    return (k * 7919) % persons


def _body(id18: str) -> bytes:
    import orjson

    return orjson.dumps({"id_number": id18, "scenario": SCENARIO, "purpose": "bench"})


def check_bodies(size: Size, n: int = HOT_BODIES) -> list[bytes]:
    """The hot set: n bodies, 9 in 10 known persons, 1 in 10 unknown but valid numbers.
    A load cycles over them, so a per-person cache in the server would answer nearly all."""
    out = []
    for k in range(n):
        if k % 10 == 9:
            id18 = datagen.person_id_number(size.persons + 10_000 + k)  # not in the database
        else:
            id18 = datagen.person_id_number(_hot_person(k, size.persons))
        out.append(_body(id18))
    return out


def cold_check_bodies(size: Size, records: int) -> list[bytes]:
    """The cold set: one body per distinct person of the data set (records 0..records-1;
    none of the hot set), up to size.cold_persons, shuffled (fixed seed), 1 in 10
    unknown. A person is asked for again only once the load has gone through the list."""
    import random

    hot = {_hot_person(k, size.persons) for k in range(HOT_BODIES)}
    people = _distinct_persons(size, records, hot)
    if not people:  # tiny data sets are all hot: repeat them (the code path still runs)
        people = _distinct_persons(size, records, set())
    unknown = [size.persons + 50_000 + k for k in range(len(people) // 9)]
    ids = [datagen.person_id_number(i) for i in people + unknown]
    random.Random(8).shuffle(ids)  # noqa: S311 - a fixed order, not a secret
    return [_body(i) for i in ids]


def _distinct_persons(size: Size, records: int, skip: set[int]) -> list[int]:
    """Persons that have records, in record order (the generator spreads them over the
    whole id range), at most size.cold_persons."""
    seen: dict[int, None] = {}
    for j in range(records):
        p = datagen.person_of(j, size.persons)
        if p not in skip:
            seen.setdefault(p)
            if len(seen) >= size.cold_persons:
                break
    return list(seen)


def make_api_key(env: Env) -> str:
    from chengxin.accounts.principal import cli_principal
    from chengxin.accounts.service import create_api_key

    rt = env.runtime()
    with rt.uow() as s:
        _, key = create_api_key(s, actor=cli_principal("bench"), department_code=datagen.DEPARTMENT,
                                name="bench")
    rt.dispose()
    return key


def load(port: int, key: str, bodies: list[bytes], seconds: float, conns: int = 64,
         force_python: bool = False) -> dict:
    """wrk when installed (2 threads, `conns` connections, Lua script posting JSON),
    else the Python generator in a separate process."""
    wrk = None if force_python else shutil.which("wrk")
    before = machine_cpu()
    if wrk:
        result = _wrk(wrk, port, key, bodies, seconds, conns)
    else:
        result = _generator("_load", port, key, bodies, seconds, conns)
    after = machine_cpu()
    if before is not None and after is not None:
        result.update(cpu_use(before, after, result["requests"]))
    return result


def machine_cpu() -> tuple[int, int] | None:
    """(busy, total) jiffies of all cores since boot, from /proc/stat (Linux; None
    elsewhere). Busy is user, nice, system, irq and softirq: the work of every process
    on the machine (server, database, load generator). Total adds idle, iowait and
    steal (time the hypervisor gave to another guest, which no process here used)."""
    try:
        with open("/proc/stat") as fh:
            user, nice, system, idle, iowait, irq, softirq, steal = (
                int(x) for x in fh.readline().split()[1:9])
    except (OSError, ValueError):
        return None
    busy = user + nice + system + irq + softirq
    return busy, busy + idle + iowait + steal


def cpu_use(before: tuple[int, int], after: tuple[int, int], requests: int) -> dict:
    """The machine's CPU over a load run: `machine_busy`, the share of all cores busy,
    and `cpu_us_per_request`, busy CPU time per answered request (see _cpu_fields)."""
    busy, total = after[0] - before[0], after[1] - before[1]
    if total <= 0:  # no tick between the readings: nothing measured (a NaN is not JSON)
        return {}
    out = {"machine_busy": round(busy / total, 3)}
    if requests > 0:
        out["cpu_us_per_request"] = round(busy / os.sysconf("SC_CLK_TCK") * 1e6 / requests, 1)
    return out


def _generator(subcommand: str, port: int, key: str, bodies: list[bytes], *args: Any,
               timeout: float | None = None) -> dict:
    """Run one of this file's Python load generators (`_load`, `_paced`) in a separate
    process, the bodies passed in a file; its JSON result line."""
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as fh:
        fh.write(b"\n".join(bodies))
    try:
        out = subprocess.run([PY, str(Path(__file__)), subcommand, str(port), key,  # noqa: S603
                              fh.name, *map(str, args)],
                             capture_output=True, check=True, timeout=timeout)
    finally:
        os.unlink(fh.name)
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def _lua(key: str, bodies: list[bytes]) -> str:
    items = ",\n".join("  [[" + b.decode() + "]]" for b in bodies)
    return f"""-- generated by bench/run.py
local bodies = {{
{items}
}}
local i = 0
-- each thread starts at its own place in the list (threads would otherwise send the
-- same bodies in step, and the second of each pair would find the server's cache warm)
local nthreads = 0
function setup(thread)
  thread:set("first", nthreads)
  nthreads = nthreads + 1
end
function init(args)
  i = math.floor(#bodies * (first or 0) / 2)
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, "{CHECK_PATH}", nil, bodies[i])
end
"""


def _wrk(wrk: str, port: int, key: str, bodies: list[bytes], seconds: float, conns: int) -> dict:
    import re

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(_lua(key, bodies))
    try:
        # --timeout 30s: a slow answer counts in the latency figures instead of vanishing as a
        # "timeout" socket error (wrk's default is 2 s)
        out = subprocess.run([wrk, "-t2", f"-c{conns}", f"-d{max(1, round(seconds))}s",  # noqa: S603
                              "--latency", "--timeout", "30s",
                              "-s", fh.name, f"http://127.0.0.1:{port}{CHECK_PATH}"],
                             capture_output=True, check=True, text=True,
                             timeout=seconds + 60).stdout
    finally:
        os.unlink(fh.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    bad = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad += sum(int(x) for x in m.groups()) if m else 0
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    return {"tool": "wrk", "requests": total, "rps": rps, "errors": bad, "p99_ms": p99_ms}


async def _conn_loop(port: int, reqs: list[bytes], deadline: float, offset: int,
                     lat: list[float], statuses: Counter) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while time.perf_counter() < deadline:
            req = reqs[i % len(reqs)]
            i += 1
            await _exchange(reader, writer, req, time.perf_counter(), lat, statuses)
    finally:
        writer.close()


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes,
                    since: float, lat: list[float], statuses: Counter) -> None:
    """Send one request, read its response; its latency counted from `since`."""
    writer.write(req)
    status, _ = await read_response(reader)
    lat.append(time.perf_counter() - since)
    statuses[status] += 1


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    line = await reader.readline()
    if not line:
        raise ConnectionError("connection closed")
    status = int(line.split()[1])
    length = 0
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b""):
            break
        name, _, value = h.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            raise ConnectionError("chunked responses are not supported by this client")
    return status, await reader.readexactly(length)


def http_request(method: str, path: str, key: str, body: bytes = b"",
                 content_type: str = "application/json") -> bytes:
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def _requests(key: str, bodies_file: str) -> list[bytes]:
    """The generators' requests: one check POST per body in the file."""
    return [http_request("POST", CHECK_PATH, key, b)
            for b in Path(bodies_file).read_bytes().split(b"\n")]


def _run_generator(main: Callable[[], Awaitable[float]]) -> float:
    """Run a generator's main coroutine on uvloop when installed; its seconds."""
    with contextlib.suppress(ImportError):
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    return asyncio.run(main())


def _errors(statuses: Counter) -> int:
    return sum(n for s, n in statuses.items() if not 200 <= s < 300)


def _load_main(port: str, key: str, bodies_file: str, seconds: str, conns: str) -> None:
    """Python load generator: asyncio streams, keep-alive HTTP/1.1, one process."""
    reqs = _requests(key, bodies_file)
    lat: list[float] = []
    statuses: Counter = Counter()

    async def main() -> float:
        t0 = time.perf_counter()
        deadline = t0 + float(seconds)
        # connections start evenly spread over the bodies: with a large (cold) list no two
        # send the same body in one run
        await asyncio.gather(*(_conn_loop(int(port), reqs, deadline,
                                          k * len(reqs) // int(conns), lat, statuses)
                               for k in range(int(conns))))
        return time.perf_counter() - t0

    took = _run_generator(main)
    print(json.dumps({"tool": "python", "requests": len(lat), "rps": len(lat) / took,
                      "errors": _errors(statuses),
                      "p99_ms": _pct(lat, 99) * 1000 if lat else float("nan"),
                      "statuses": {str(k): v for k, v in statuses.items()}}))


def paced(port: int, key: str, bodies: list[bytes], rate: float, seconds: float,
          conns: int = 64) -> dict:
    """Latency at a fixed offered rate (open loop), by `_paced` in a separate process.

    wrk's closed loop keeps 64 requests in flight whatever the server's speed, so its
    latency is mostly the queue: 64 / throughput (Little's law). Here requests are due
    at t0 + i / rate whether or not earlier ones have been answered, and each latency is
    counted from the time the request was due, so a stall of the server (or a full set of
    busy connections) counts for every request that waited through it."""
    return _generator("_paced", port, key, bodies, seconds, conns, rate,
                      timeout=seconds + 120)


def _paced_main(port: str, key: str, bodies_file: str, seconds: str, conns: str,
                rate: str) -> None:
    """Open-loop generator: one dispatcher puts each request on a queue when it is due;
    `conns` keep-alive connections take them in turn. uvloop's timers tick in whole
    milliseconds, so a request can leave up to about 1 ms after it was due: that counts in
    its latency, the same for the baseline."""
    reqs = _requests(key, bodies_file)
    per_s, n_conns = float(rate), int(conns)
    total = max(1, int(per_s * float(seconds)))
    lat: list[float] = []
    statuses: Counter = Counter()
    late = [0.0]  # the dispatcher's worst delay past a due time (the generator's own lag)

    async def dispatch(queue: asyncio.Queue, t0: float) -> None:
        i = 0
        while i < total:
            now = time.perf_counter()
            while i < total and t0 + i / per_s <= now:
                due = t0 + i / per_s
                late[0] = max(late[0], now - due)
                queue.put_nowait((due, reqs[i % len(reqs)]))
                i += 1
            if i < total:
                await asyncio.sleep(max(0.0, t0 + i / per_s - time.perf_counter()))
        for _ in range(n_conns):
            queue.put_nowait(None)

    async def connection(queue: asyncio.Queue) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", int(port))
        try:
            while (item := await queue.get()) is not None:
                due, req = item
                await _exchange(reader, writer, req, due, lat, statuses)
        finally:
            writer.close()

    async def main() -> float:
        queue: asyncio.Queue = asyncio.Queue()
        workers = [asyncio.ensure_future(connection(queue)) for _ in range(n_conns)]
        await asyncio.sleep(0.2)  # connections open before the clock starts
        t0 = time.perf_counter()
        await dispatch(queue, t0)
        await asyncio.gather(*workers)
        return time.perf_counter() - t0

    took = _run_generator(main)
    ms = [x * 1000 for x in lat]
    print(json.dumps({
        "tool": "python-paced", "rate": per_s, "requests": len(lat), "rps": len(lat) / took,
        "errors": _errors(statuses), "p50_ms": _pct(ms, 50), "p99_ms": _pct(ms, 99),
        "p999_ms": _pct(ms, 99.9), "max_ms": max(ms), "dispatch_late_max_ms": late[0] * 1000,
        "statuses": {str(k): v for k, v in statuses.items()}}))


def bench_check(env: Env, size: Size, records: int, workers: int, force_python: bool = False,
                data_note: str = "") -> list[dict]:
    """check_http (hot set of 200 bodies) and check_http_cold (one body per distinct
    person) on one `chengxin serve`, against one bare-endpoint run: the bare endpoint reads
    no data, so its figure does not depend on the bodies and is measured once."""
    key = make_api_key(env)
    hot, cold = check_bodies(size), cold_check_bodies(size, records)
    with serve(env, "chengxin", workers) as (port, _):
        load(port, key, hot, size.warmup_seconds, force_python=force_python)  # warm-up
        app = load(port, key, hot, size.load_seconds, force_python=force_python)
        log(f"{env.backend}: chengxin hot: {app}")
        # no warm-up of its own: that would put the cold persons in any cache first
        app_cold = load(port, key, cold, size.load_seconds, force_python=force_python)
        log(f"{env.backend}: chengxin cold: {app_cold}")
        # the paced runs last: the cold list's persons were last asked for seconds ago,
        # past the facts cache's 1 s, so each is read from the database again
        app_paced = paced(port, key, hot, size.paced_rate, size.load_seconds)
        log(f"{env.backend}: chengxin hot, paced: {app_paced}")
        app_cold_paced = paced(port, key, cold, size.paced_rate, size.load_seconds)
        log(f"{env.backend}: chengxin cold, paced: {app_cold_paced}")
    with serve(env, "bench.run:bare_app", workers) as (port, _):
        load(port, key, hot, size.warmup_seconds, force_python=force_python)
        bare = load(port, key, hot, size.load_seconds, force_python=force_python)
        log(f"{env.backend}: bare: {bare}")
        bare_paced = paced(port, key, hot, size.paced_rate, size.load_seconds)
        log(f"{env.backend}: bare, paced: {bare_paced}")
    common = (f"64 connections, {size.load_seconds:g}s, load by {app['tool']}, granian "
              f"{workers} worker(s){data_note}")
    return [
        *_check_lines("check_http", app, bare, env.backend,
                      f"POST {CHECK_PATH}, hot set: {len(hot)} bodies cycled, {common}"),
        *_check_lines("check_http_cold", app_cold, bare, env.backend,
                      f"POST {CHECK_PATH}, cold set: {len(cold):,} bodies, one per distinct "
                      f"person (1 in 10 unknown), {app_cold['requests'] / len(cold):.2f} "
                      f"requests per body, right after the hot run; {common}",
                      bodies=len(cold)),
        _paced_line("check_http_paced_p99_ms", app_paced, bare_paced, env.backend,
                    f"hot set ({len(hot)} bodies)", size, workers, data_note),
        _paced_line("check_http_cold_paced_p99_ms", app_cold_paced, bare_paced, env.backend,
                    f"cold set ({len(cold):,} bodies, from the start of the list again)",
                    size, workers, data_note),
    ]


def _paced_line(name: str, app: dict, bare: dict, backend: str, what: str, size: Size,
                workers: int, data_note: str) -> dict:
    """p99 at a fixed offered rate: what a caller sees below saturation, without the
    closed loop's queue (see `paced`). Not one of the issue's lines; context for them."""
    extra = {k: round(app[k], 2) for k in ("p50_ms", "p999_ms", "max_ms",
                                            "dispatch_late_max_ms")}
    return emit(name, app["p99_ms"], "ms", bare["p99_ms"], app["p99_ms"] / bare["p99_ms"],
                backend=backend, goal="<= 10 ms", met=app["errors"] == 0 and app["p99_ms"] <= 10,
                errors=app["errors"], requests=app["requests"], rate=app["rate"],
                achieved_rps=round(app["rps"], 1), bare_p50_ms=round(bare["p50_ms"], 2),
                bare_max_ms=round(bare["max_ms"], 2), **extra,
                note=(f"p99 of POST {CHECK_PATH} at a fixed offered rate of {app['rate']:g} "
                      f"req/s (open loop, latency from each request's due time), {what}, "
                      f"{size.load_seconds:g}s, up to 64 connections, granian {workers} "
                      f"worker(s){data_note}; baseline: the bare endpoint at the same rate"))


def _cpu_fields(app: dict, bare: dict) -> dict:
    """The machine's CPU in the check's and the bare endpoint's runs (see cpu_use), and
    `cpu_bound_ratio`: the bare endpoint's CPU per request over the check's. Since a
    rate is cores × busy share / CPU per request, the measured ratio is cpu_bound_ratio
    × machine_busy / bare_machine_busy: how much more work a check is than a bare
    request, times how well the check's run kept the cores busy next to the bare run.
    With every core busy, the check could reach cpu_bound_ratio / bare_machine_busy and
    no more without costing less CPU."""
    if "cpu_us_per_request" not in app or "cpu_us_per_request" not in bare:
        return {}  # not measured: not Linux, or a run that answered nothing
    return {"machine_busy": app["machine_busy"], "cpu_us_per_request": app["cpu_us_per_request"],
            "bare_machine_busy": bare["machine_busy"],
            "bare_cpu_us_per_request": bare["cpu_us_per_request"],
            "cpu_bound_ratio": round(bare["cpu_us_per_request"] / app["cpu_us_per_request"], 4)}


def _check_lines(name: str, app: dict, bare: dict, backend: str, note: str,
                 **extra: Any) -> list[dict]:
    ratio = app["rps"] / bare["rps"]
    ok = app["errors"] == 0
    return [
        emit(name, app["rps"], "req/s", bare["rps"], ratio, backend=backend, goal=">= 0.5",
             met=ok and ratio >= 0.5, errors=app["errors"], requests=app["requests"],
             note=note + "; baseline: bare Starlette endpoint on the same server, measured "
                         "once for both check lines", **_cpu_fields(app, bare), **extra),
        emit(f"{name}_p99_ms", app["p99_ms"], "ms", bare["p99_ms"],
             app["p99_ms"] / bare["p99_ms"], backend=backend, goal="<= 10 ms",
             met=app["p99_ms"] <= 10, note=f"p99 latency of the {name} run ({app['tool']}); "
                                            "baseline: p99 of the bare endpoint"),
    ]


# --------------------------------------------------------------------------- main


BENCHES = ("ingest", "report", "check", "expire")


def prepare_data(env: Env, size: Size, tag: str, only: set[str]) -> tuple[int, str]:
    """Load what the selected benchmarks read; returns (records, note for their lines).

    The base set (full mode, PostgreSQL) is always bulk-loaded. With ingest selected, the
    measured import then adds its rows through the real path. Without it, report, check
    and expire still get a data set of the same size: its rows are bulk-loaded too."""
    base = size.base_records if env.backend == "postgresql" else 0
    imported = size.import_rows[env.backend]
    how = "COPY" if env.backend == "postgresql" else "executemany"
    if "ingest" in only:
        bulk_load(env, base, size.persons, tag, size.bulk_workers)
        note = (f"; data: {base:,} records bulk-loaded ({how}) + {imported:,} imported"
                if base else "")
        return base + imported, note
    records = base + imported
    if only & {"report", "check", "expire"}:
        seconds = bulk_load(env, records, size.persons, tag, size.bulk_workers)
        return records, (f"; data: {records:,} records bulk-loaded ({how}, "
                         f"{seconds:.0f}s), ingest not run (--only)")
    return 0, ""


def run_backend(backend: str, size: Size, args: argparse.Namespace) -> list[dict]:
    log(f"{backend}: fresh environment ({size.name}; {', '.join(sorted(args.only))})")
    env = make_env(backend, args.pg_url)
    tag = f"B{os.getpid()}"
    lines: list[dict] = []
    try:
        records, note = prepare_data(env, size, tag, args.only)
        if "ingest" in args.only:
            lines += bench_ingest(env, size, tag, args.analyze_every)
        if args.only - {"ingest"}:
            analyze(env)
        if "report" in args.only:
            lines.append(bench_report(env, size, records, note))
        if "check" in args.only:
            lines += bench_check(env, size, records, args.workers, args.python_load, note)
        if "expire" in args.only:
            lines.append(bench_expire(env, size, note))
    finally:
        if args.keep:
            log(f"kept {env.tmp} / {env.url}")
        else:
            drop_env(env)
    return lines


def _only(value: str) -> set[str]:
    names = {v.strip() for v in value.split(",") if v.strip()}
    unknown = names - set(BENCHES)
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown benchmark(s) {sorted(unknown)}; choose from {','.join(BENCHES)}")
    return names


def _pg_available(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(_pg_admin(url), connect_timeout=3):
            return True
    except Exception as exc:
        log(f"PostgreSQL not reachable at {url}: {exc}; skipping it")
        return False


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_import":
        _import_main(argv[1])
        return 0
    if argv and argv[0] == "_idle":
        _idle_main()
        return 0
    if argv and argv[0] == "_bulk":
        _bulk_main(*argv[1:9])
        return 0
    if argv and argv[0] == "_load":
        _load_main(*argv[1:6])
        return 0
    if argv and argv[0] == "_paced":
        _paced_main(*argv[1:7])
        return 0
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--tiny", action="store_const", dest="size", const="tiny")
    mode.add_argument("--quick", action="store_const", dest="size", const="quick")
    mode.add_argument("--full", action="store_const", dest="size", const="full")
    p.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--pg-url", default=DEFAULT_PG,
                   help="a PostgreSQL server (any database on it); the run creates its own "
                        "database chengxin_bench_<pid> there and drops it at the end")
    p.add_argument("--workers", type=int, default=1, help="granian workers for both servers")
    p.add_argument("--python-load", action="store_true", help="use the Python load generator "
                   "even when wrk is installed")
    p.add_argument("--analyze-every", type=int, default=0, metavar="N",
                   help="experiment: ANALYZE every N import chunks (PostgreSQL), monkeypatched")
    p.add_argument("--only", type=_only, default=set(BENCHES), metavar="NAMES",
                   help="comma list of benchmarks to run (default: all): "
                        + ",".join(BENCHES) + "; the data they read is loaded either way "
                        "(without ingest: bulk-loaded, see bench/README.md)")
    p.add_argument("--keep", action="store_true", help="keep the temp directory and databases")
    args = p.parse_args(argv)
    size = SIZES[args.size or "quick"]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not _pg_available(args.pg_url):
        backends.remove("postgresql")
    t0 = time.perf_counter()
    for b in backends:
        run_backend(b, size, args)
    log(f"done in {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
