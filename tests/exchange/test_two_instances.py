"""A county and a city platform as real server processes on loopback, each with its own
database: submit at the county, pull at the city, correct and repair, kill a pull mid-way.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import select

from chengxin.config import Settings
from chengxin.exchange.models import ExchangeSource
from chengxin.records.models import CreditRecord
from chengxin.records.states import change_status
from chengxin.reference.models import CatalogItem
from chengxin.runtime import Runtime, build_runtime
from tests.conftest import BACKEND, PG_URL
from tests.records.factories import EDU, pid, teacher_penalty

WAIT = 60.0  # seconds: every wait is bounded
COUNTY, CITY = "410522-xyb", "410500-xyb"
CHENGXIN = [sys.executable, "-c", "from chengxin.cli import main; main()"]
PULL = [sys.executable, "-m", "chengxin.exchange.cli", "pull"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_database(name: str) -> str:
    import psycopg

    parts = urlsplit(PG_URL)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Instance:
    def __init__(self, name: str, tmp: Path, platform_id: str) -> None:
        self.name = name
        self.dir = tmp / name
        self.dir.mkdir()
        self.db_name = f"chengxin_test_{name}"
        url = (_pg_database(self.db_name) if BACKEND == "postgresql"
               else f"sqlite:///{self.dir / 'chengxin.db'}")
        self.env = {**os.environ, "CHENGXIN_DATABASE_URL": url,
                    "CHENGXIN_KEY_FILE": str(self.dir / "keys.json"),
                    "CHENGXIN_STORAGE_DIR": str(self.dir / "var"),
                    "CHENGXIN_PLATFORM_ID": platform_id}
        for k in ("CHENGXIN_TOKEN_KEY", "CHENGXIN_FIELD_KEY", "CHENGXIN_BLIND_INDEX_KEY",
                  "CHENGXIN_SIGNING_KEY", "CHENGXIN_CONFIG_FILE"):
            self.env.pop(k, None)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._rt: Runtime | None = None

    def run(self, *args: str, cmd: list[str] = CHENGXIN, check: bool = True) -> subprocess.CompletedProcess:
        res = subprocess.run([*cmd, *args], env=self.env, cwd=self.dir, capture_output=True,
                             text=True, timeout=WAIT * 3)
        if check:
            assert res.returncode == 0, f"{args}: {res.stdout}\n{res.stderr}"
        return res

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory",
             "chengxin.exchange.api:create_app_with_exchange", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"],
            env=self.env, cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read().decode()[-2000:]
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not answer /api/v1/health in {WAIT}s")

    def api_key(self, department: str) -> str:
        return self.run("apikeys", "add", "--department", department).stdout.strip().splitlines()[-1]

    @property
    def rt(self) -> Runtime:
        if self._rt is None:
            self._rt = build_runtime(Settings(database_url=self.env["CHENGXIN_DATABASE_URL"],
                                              key_file=Path(self.env["CHENGXIN_KEY_FILE"]),
                                              storage_dir=self.dir / "var"))
        return self._rt

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._rt is not None:
            self._rt.dispose()
        if BACKEND == "postgresql":
            _drop_pg_database(self.db_name)


def _county_shared(rt: Runtime) -> dict:
    """(department, document) → (version, status) of every county record the city may see."""
    with rt.uow() as s:
        internal = set(s.scalars(select(CatalogItem.code).where(CatalogItem.visibility == "internal")))
        return {(r.department_code, r.document_no): (r.version, r.status)
                for r in s.scalars(select(CreditRecord).where(CreditRecord.derived_from.is_(None)))
                if r.item_code not in internal}


def _city_copy(rt: Runtime) -> dict:
    with rt.uow() as s:
        rows = list(s.scalars(select(CreditRecord).where(CreditRecord.source == f"exchange:{COUNTY}")))
        return {(r.department_code, r.document_no): (r.version, r.status) for r in rows}


def _cursor(rt: Runtime) -> tuple[str | None, int]:
    with rt.uow() as s:
        src = s.scalar(select(ExchangeSource))
        return (src.last_cursor, src.items_applied) if src else (None, 0)


def _post(url: str, key: str, rows: list[dict]) -> dict:
    r = httpx.post(f"{url}/api/v1/records", json=rows, headers={"Authorization": f"Bearer {key}"},
                   timeout=WAIT)
    assert r.status_code == 200, r.text[:500]
    return r.json()


def test_county_to_city_over_loopback(tmp_path):
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    county = Instance("county", tmp_path, COUNTY)
    city = Instance("city", tmp_path, CITY)
    puller: subprocess.Popen | None = None
    try:
        for inst in (county, city):
            inst.run("init")
            inst.start()
        edu_key = county.api_key(EDU)
        city_key = county.api_key(CITY)  # issued by the county to the city's platform
        timings["init+start"] = time.monotonic() - t0

        # ~300 records at the county, a few of them internal (never shared upward)
        t = time.monotonic()
        rows = [teacher_penalty(i) for i in range(1, 296)] + [
            teacher_penalty(i, item_code="PEN-001", document_no=f"安县教简〔2026〕{i}号")
            for i in range(296, 301)]
        assert _post(county.url, edu_key, rows)["accepted"] == 300
        timings["submit 300"] = time.monotonic() - t

        t = time.monotonic()
        res = city.run("--from", county.url, "--key", city_key, "--once", cmd=PULL)
        timings["first pull"] = time.monotonic() - t
        shared = _county_shared(county.rt)
        assert len(shared) == 295
        assert _city_copy(city.rt) == shared, res.stdout

        # correction (re-sent content) and repair at the county → both reach the city
        doc1, doc2 = "安县教罚〔2026〕1号", "安县教罚〔2026〕2号"
        assert _post(county.url, edu_key, [teacher_penalty(1, content="更正：经复核为一次有偿补课")]
                     )["results"][0]["status"] == "updated"
        with county.rt.uow() as s:
            rid = s.scalar(select(CreditRecord.id).where(CreditRecord.document_no == doc2))
            change_status(s, [rid], "repaired", reason="信用修复：已整改并作出信用承诺", actor="test")
        t = time.monotonic()
        city.run("--from", county.url, "--key", city_key, cmd=PULL)
        timings["second pull"] = time.monotonic() - t
        city_now = _city_copy(city.rt)
        assert city_now[(EDU, doc1)] == (2, "active")
        assert city_now[(EDU, doc2)] == (1, "repaired")
        with city.rt.uow() as s:
            rec = s.scalar(select(CreditRecord).where(CreditRecord.document_no == doc1))
            from chengxin.records.models import RecordVersion

            v = s.scalar(select(RecordVersion).where(RecordVersion.record_id == rec.id,
                                                     RecordVersion.version == 2))
            assert v.payload["content"] == "更正：经复核为一次有偿补课"

        # kill a pull (small pages) after its first pages were committed, then resume
        more = [teacher_penalty(j, id_number=pid(j, born=dt.date(1990, 1, 1)),
                                document_no=f"安县教罚〔2026〕续{j}号") for j in range(1, 601)]
        _post(county.url, edu_key, more)
        before = _cursor(city.rt)
        t = time.monotonic()
        puller = subprocess.Popen([*PULL, "--from", county.url, "--key", city_key, "--limit", "20"],
                                  env=city.env, cwd=city.dir, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        deadline = time.monotonic() + WAIT
        while _cursor(city.rt)[0] == before[0]:
            assert time.monotonic() < deadline, "the pull applied no page in time"
            assert puller.poll() is None, puller.stderr.read().decode()[-2000:]
            time.sleep(0.01)
        still_running = puller.poll() is None
        puller.send_signal(signal.SIGKILL)
        puller.wait(timeout=10)
        puller = None
        mid = _cursor(city.rt)
        timings["pull until killed"] = time.monotonic() - t
        partial = len(_city_copy(city.rt))
        assert still_running and 295 < partial < 895, (partial, mid)

        t = time.monotonic()
        city.run("--from", county.url, "--key", city_key, "--limit", "20", cmd=PULL)
        timings["resumed pull"] = time.monotonic() - t
        shared = _county_shared(county.rt)
        final = _city_copy(city.rt)
        assert len(shared) == 895
        assert final == shared  # nothing lost, nothing doubled, versions and states equal
        with city.rt.uow() as s:
            from sqlalchemy import func

            from chengxin.records.models import RecordVersion

            n_versions = s.scalar(select(func.count()).select_from(RecordVersion).join(
                CreditRecord, CreditRecord.id == RecordVersion.record_id).where(
                CreditRecord.source == f"exchange:{COUNTY}"))
            assert n_versions == 896  # 895 records, one of them corrected once
        timings["total"] = time.monotonic() - t0
        print(f"\n[two-instance {BACKEND}] " + ", ".join(f"{k} {v:.2f}s" for k, v in timings.items())
              + f"; killed at {mid[1]} items applied ({partial} records)")
    finally:
        if puller is not None and puller.poll() is None:
            puller.kill()
            puller.wait(timeout=10)
        for inst in (county, city):
            inst.stop()
