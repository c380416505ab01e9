"""查询使用登记: every read of a person's data, shown to the person (深圳 art. 45).

Other domains call `log_query()` on every read of a person's data (archive, record read,
check, reports, exchange). Each call also watches for unusual patterns — one account
reading many different persons — and holds third parties to a per-minute rate.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal, Role
from chengxin.audit.service import record
from chengxin.bulk import insert_dicts
from chengxin.errors import TooMany, ValidationFailed
from chengxin.reference.cache import cached
from chengxin.reference.models import Department
from chengxin.rights.models import QueryAlert, QueryLog
from chengxin.rights.policy import Policy, QueryLogPolicy, policy_from
from chengxin.runtime import runtime_of

CHANNELS = frozenset({"staff", "check", "third_party", "exchange", "self"})
_CACHE_KEY = "rights.querylog.policy"  # tests may put a QueryLogPolicy here


def query_policy(session: Session) -> QueryLogPolicy:
    """The query-log policy; `rt.caches[_CACHE_KEY]` overrides the policy file (tests,
    an office trying a threshold)."""
    rt = runtime_of(session)
    override = rt.caches.get(_CACHE_KEY)
    if override is not None:
        return override
    policy: Policy = policy_from(str(rt.settings.reference_dir))
    return policy.query_log


def actor_key(actor: Principal) -> str:
    return f"{actor.kind}:{actor.id}"


def department_names(session: Session) -> dict[str, str]:
    # Departments change only with a reference load: the names are kept with the
    # reference cache (the check path's group commit asks once per batch).
    return cached(session, "department_names",
                  lambda s: dict(s.execute(select(Department.code, Department.name)).all()))


def _organization(session: Session, actor: Principal) -> str | None:
    names = department_names(session) if actor.department_code and not actor.organization else {}
    return organization_of(actor, names)


def organization_of(actor: Principal, departments: dict[str, str]) -> str | None:
    """Who the person sees: the third party's organisation or the department's name —
    never the staff member's login, which is internal."""
    if actor.organization:
        return actor.organization.strip()[:200]
    if actor.department_code:
        return departments.get(actor.department_code, actor.department_code)[:200]
    if actor.role == Role.INDIVIDUAL:
        return "本人"
    if actor.role in (Role.ADMIN, Role.REVIEWER, Role.AUDITOR) or actor.kind == "system":
        return "信用信息平台管理机构"
    return None


def log_query(
    session: Session,
    *,
    actor: Principal,
    person_id: int,
    channel: str,
    what: str,
    purpose: str | None,
    authorization_id: int | None = None,
) -> QueryLog:
    """Register one read of a person's data. Raises TooMany when a third party goes over
    its per-minute rate (the caller's transaction then rolls back: nothing is shown)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown query channel {channel}")  # a programming error
    policy = query_policy(session)
    now = clock.now()
    key = actor_key(actor)
    if channel == "third_party":
        _rate_limit(session, key, now, policy.third_party_per_minute)
    row = QueryLog(**_values(actor, person_id, now, channel, what, purpose, authorization_id,
                             _organization(session, actor)))
    session.add(row)
    session.flush()
    # Unusual patterns are a question about people: a department's business system checks
    # many persons by design (every application it processes), so it is not watched here —
    # its volume shows in the check statistics instead.
    if channel != "self" and actor.kind != "api_key":
        _watch(session, actor, key, now, policy)
    return row


def log_many(session: Session, reads: list[tuple[Principal, int, str, str, str | None]]) -> None:
    """Register many reads at once — (actor, person_id, channel, what, purpose) each — in
    one multi-row INSERT: the check path's group commit. Rate-limited channels are read
    one at a time through `log_query`, which may refuse them."""
    if not reads:
        return
    now = clock.now()
    insert_dicts(session, QueryLog, read_rows(reads, department_names(session), now))
    watched = {actor_key(a): a for a, _, channel, _, _ in reads
               if channel != "self" and a.kind != "api_key"}
    if watched:
        policy = query_policy(session)
        for key, actor in watched.items():
            _watch(session, actor, key, now, policy)


def read_rows(reads: list[tuple[Principal, int, str, str, str | None]],
              departments: dict[str, str], now: dt.datetime) -> list[dict[str, Any]]:
    """The query-log rows of `reads`, as `log_many` writes them (without its watch for
    unusual patterns, which needs a session: callers without one take API keys only)."""
    if any(r[2] == "third_party" or r[2] not in CHANNELS for r in reads):
        raise ValueError("log_many takes no rate-limited or unknown channel")  # programming error
    organizations: dict[str, str | None] = {}  # one lookup per actor, not per read
    for actor, *_ in reads:
        if actor_key(actor) not in organizations:
            organizations[actor_key(actor)] = organization_of(actor, departments)
    return [_values(actor, pid, now, channel, what, purpose, None,
                    organizations[actor_key(actor)])
            for actor, pid, channel, what, purpose in reads]


def _values(actor: Principal, person_id: int, now: dt.datetime, channel: str, what: str,
            purpose: str | None, authorization_id: int | None,
            organization: str | None) -> dict[str, Any]:
    key = actor_key(actor)
    return {"person_id": person_id, "at": now, "channel": channel,
            "actor": (actor.label or key)[:100], "actor_key": key[:80],
            "organization": organization,
            "purpose": (purpose or None) and purpose.strip()[:200], "what": what[:32],
            "authorization_id": authorization_id}


def _rate_limit(session: Session, key: str, now: dt.datetime, per_minute: int) -> None:
    # Counted from the log itself, so the limit holds across workers and restarts.
    recent = session.scalar(select(func.count()).select_from(QueryLog).where(
        QueryLog.actor_key == key, QueryLog.at > now - dt.timedelta(minutes=1)))
    if (recent or 0) >= per_minute:
        raise TooMany("查询过于频繁，请稍后再试", code="query_rate_limited")


def _watch(session: Session, actor: Principal, key: str, now: dt.datetime,
           policy: QueryLogPolicy) -> None:
    """One COUNT(DISTINCT) over the (actor_key, at) index; an alert at most once per
    window, not on every further read."""
    window_start = now - dt.timedelta(minutes=policy.alert_window_minutes)
    distinct = session.scalar(select(func.count(func.distinct(QueryLog.person_id))).where(
        QueryLog.actor_key == key, QueryLog.at >= window_start)) or 0
    if distinct <= policy.alert_distinct_persons:
        return
    already = session.scalar(select(QueryAlert.id).where(
        QueryAlert.actor_key == key, QueryAlert.created_at >= window_start).limit(1))
    if already is not None:
        return
    alert = QueryAlert(actor_key=key[:80], actor=(actor.label or key)[:100],
                       window_start=window_start, distinct_persons=distinct, created_at=now)
    session.add(alert)
    session.flush()
    record(session, actor, "query.alert", object_type="query_alert", object_id=alert.id,
           details={"actor_key": key, "distinct_persons": distinct,
                    "window_minutes": policy.alert_window_minutes})


def my_queries(session: Session, *, actor: Principal, person_id: int, limit: int = 20,
               before: int | None = None) -> dict[str, Any]:
    """The person's own view: newest first, paged by id. Reading it is audited but is
    not itself a query (it is the person)."""
    if not 1 <= limit <= 100:
        raise ValidationFailed("limit 须在 1 到 100 之间",
                               details=[{"field": "limit", "message": "须在 1 到 100 之间"}])
    stmt = select(QueryLog).where(QueryLog.person_id == person_id)
    if before is not None:
        stmt = stmt.where(QueryLog.id < before)
    rows = list(session.scalars(stmt.order_by(QueryLog.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    record(session, actor, "query_log.read", object_type="person", object_id=person_id,
           subject_person_id=person_id, details={"count": len(rows)})
    return {
        "items": [query_dict(r) for r in rows],
        "next_before": rows[-1].id if more and rows else None,
    }


def query_dict(row: QueryLog) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "who": row.organization or "信用信息平台",
        "channel": row.channel,
        "what": row.what,
        "purpose": row.purpose,
        "authorization_id": row.authorization_id,
    }


def open_alerts(session: Session, *, actor: Principal, limit: int = 100) -> list[dict[str, Any]]:
    rows = list(session.scalars(select(QueryAlert).where(QueryAlert.resolved_at.is_(None))
                                .order_by(QueryAlert.id.desc()).limit(limit)))
    record(session, actor, "query_alert.list", details={"count": len(rows)})
    return [alert_dict(a) for a in rows]


def resolve_alert(session: Session, *, actor: Principal, alert_id: int) -> QueryAlert:
    from chengxin.errors import NotFound

    alert = session.get(QueryAlert, alert_id)
    if alert is None:
        raise NotFound("预警不存在")
    if alert.resolved_at is None:
        alert.resolved_at = clock.now()
        record(session, actor, "query_alert.resolve", object_type="query_alert",
               object_id=alert.id)
    return alert


def alert_dict(a: QueryAlert) -> dict[str, Any]:
    return {"id": a.id, "actor_key": a.actor_key, "actor": a.actor,
            "window_start": a.window_start.isoformat(), "distinct_persons": a.distinct_persons,
            "created_at": a.created_at.isoformat(),
            "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None}


def purge_expired(session: Session, *, actor: Principal, today: dt.date) -> int:
    """Delete query-log rows older than the retention period, in one set-based DELETE."""
    from chengxin.clock import CHINA
    from chengxin.dates import add_months

    months = query_policy(session).retention_months
    cutoff_day = add_months(today, -months)
    cutoff = dt.datetime.combine(cutoff_day, dt.time(), tzinfo=CHINA).astimezone(dt.UTC)
    result = session.execute(delete(QueryLog).where(QueryLog.at < cutoff)
                             .execution_options(synchronize_session=False))
    purged = int(result.rowcount or 0)
    record(session, actor, "query_log.purge", outcome="success",
           details={"before": cutoff_day.isoformat(), "retention_months": months,
                    "deleted": purged})
    return purged


class SlidingWindow:
    """A small in-process sliding-window limiter (per worker): for things no table
    counts, like failed authorisation attempts or registrations per client address."""

    def __init__(self, limit: int, window: dt.timedelta, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: dict[str, deque[dt.datetime]] = {}

    def _prune(self, key: str, now: dt.datetime) -> deque[dt.datetime]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def blocked(self, key: str) -> bool:
        return len(self._prune(key, clock.now())) >= self.limit

    def hit(self, key: str) -> bool:
        """Count one event; True if it is within the limit."""
        now = clock.now()
        if len(self._hits) > self.max_keys:  # bounded memory under a flood of addresses
            for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                del self._hits[k]
        hits = self._prune(key, now)
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True


def limiter(session_or_caches: Any, name: str, limit: int, window: dt.timedelta) -> SlidingWindow:
    caches = session_or_caches if isinstance(session_or_caches, dict) else \
        runtime_of(session_or_caches).caches
    lim = caches.get(name)
    if lim is None:
        lim = caches[name] = SlidingWindow(limit, window)
    return lim
