""""Now" and "today", in one replaceable place.

Deadlines, display periods and token expiry all read the clock through here, so tests
move time by swapping the clock instead of sleeping.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FrozenClock:
    """A clock that only moves when told to (tests, replays)."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at

    def now(self) -> dt.datetime:
        return self._at

    def advance(self, **delta: float) -> None:
        self._at = self._at + dt.timedelta(**delta)

    def set(self, at: dt.datetime) -> None:
        self._at = at


_current: SystemClock | FrozenClock = SystemClock()


def now() -> dt.datetime:
    """Current time, timezone-aware UTC."""
    return _current.now().astimezone(dt.UTC)


def today() -> dt.date:
    """Today's date in China: decisions, deadlines and periods are Chinese calendar days."""
    return _current.now().astimezone(CHINA).date()


def use(clock: SystemClock | FrozenClock) -> None:
    global _current
    _current = clock


@contextlib.contextmanager
def frozen(at: dt.datetime) -> Iterator[FrozenClock]:
    previous = _current
    clock = FrozenClock(at)
    use(clock)
    try:
        yield clock
    finally:
        use(previous)
