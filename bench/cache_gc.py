"""The check's facts cache and CPython's cyclic collector: pause times while it fills.

    .venv/bin/python bench/cache_gc.py                  # 100,000 persons, 10 records each
    .venv/bin/python bench/cache_gc.py --persons 2000   # a smaller run (CI smoke)

A cold check load (one distinct person per request) fills the server's facts cache
(`sanctions/fastpath.py`) with up to 100,000 persons. Whatever the cache holds that the
collector tracks survives into its older generations, and every middle or full pass
scans it again, in the event loop: a pause every request waiting at that moment sees.

Each arm runs in its own process with the server's collector settings (`gcpolicy`):
it fills a cache the way the read batches do (a person, ten record facts, a list entry
for one in ten, a decided answer each) while allocating the short-lived containers a
request makes, and times every collector pass with `gc.callbacks`.

* value: the cache as the server keeps it (`repository.pack`'s bytes in a
  `fastpath.FactsCache`, the answer as a `Memo` through `FactsCache.remember`);
* baseline: the same persons kept as objects (`PersonRef`, `CheckFacts` with its
  record facts, the answer as its dict), as the cache held them before 2026-11-30.

One JSON line per figure, as `bench/run.py` prints them. Not a test: nothing asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from chengxin import gcpolicy
from chengxin.sanctions import service
from chengxin.sanctions.fastpath import FactsCache, Memo
from chengxin.sanctions.policy import CheckFacts, ListFact, RecordFact
from chengxin.sanctions.repository import PersonRef, pack

TODAY = dt.date(2026, 11, 30)
SCENARIO = "licensing"
ID18 = "410522198506010012"  # only masked into the answer
MEASURES = [
    {"code": "P15", "name": "警示对象办理行政许可时审慎审核", "kind": "punish", "effect": "caution",
     "applies_to": ["warning"], "scenarios": ["licensing", "government_services"],
     "legal_basis": "国办发〔2019〕35号（根据信用状况实施分级分类监管，采取差异化监管措施）"},
    {"code": "P01", "name": "限制参加评先评优", "kind": "punish", "effect": "deny",
     "applies_to": ["black", "serious_dishonesty"], "scenarios": ["licensing", "awards"],
     "legal_basis": "国办发〔2016〕33号"},
]


@dataclass
class _ObjectEntry:
    """The cache entry as it was before 2026-11-30 (fastpath.Entry)."""
    person: PersonRef
    facts: CheckFacts
    expires: float
    answers: dict[tuple[str, Any, int], dict[str, Any]] = field(default_factory=dict)


def _person(n: int) -> tuple[PersonRef, CheckFacts]:
    birth = dt.date(1960, 1, 1) + dt.timedelta(days=n % 15_000)
    records = [RecordFact(n * 10 + k, "general" if k % 3 else None,
                          "negative" if k % 3 else "positive", "active",
                          dt.date(2020, 1, 1) + dt.timedelta(days=(n + 97 * k) % 2_000),
                          dt.date(2029, 1, 1) if k % 2 else None, 30) for k in range(10)]
    lists = [ListFact(n, "focus", "重点关注名单", "active", dt.date(2025, 3, 1), dt.date(2025, 3, 1),
                      None, None, "依据")] if n % 10 == 0 else []
    annual = {2025: "warning"} if n % 7 == 0 else {}
    return (PersonRef(n, "张三", birth, dt.date(2019, 5, 1)),
            CheckFacts(known=True, known_since=dt.date(2019, 5, 1), records=records,
                       lists=lists, annual=annual))


def _request_garbage(n: int) -> None:
    # What a request allocates and frees: parsed bodies, scopes, header lists.
    for _ in range(20):
        scope = {"headers": [(b"a", b"b")], "body": {"id_number": n}, "path": (n,)}
        del scope


def _arm(kind: str, persons: int) -> dict[str, Any]:
    pauses: list[tuple[int, float]] = []
    started = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((info["generation"], (time.perf_counter() - started[0]) * 1000))

    gcpolicy.tune_for_throughput()
    gc.callbacks.append(timed)
    before = len(gc.get_objects())
    cache, objects = FactsCache(ttl=3600.0, limit=persons + 1), {}
    t0 = time.perf_counter()
    for n in range(persons):
        person, facts = _person(n)
        decided = service.decide(ID18, person, facts, SCENARIO, MEASURES, TODAY)
        digest = f"{n:064x}"
        if kind == "packed":
            packed = pack(person, facts)
            cache.put_all({digest: (1e9, packed)}, cache.epoch)
            cache.remember(digest, SCENARIO, Memo(packed, TODAY, 0, person.id,
                                                  orjson.dumps(decided),
                                                  service.summary(decided)))
        else:
            entry = objects[digest] = _ObjectEntry(person, facts, 1e9)
            entry.answers[(SCENARIO, TODAY, 0)] = decided
        del person, facts, decided
        _request_garbage(n)
    filled = time.perf_counter() - t0
    gc.callbacks.remove(timed)
    for _ in range(3):  # the collector stops tracking nested tuples one level per pass
        gc.collect()
    tracked = len(gc.get_objects()) - before
    older = [ms for g, ms in pauses if g > 0]
    return {"max_ms": max((ms for _, ms in pauses), default=0.0),
            "older_max_ms": max(older, default=0.0), "older_passes": len(older),
            "total_ms": sum(ms for _, ms in pauses), "passes": len(pauses),
            "tracked_per_person": tracked / persons, "fill_s": filled}


def _line(name: str, unit: str, value: float, baseline: float, persons: int, note: str
          ) -> dict[str, Any]:
    return {"name": name, "value": round(value, 2), "unit": unit, "baseline": round(baseline, 2),
            "ratio": round(value / baseline, 4) if baseline else 0.0, "persons": persons,
            "note": note}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--persons", type=int, default=100_000)
    args = p.parse_args()
    if args.persons < 1:
        p.error("--persons must be at least 1")
    arms = {}
    for kind in ("objects", "packed"):
        proc = subprocess.run([sys.executable, __file__, "_arm", kind, str(args.persons)],  # noqa: S603
                              capture_output=True, text=True, check=True)
        arms[kind] = json.loads(proc.stdout)
    new, old = arms["packed"], arms["objects"]
    note = ("facts cache filled as the server does, server's collector settings; baseline: "
            "the same persons kept as objects (the cache before 2026-11-30)")
    for line in (
        _line("cache_gc_pause_max_ms", "ms", new["max_ms"], old["max_ms"], args.persons, note),
        _line("cache_gc_older_pass_max_ms", "ms", new["older_max_ms"], old["older_max_ms"],
              args.persons, note + f"; middle/full passes: {new['older_passes']} vs "
              f"{old['older_passes']}"),
        _line("cache_gc_pause_total_ms", "ms", new["total_ms"], old["total_ms"], args.persons,
              note + f"; passes: {new['passes']} vs {old['passes']}"),
        _line("cache_gc_tracked_per_person", "objects", new["tracked_per_person"],
              old["tracked_per_person"], args.persons,
              note + "; objects the collector still tracks per cached person, after it ran"),
    ):
        print(json.dumps(line, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "_arm":
        print(json.dumps(_arm(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
