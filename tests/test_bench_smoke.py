"""The benchmark code works: `bench/run.py --tiny` (a few hundred rows, 3-second loads).

Always on SQLite; the PostgreSQL part too when CHENGXIN_TEST_DATABASE_URL points at a
PostgreSQL server — the benchmark then creates and drops its own database
(chengxin_bench_<pid>) on that server and never touches the test database itself.
Numbers are not asserted: only that every line is a valid benchmark line.
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


@pytest.mark.slow
def test_bench_tiny_runs_and_prints_valid_lines(tmp_path: Path) -> None:
    pg = os.environ.get("CHENGXIN_TEST_DATABASE_URL", "")
    backend = "both" if pg.startswith("postgresql") else "sqlite"
    cmd = [sys.executable, str(ROOT / "bench" / "run.py"), "--tiny", "--backend", backend]
    if backend == "both":
        cmd += ["--pg-url", pg]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHENGXIN_")}
    env["TMPDIR"] = str(tmp_path)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,  # noqa: S603
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    names = {(d["name"], d.get("backend")) for d in lines}
    expected = {"ingest_sqlite", "import_peak_mb", "report_p95_ms", "check_http",
                "check_http_p99_ms", "expire_batch"}
    assert expected <= {n for n, b in names if b == "sqlite"}, names
    if backend == "both":
        assert "ingest_postgresql" in {n for n, _ in names}, names
    for d in lines:
        assert KEYS <= d.keys(), d
        for k in ("value", "baseline", "ratio"):
            assert isinstance(d[k], int | float) and math.isfinite(d[k]), d
        assert isinstance(d["name"], str) and isinstance(d["unit"], str)
    # the check run really answered under load
    assert all(d.get("requests", 0) > 0 for d in lines if d["name"] == "check_http"), lines
    # the benchmark cleaned up after itself
    assert not list(tmp_path.glob("chengxin-bench-*")), list(tmp_path.iterdir())
