"""The benchmark code works: `bench/run.py --tiny` (a few hundred rows, 3-second loads).

Always on SQLite; the PostgreSQL part too when CHENGXIN_TEST_DATABASE_URL points at a
PostgreSQL server — the benchmark then creates and drops its own databases
(chengxin_bench_<pid>[_copy|_bulk|_real]) on that server and never touches the test
database itself. Numbers are not asserted: only that every line is a valid benchmark
line. Also: `--only`, and that the bench's bulk loader writes what the import writes.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"name", "value", "unit", "baseline", "ratio"}


def _run_bench(tmp_path: Path, args: list[str], timeout: int) -> list[dict]:
    """bench/run.py in a clean environment (no CHENGXIN_* settings, temp files under
    tmp_path); asserts it succeeded and returns its JSON lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHENGXIN_")}
    env["TMPDIR"] = str(tmp_path)
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), *args],  # noqa: S603
                          capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


@pytest.mark.slow
def test_bench_tiny_runs_and_prints_valid_lines(tmp_path: Path) -> None:
    pg = os.environ.get("CHENGXIN_TEST_DATABASE_URL", "")
    backend = "both" if pg.startswith("postgresql") else "sqlite"
    args = ["--tiny", "--backend", backend] + (["--pg-url", pg] if backend == "both" else [])
    lines = _run_bench(tmp_path, args, timeout=120)
    names = {(d["name"], d.get("backend")) for d in lines}
    expected = {"ingest_sqlite", "import_peak_mb", "report_p95_ms", "check_http",
                "check_http_p99_ms", "check_http_cold", "check_http_cold_p99_ms",
                "check_http_paced_p99_ms", "check_http_cold_paced_p99_ms", "expire_batch"}
    assert expected <= {n for n, b in names if b == "sqlite"}, names
    if backend == "both":
        assert "ingest_postgresql" in {n for n, _ in names}, names
    for d in lines:
        assert KEYS <= d.keys(), d
        for k in ("value", "baseline", "ratio"):
            assert isinstance(d[k], int | float) and math.isfinite(d[k]), d
        assert isinstance(d["name"], str) and isinstance(d["unit"], str)
    # the check run really answered under load
    assert all(d.get("requests", 0) > 0 for d in lines
               if d["name"] in ("check_http", "check_http_cold")), lines
    # the machine's CPU over both runs (Linux: /proc/stat), and the bound it puts on the
    # ratio: the bare endpoint's CPU per request over the check's
    if sys.platform == "linux":
        for d in (d for d in lines if d["name"] in ("check_http", "check_http_cold")):
            assert 0 < d["machine_busy"] <= 1 and 0 < d["bare_machine_busy"] <= 1, d
            assert d["cpu_us_per_request"] > 0 and d["bare_cpu_us_per_request"] > 0, d
            assert d["cpu_bound_ratio"] == pytest.approx(
                d["bare_cpu_us_per_request"] / d["cpu_us_per_request"], rel=1e-3), d
    # the paced runs sent every request they scheduled (tiny: 100 req/s for 2 s), all
    # answered, and their percentiles are in order
    paced = [d for d in lines if d["name"].endswith("paced_p99_ms")]
    assert len(paced) == (4 if backend == "both" else 2), paced
    for d in paced:
        assert d["requests"] == 200 and d["errors"] == 0 and d["rate"] == 100, d
        assert d["p50_ms"] <= d["value"] <= d["p999_ms"] <= d["max_ms"], d
        assert 0 < d["bare_p50_ms"] <= d["bare_max_ms"] and d["baseline"] > 0, d
    # the benchmark cleaned up after itself
    assert not list(tmp_path.glob("chengxin-bench-*")), list(tmp_path.iterdir())


@pytest.mark.slow
def test_bench_only_loads_the_data_the_selection_needs(tmp_path: Path) -> None:
    """--only expire: no import runs, the rows come from the bulk loader, one line."""
    lines = _run_bench(tmp_path, ["--tiny", "--backend", "sqlite", "--only", "expire"],
                       timeout=60)
    assert [d["name"] for d in lines] == ["expire_batch"], lines
    assert lines[0]["rows"] > 0 and "bulk-loaded" in lines[0]["note"], lines
    assert not list(tmp_path.glob("chengxin-bench-*")), list(tmp_path.iterdir())


# Columns that must differ between a bulk load and a real import of the same rows: when
# and by which job/load they were written, and ids of rows the two number differently
# (records, versions, states and persons get the same ids on both paths).
_SKIP = {"created_at", "updated_at", "since", "at", "source", "id_enc"}
_KEYS = {  # table -> (ids not compared, order)
    "persons": (set(), "id"),
    "credit_records": (set(), "id"),
    "record_versions": (set(), "id"),
    "record_states": (set(), "id"),
    "group_memberships": ({"id"}, "person_id"),
    "list_entries": ({"id"}, "record_id"),
}


def _table_rows(env, table: str) -> list[dict]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from chengxin.db import Base

    t = Base.metadata.tables[table]
    skip, order = _KEYS[table]
    rt = env.runtime()
    try:
        with rt.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(t).order_by(t.c[order]))]
    finally:
        rt.dispose()
    return [{k: v for k, v in r.items() if k not in _SKIP | skip} for r in rows]


def _list_events(env) -> list[tuple]:  # type: ignore[no-untyped-def]
    """list_events by the record of their entry (entry ids differ between the paths)."""
    from sqlalchemy import select

    from chengxin.sanctions.models import ListEntry, ListEvent

    rt = env.runtime()
    try:
        with rt.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(ListEntry.record_id, ListEvent.event, ListEvent.from_status,
                       ListEvent.to_status, ListEvent.actor, ListEvent.reason)
                .join(ListEntry, ListEntry.id == ListEvent.entry_id)
                .order_by(ListEntry.record_id, ListEvent.id))]
    finally:
        rt.dispose()


def _decrypted_ids(env) -> list[str]:  # type: ignore[no-untyped-def]
    """id_enc is randomised (a fresh nonce each time): compare what it decrypts to."""
    from sqlalchemy import select

    from chengxin.subjects.models import Person
    from chengxin.subjects.service import ID_DOMAIN

    rt = env.runtime()
    try:
        with rt.uow() as s:
            return [rt.cipher.decrypt(tok, context=ID_DOMAIN)
                    for tok in s.scalars(select(Person.id_enc).order_by(Person.id))]
    finally:
        rt.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_bulk_loader_writes_what_the_import_writes(backend: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """bench's bulk loader (COPY / executemany) and the real import path (create_job +
    run_job), given the same generated rows, leave the same rows in the tables the report,
    check and expire benchmarks read."""
    pg = os.environ.get("CHENGXIN_TEST_DATABASE_URL", "")
    if backend == "postgresql" and not pg.startswith("postgresql"):
        pytest.skip("CHENGXIN_TEST_DATABASE_URL is not a PostgreSQL URL")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    if str(ROOT) not in sys.path:
        monkeypatch.syspath_prepend(str(ROOT))
    from bench import datagen, run

    rows, persons = 300, 100
    bulk = run.make_env(backend, pg, "_bulk")
    real = run.make_env(backend, pg, "_real", keys_from=bulk)
    try:
        run.bulk_load(bulk, rows, persons, "CMP", workers=2, label="bench-import")
        csv_path = tmp_path / "rows.csv"
        datagen.write_csv(csv_path, 0, rows, persons, run.today(), "CMP")
        result, _ = run.run_import_measured(real, csv_path)
        assert result["created"] == rows, result
        for table in _KEYS:
            a, b = _table_rows(bulk, table), _table_rows(real, table)
            assert len(a) == len(b) > 0, (table, len(a), len(b))
            for x, y in zip(a, b, strict=True):
                assert x == y, (table, x, y)
        assert _list_events(bulk) == _list_events(real)
        assert _decrypted_ids(bulk) == _decrypted_ids(real)
    finally:
        run.drop_env(bulk)
        run.drop_env(real)


def test_cache_gc_bench_runs_and_prints_valid_lines(tmp_path: Path) -> None:
    """bench/cache_gc.py at a small size: four valid lines, and the packed cache leaves
    nothing tracked where the object cache leaves something per person."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHENGXIN_")}
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "cache_gc.py"),  # noqa: S603
                           "--persons", "1000"], capture_output=True, text=True, timeout=120,
                          env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = {d["name"]: d for d in map(json.loads, proc.stdout.splitlines())}
    assert set(lines) == {"cache_gc_pause_max_ms", "cache_gc_older_pass_max_ms",
                          "cache_gc_pause_total_ms", "cache_gc_tracked_per_person"}
    for d in lines.values():
        assert KEYS <= d.keys() and all(math.isfinite(d[k]) for k in ("value", "baseline"))
    tracked = lines["cache_gc_tracked_per_person"]
    assert tracked["value"] < 0.5 < tracked["baseline"], tracked
    bad = subprocess.run([sys.executable, str(ROOT / "bench" / "cache_gc.py"),  # noqa: S603
                          "--persons", "0"], capture_output=True, text=True, timeout=60, env=env)
    assert bad.returncode == 2 and "--persons must be at least 1" in bad.stderr


def test_cpu_use_is_the_machines_busy_share_and_cpu_per_request(
        monkeypatch: pytest.MonkeyPatch) -> None:
    if str(ROOT) not in sys.path:
        monkeypatch.syspath_prepend(str(ROOT))
    from bench.run import cpu_use, machine_cpu

    tick = os.sysconf("SC_CLK_TCK")
    # 3 of 4 core-seconds' jiffies busy, over 1,000 requests
    used = cpu_use((1000, 5000), (1000 + 3 * tick, 5000 + 4 * tick), 1000)
    assert used == {"machine_busy": 0.75, "cpu_us_per_request": 3000.0}
    assert "cpu_us_per_request" not in cpu_use((0, 0), (tick, tick), 0)  # nothing answered
    assert cpu_use((5, 9), (5, 9), 10) == {}  # no tick between the readings
    if sys.platform == "linux":
        now = machine_cpu()
        assert now is not None and 0 < now[0] <= now[1]
