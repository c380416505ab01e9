"""Bounded soak (issue 9.6): mixed check, report and import traffic against a real server.

    .venv/bin/python bench/soak.py                 # 60 s, SQLite
    .venv/bin/python bench/soak.py --seconds 600 --backend postgresql

Loopback only, a fresh temporary directory and database, stops by itself (after
--seconds, or --max-requests, whichever comes first) and cleans up. Traffic: --conns
keep-alive connections, each sending ~85 % checks (1 in 20 with an invalid ID number: an
expected 422), ~15 % personal reports (GET /api/v1/me/report as an individual), and one
connection uploading a 50-row CSV import every --import-every seconds and polling it
until done. The server's resident memory (all processes of its session, from
/proc/PID/status VmRSS) is sampled every --sample seconds.

Exit 1 on any unexpected status (not 2xx and not the expected 422), any import job that
does not finish `done`, or sustained RSS growth: after the warm-up (--warmup, default 30 s,
at most half the run; measured: RSS rises ~45 MB in the first ~30 s, then stays flat),
the least-squares slope above --max-slope MB/min AND a rise from the post-warm-up
minimum to the last sample above --max-growth MB. One JSON summary line on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import datagen  # noqa: E402
from bench import run as bench  # noqa: E402

PASSWORD = "Soak-Passw0rd!"


def session_rss_kb(sid: int) -> int:
    """VmRSS summed over every process whose session id is `sid` (granian + workers)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
            fields = stat[stat.rindex(b")") + 2:].split()
            if int(fields[3]) != sid:  # field 6 of stat: session id
                continue
            with open(f"/proc/{entry.name}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            continue
    return total


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mt = sum(t for t, _ in samples) / n
    mv = sum(v for _, v in samples) / n
    den = sum((t - mt) ** 2 for t, _ in samples)
    return 0.0 if den == 0 else sum((t - mt) * (v - mv) for t, v in samples) / den * 60


def prepare(env: bench.Env, persons: int) -> dict:
    """A small data set, an API key for the department system, an individual's token."""
    from chengxin.accounts.principal import cli_principal
    from chengxin.accounts.service import create_user, sign_in

    path = env.tmp / "seed.csv"
    datagen.write_csv(path, 0, persons * 3, persons, bench.today(), "SOAK")
    bench.run_import_measured(env, path)
    path.unlink()
    key = bench.make_api_key(env)
    tokens = []
    rt = env.runtime()
    for i in range(3):
        with rt.uow() as s:
            create_user(s, actor=cli_principal("soak"), login=f"soak{i}", password=PASSWORD,
                        role="individual", id_number=datagen.person_id_number(i),
                        name=datagen.person_name(i))
        with rt.uow() as s:
            result = sign_in(s, f"soak{i}", PASSWORD)
        assert result.ok and result.token, "sign-in failed"
        tokens.append(result.token)
    rt.dispose()
    return {"key": key, "tokens": tokens}


def _multipart(csv_bytes: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"soak.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode() + csv_bytes + \
        f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Soak:
    def __init__(self, port: int, creds: dict, args: argparse.Namespace, persons: int) -> None:
        self.port, self.creds, self.args, self.persons = port, creds, args, persons
        self.statuses: Counter = Counter()
        self.unexpected: list[str] = []
        self.requests = 0
        self.imports_done = 0
        self.deadline = 0.0

    def _stop(self) -> bool:
        return time.monotonic() >= self.deadline or self.requests >= self.args.max_requests

    async def _send(self, reader, writer, req: bytes, expect: tuple[int, ...], what: str) -> bytes:
        writer.write(req)
        status, body = await bench.read_response(reader)
        self.requests += 1
        self.statuses[f"{what}:{status}"] += 1
        if status not in expect and len(self.unexpected) < 20:
            self.unexpected.append(f"{what} -> {status}: {body[:200]!r}")
        return body

    async def mixed(self, k: int) -> None:
        import orjson

        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        key = self.creds["key"]
        i = k * 131
        try:
            while not self._stop():
                i += 1
                if i % 7 == 0:
                    token = self.creds["tokens"][i % len(self.creds["tokens"])]
                    await self._send(reader, writer, bench.http_request(
                        "GET", "/api/v1/me/report", token), (200,), "report")
                    continue
                bad = i % 20 == 0
                id18 = "12345" if bad else datagen.person_id_number((i * 7919) % self.persons)
                body = orjson.dumps({"id_number": id18, "scenario": bench.SCENARIO,
                                     "purpose": "soak"})
                req = bench.http_request("POST", bench.CHECK_PATH, key, body)
                await self._send(reader, writer, req, (422,) if bad else (200,), "check")
        finally:
            writer.close()

    async def importer(self) -> None:
        import orjson

        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        key = self.creds["key"]
        n = 0
        try:
            while not self._stop():
                start = 10_000_000 + n * 50
                path = Path(self.args.tmp) / f"soak-import-{n}.csv"
                datagen.write_csv(path, start, start + 50, self.persons, bench.today(), "SOAKIMP")
                body, ctype = _multipart(path.read_bytes())
                path.unlink()
                n += 1
                answer = await self._send(reader, writer, bench.http_request(
                    "POST", "/api/v1/imports", key, body, ctype), (202,), "import")
                job = orjson.loads(answer).get("job_id") if answer.startswith(b"{") else None
                while job:
                    await asyncio.sleep(0.5)
                    st = orjson.loads(await self._send(reader, writer, bench.http_request(
                        "GET", f"/api/v1/imports/{job}", key), (200,), "import_status"))
                    if st.get("status") in ("done", "failed"):
                        if st["status"] != "done" or st["counts"]["created"] != 50:
                            self.unexpected.append(f"import {job}: {st['status']} {st['counts']}")
                        self.imports_done += 1
                        break
                    if self._stop() and time.monotonic() > self.deadline + 30:
                        self.unexpected.append(f"import {job} did not finish")
                        break
                t_next = time.monotonic() + self.args.import_every
                while not self._stop() and time.monotonic() < t_next:
                    await asyncio.sleep(0.2)
        finally:
            writer.close()

    async def sampler(self, sid: int, samples: list[tuple[float, float]], t0: float) -> None:
        while not self._stop():
            samples.append((time.monotonic() - t0, session_rss_kb(sid) / 1024))
            await asyncio.sleep(self.args.sample)
        samples.append((time.monotonic() - t0, session_rss_kb(sid) / 1024))

    async def run(self, sid: int) -> list[tuple[float, float]]:
        samples: list[tuple[float, float]] = []
        t0 = time.monotonic()
        self.deadline = t0 + self.args.seconds
        await asyncio.gather(self.sampler(sid, samples, t0), self.importer(),
                             *(self.mixed(k) for k in range(self.args.conns)))
        return samples


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--max-requests", type=int, default=2_000_000)
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--pg-url", default=bench.DEFAULT_PG)
    p.add_argument("--conns", type=int, default=8)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--persons", type=int, default=2000)
    p.add_argument("--import-every", type=float, default=5)
    p.add_argument("--sample", type=float, default=2)
    p.add_argument("--warmup", type=float, default=30, help="seconds excluded from the memory "
                   "verdict (at most half the run): pools, caches and allocator arenas fill up")
    p.add_argument("--max-slope", type=float, default=5.0, help="MB/min after warm-up")
    p.add_argument("--max-growth", type=float, default=16.0, help="MB after warm-up")
    args = p.parse_args(argv)
    if not 1 <= args.seconds <= 24 * 3600:
        p.error("--seconds must be between 1 and 86400")
    env = bench.make_env(args.backend, args.pg_url)
    args.tmp = str(env.tmp)
    try:
        creds = prepare(env, args.persons)
        with bench.serve(env, "chengxin", args.workers) as (port, proc):
            soak = Soak(port, creds, args, args.persons)
            samples = asyncio.run(soak.run(os.getsid(proc.pid)))
    finally:
        bench.drop_env(env)
    rss = [v for _, v in samples]
    warm = [s for s in samples if s[0] >= min(args.warmup, args.seconds / 2)] or samples
    slope = slope_mb_per_min(warm)
    growth = warm[-1][1] - min(v for _, v in warm)
    leak = slope > args.max_slope and growth > args.max_growth
    ok = not soak.unexpected and not leak and soak.requests > 0
    print(json.dumps({
        "ok": ok, "seconds": args.seconds, "backend": args.backend, "requests": soak.requests,
        "rps": round(soak.requests / args.seconds, 1), "imports_done": soak.imports_done,
        "statuses": dict(soak.statuses), "unexpected": soak.unexpected,
        "rss_mb": {"first": round(rss[0], 1), "last": round(rss[-1], 1), "max": round(max(rss), 1),
                   "slope_mb_per_min_after_warmup": round(slope, 2),
                   "growth_mb_after_warmup": round(growth, 1), "samples": len(rss)},
        "bounds": {"max_slope_mb_per_min": args.max_slope, "max_growth_mb": args.max_growth},
    }, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
