"""Idle timeout for people's sessions (等保 2.0 level 3: 登录连接超时自动退出).

A token lives `token_ttl_minutes` at most; on top of that a session that has made no
request for `session_idle_minutes` (CHENGXIN_SESSION_IDLE_MINUTES, default 15) is over,
even if its token has not expired. The time of the last authenticated request is kept on
the user (`users.last_seen_at`), so the rule holds across workers and restarts.

Writes are throttled: `last_seen_at` moves only when it is at least TOUCH_EVERY old, so an
active user costs one UPDATE a minute, not one per request, and the timeout is exact to
within that minute. The idle clock is per user, not per token: a person signed in twice
keeps both sessions alive by using either. Department systems (API keys) are machines and
have no idle timeout.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chengxin.accounts.models import User

DEFAULT_IDLE_MINUTES = 15
TOUCH_EVERY = dt.timedelta(seconds=60)


def idle_limit(settings: Any) -> dt.timedelta | None:
    """The idle timeout; None when switched off (0)."""
    minutes = int(getattr(settings, "session_idle_minutes", DEFAULT_IDLE_MINUTES))
    return dt.timedelta(minutes=minutes) if minutes > 0 else None


def is_idle(user: User, now: dt.datetime, settings: Any) -> bool:
    limit = idle_limit(settings)
    if limit is None or user.last_seen_at is None:
        # None: signed in before this column existed; sign-in sets it from now on.
        return False
    return now - user.last_seen_at > limit


def touch(user: User, now: dt.datetime) -> None:
    """Record activity (the caller's unit of work commits it)."""
    if user.last_seen_at is None or now - user.last_seen_at >= TOUCH_EVERY:
        user.last_seen_at = now


def check_and_touch(user: User, now: dt.datetime, settings: Any) -> bool:
    """False when the session has been idle too long; otherwise record the activity."""
    if is_idle(user, now, settings):
        return False
    touch(user, now)
    return True
