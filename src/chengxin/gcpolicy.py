"""Garbage-collector settings for the long-running processes: the server's workers and
file imports.

A check request or an import chunk allocates thousands of short-lived dicts and tuples.
Reference counting frees them; CPython's cyclic collector still counts them, and ran a
young-generation pass every 700 allocations and, now and then, a full pass over every
live object — SQLAlchemy's metadata, the reference data, the check's facts cache. Those
passes paused the event loop for tens of milliseconds: the check's p99 tail.

So these processes freeze what start-up built (it is never scanned again; reference
counting still frees it) and let the young generation grow to 20,000 objects. Cyclic
garbage is still collected, in larger and rarer passes. Measured in alternating pairs
(docs/scaling-history.md, third round): the check's p99 over HTTP on SQLite 88–202 ms →
29–76 ms (hot set) and 234–282 ms → 34–68 ms (cold set); a 20,000-row import 6 %
(SQLite) to 13 % (PostgreSQL) faster. A 90-second soak's memory stayed flat after warm-up.
"""

from __future__ import annotations

import gc

YOUNG = 20_000  # allocations between young-generation passes (CPython's default: 700)
MIDDLE = 50  # young passes per middle-generation pass (default 10)
OLD = 100  # middle passes per full pass (default 10; CPython also waits for 25 % growth)


def tune_for_throughput() -> None:
    """Call once a process has built what it keeps (the app, the runtime)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
