"""The joint reward and punishment check and its feedback."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal
from chengxin.audit.models import AuditEntry
from chengxin.audit.service import COLUMNS as AUDIT_COLUMNS
from chengxin.audit.service import append_chained, chained, lock_chain_async
from chengxin.audit.service import entry as audit_entry
from chengxin.audit.service import record as audit
from chengxin.bulk import insert_rows, json_insert, write_rows
from chengxin.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chengxin.identity import IdentityError, mask_id_number, mask_name, normalize_id_number
from chengxin.reference import repository as reference
from chengxin.reference.cache import cached
from chengxin.rights.models import QueryLog
from chengxin.rights.querylog import log_many, read_rows
from chengxin.sanctions import policy
from chengxin.sanctions.models import AppliedMeasure, Check, CheckFeedback
from chengxin.sanctions.policy import CheckFacts
from chengxin.sanctions.repository import PersonRef, facts_for, persons_by_hash
from chengxin.subjects.service import id_hash


def current_measures(session: Session) -> list[dict[str, Any]]:
    return cached(session, "measures", reference.list_measures)


def scenario_codes(session: Session) -> set[str]:
    return cached(session, "scenario_codes",
                  lambda s: {x["code"] for x in reference.list_scenarios(s)})


def validate_request(id_number: Any, scenario: Any, scenarios: set[str]) -> str:
    """The check's input rules, in one place for both paths: the 18-digit number
    (a 15-digit one is converted) and a known scenario. Returns the normalised number."""
    errors = []
    id18 = None
    try:
        id18 = normalize_id_number(str(id_number or ""), today=clock.today())
    except IdentityError as exc:
        errors.append({"field": "id_number", "message": exc.message, "code": exc.code})
    if not isinstance(scenario, str) or scenario not in scenarios:
        errors.append({"field": "scenario", "message": "未知的应用场景",
                       "code": "unknown_scenario"})
    if errors or id18 is None:
        raise ValidationFailed("核查请求无效", details=errors)
    return id18


def decide(id18: str, person: PersonRef | None, facts: CheckFacts, scenario: str,
           measures: list[dict[str, Any]], today: dt.date) -> dict[str, Any]:
    """The answer to a check, without its id: pure, so the fast path can keep it for the
    rest of the day for the same person, scenario and facts."""
    flags, status, contested = policy.flags(facts, today)
    applicable = policy.applicable_measures(measures, scenario, flags)
    decision = "allow" if not facts.known else policy.decide(applicable, contested)
    lists = [{"type": e.list_type, "name": e.name,
              "since": (e.effective_from or e.listed_on).isoformat(), "basis": e.basis}
             for e in facts.lists if policy.list_in_effect(e, today)]
    answer: dict[str, Any] = {
        "subject": {"id_number_masked": mask_id_number(id18, "public"),
                    "name_masked": mask_name(person.name, "public") if person else None},
        "status": status,
        "lists": lists,
        "measures": [{"code": m["code"], "name": m["name"], "kind": m["kind"],
                      "effect": m["effect"], "legal_basis": m["legal_basis"]}
                     for m in applicable],
        "decision": decision,
    }
    if contested:
        answer["note"] = "相关失信信息正在异议处理中，请人工复核"
    return answer


class _TokenPool:
    """Check ids: the time in milliseconds (12 hex digits), then 80 random bits drawn
    from the OS a few thousand at a time (one getrandom call per id cost more than the
    rest of a cached check under load). The random part keeps an id unguessable; the time
    first makes new ids sort after older ones, so that the checks' primary-key index takes
    each batch's rows on its last page instead of on a page anywhere in it (measured,
    SQLite, 200,000 checks: 0.29 → 0.09 ms of CPU to insert a batch of 21)."""

    def __init__(self, size: int = 10, batch: int = 4096) -> None:
        self.size, self.batch = size, batch
        self.buf, self.pos = b"", 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            if self.pos + self.size > len(self.buf):
                self.buf, self.pos = secrets.token_bytes(self.size * self.batch), 0
            token = self.buf[self.pos:self.pos + self.size]
            self.pos += self.size
        return f"{time.time_ns() // 1_000_000:012x}{token.hex()}"


_check_ids = _TokenPool()


# What the check row and the audit entry keep of an answer: status, decision, the measures'
# codes, the lists' types, the masked ID number. A plain tuple of plain values, which the
# fast path keeps in memory with the decided answer (see fastpath.FactsCache).
Summary = tuple[str, str, tuple[str, ...], tuple[str, ...], str]


def summary(answer: dict[str, Any]) -> Summary:
    return (answer["status"], answer["decision"], tuple(m["code"] for m in answer["measures"]),
            tuple(e["type"] for e in answer["lists"]), answer["subject"]["id_number_masked"])


@dataclass(frozen=True)
class Answered:
    """One answered check, as it is written down: who asked, about whom, what was said."""
    check_id: str
    actor: Principal
    person_id: int | None
    scenario: str
    purpose: str | None
    summary: Summary
    at: dt.datetime


def answered(actor: Principal, person_id: int | None, scenario: str, purpose: str | None,
             said: Summary) -> Answered:
    """A decided answer given its check id, as it is to be stored."""
    return Answered(_check_ids.next(), actor, person_id, scenario, purpose, said, clock.now())


_CHECK_COLUMNS = ("id", "department_code", "scenario", "person_id", "status", "decision",
                  "measures", "lists", "at", "actor")


def store(session: Session, done: list[Answered]) -> None:
    """Write answered checks in the session's transaction: the check rows, the person's
    query log and the audit trail, each as one multi-row insert."""
    insert_rows(session, Check, _CHECK_COLUMNS, _check_rows(done), with_ids=False)
    log_many(session, _reads(done))
    for c in done:
        audit(session, c.actor, "check.run", **_audited(c))


def store_direct(conn: Any, dialect: Dialect, done: list[Answered],
                 departments: dict[str, str]) -> None:
    """`store` on a driver connection inside the caller's transaction, for the fast
    path's group commit (sanctions/fastpath.py), which skips the ORM session. The same
    rows; API keys only, whose reads the query log does not watch (see log_many)."""
    checks, (log_columns, logged), entries = _direct_rows(done, departments)
    write_rows(conn, dialect, Check, _CHECK_COLUMNS, checks)
    if logged:
        write_rows(conn, dialect, QueryLog, log_columns, logged)
    append_chained(conn, dialect, entries)


async def store_direct_async(conn: Any, done: list[Answered], departments: dict[str, str],
                             head: tuple[int, str] | None = None) -> tuple[int, str]:
    """`store_direct` on a psycopg AsyncConnection in pipeline mode (PostgreSQL), inside
    the caller's transaction: the same rows, in two statements (the audit chain's lock,
    then one insert into the three tables). `head`: see audit.service.lock_chain_async.
    Returns the chain's new head: the `head` for the caller's next batch, once this one
    has committed."""
    checks, (log_columns, logged), entries = _direct_rows(done, departments)
    rows = chained(entries, await lock_chain_async(conn, head))
    await conn.execute(*json_insert([(Check, _CHECK_COLUMNS, checks),
                                     (QueryLog, log_columns, logged),
                                     (AuditEntry, AUDIT_COLUMNS, rows)]))
    return entries[-1]["seq"], entries[-1]["hash"]


def _direct_rows(done: list[Answered], departments: dict[str, str]
                 ) -> tuple[list[tuple[Any, ...]],
                            tuple[tuple[str, ...], list[tuple[Any, ...]]],
                            list[dict[str, Any]]]:
    """The check rows, the query-log rows with their columns, and the (unchained) audit
    entries of `done`."""
    if any(c.actor.kind != "api_key" for c in done):
        raise ValueError("store_direct takes checks by API keys only")  # programming error
    reads = read_rows(_reads(done), departments, clock.now())
    logged = (tuple(reads[0]) if reads else (), [tuple(r.values()) for r in reads])
    return (_check_rows(done), logged,
            [audit_entry(c.actor, "check.run", **_audited(c)) for c in done])


def _check_rows(done: list[Answered]) -> list[tuple[Any, ...]]:
    rows = []
    for c in done:
        status, decision, measures, lists, _ = c.summary
        rows.append((c.check_id, c.actor.department_code or "", c.scenario, c.person_id,
                     status, decision, list(measures), list(lists), c.at, c.actor.name))
    return rows


def _reads(done: list[Answered]) -> list[tuple[Principal, int, str, str, str | None]]:
    return [(c.actor, c.person_id, "check", "check", c.purpose or c.scenario)
            for c in done if c.person_id is not None]


def _audited(c: Answered) -> dict[str, Any]:
    status, decision, _, _, masked = c.summary
    return {"object_type": "check", "object_id": c.check_id, "subject_person_id": c.person_id,
            "purpose": c.purpose or c.scenario,
            "details": {"scenario": c.scenario, "status": status, "decision": decision,
                        "id_masked": masked}}


def run_check(session: Session, *, actor: Principal, id_number: Any, scenario: Any,
              purpose: str | None = None) -> dict[str, Any]:
    """One check in one transaction (the general route; see sanctions/fastpath.py for the
    batched path department systems use)."""
    id18 = validate_request(id_number, scenario, scenario_codes(session))
    today = clock.today()
    digest = id_hash(session, id18)
    person = persons_by_hash(session, [digest]).get(digest)
    facts = facts_for(session, [person])[person.id] if person else CheckFacts(known=False)
    decided = decide(id18, person, facts, scenario, current_measures(session), today)
    done = answered(actor, person.id if person else None, scenario, purpose, summary(decided))
    store(session, [done])
    return {"check_id": done.check_id, **decided}


def feedback(session: Session, *, actor: Principal, check_id: str, applied: Iterable[Any],
             note: str | None) -> dict[str, Any]:
    check = session.get(Check, check_id)
    if check is None:
        raise NotFound("核查记录不存在")
    if check.department_code != actor.department_code:
        raise Forbidden("只能反馈本部门的核查", code="other_department")
    if session.scalar(select(CheckFeedback.id).where(CheckFeedback.check_id == check_id)):
        raise Conflict("该核查已反馈", code="feedback_exists")
    codes = list(applied)
    offered = set(check.measures)
    bad = [{"field": f"applied.{i}", "message": "该措施不在本次核查给出的措施之中",
            "code": "measure_not_offered"}
           for i, c in enumerate(codes) if not isinstance(c, str) or c not in offered]
    if bad:
        # 浙江 art. 28: a measure that was not listed may not be applied.
        raise ValidationFailed("反馈的措施无效", details=bad)
    now = clock.now()
    fb = CheckFeedback(check_id=check_id, department_code=check.department_code,
                       scenario=check.scenario, applied=codes, note=(note or None), at=now,
                       actor=actor.name)
    session.add(fb)
    session.flush()
    if codes:
        session.execute(insert(AppliedMeasure), [
            {"feedback_id": fb.id, "check_id": check_id, "measure_code": c,
             "department_code": check.department_code, "scenario": check.scenario, "at": now}
            for c in dict.fromkeys(codes)])
    audit(session, actor, "check.feedback", object_type="check", object_id=check_id,
          subject_person_id=check.person_id, details={"applied": codes})
    return {"check_id": check_id, "applied": codes, "recorded_at": now.isoformat()}


def measure_stats(session: Session, *, department: str | None = None) -> list[dict[str, Any]]:
    q = (select(AppliedMeasure.department_code, AppliedMeasure.scenario,
                AppliedMeasure.measure_code, func.count())
         .group_by(AppliedMeasure.department_code, AppliedMeasure.scenario,
                   AppliedMeasure.measure_code)
         .order_by(AppliedMeasure.department_code, AppliedMeasure.scenario,
                   AppliedMeasure.measure_code))
    if department:
        q = q.where(AppliedMeasure.department_code == department)
    checks = dict(((d, s), n) for d, s, n in session.execute(
        select(Check.department_code, Check.scenario, func.count())
        .group_by(Check.department_code, Check.scenario)))
    return [{"department_code": d, "scenario": s, "measure_code": m, "applied": n,
             "checks": checks.get((d, s), 0)} for d, s, m, n in session.execute(q)]
