"""Integrity points: set-based recomputation and the person's explanation.

Recomputation never loops over persons or records in Python. For everyone (or for one
person, with the same statements and a person filter) it runs:

1. delete the current score items (and scores) in scope;
2. per rule, ONE ``INSERT INTO score_items SELECT ...`` over credit_records joined with
   catalog_items and persons: the match, the countable statuses, the minors' protection,
   "first matching rule wins", the decay factor and the per-person cap are all in SQL;
3. ONE ``INSERT INTO person_scores SELECT ...``: base + sum, clamped, graded by band.

Portability of the date arithmetic: Python turns the rule's months into two threshold
dates (t_full = today − full_months, t_zero = today − zero_months) and their day numbers
(days since 1970-01-01). SQL then only needs CASE on ``decision_date >= :t_full`` and one
day-number expression for the linear part, ``day_number(decision_date)``, compiled as
``julianday()`` on SQLite and as date subtraction on PostgreSQL (see DayNumber). Ages of
minors use the yyyymmdd-difference trick (``ymd(decision) − ymd(birth) < 180000``),
compiled as strftime / to_char. Caps use a window function (SUM OVER, most recent
first), which both databases have. All arithmetic is on integers (hundredths of points,
ten-thousandths of factors), so both databases give identical results.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    not_,
    select,
    text,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from chengxin import clock
from chengxin.accounts.principal import Principal
from chengxin.audit.service import record as audit
from chengxin.db import UTCDateTime
from chengxin.errors import AppError
from chengxin.records.models import CreditRecord
from chengxin.reference.models import CatalogItem
from chengxin.runtime import runtime_of
from chengxin.scoring.models import PersonScore, ScoreItem, ScoreRun
from chengxin.scoring.rules import (
    FACTOR_ONE,
    FILE,
    Rule,
    ScoringRules,
    ScoringRulesError,
    decay_thresholds,
    load_rules,
)
from chengxin.subjects.models import Person

_PG_LOCK_KEY = 7_243_004  # arbitrary, fixed: one recomputation at a time
_EPOCH = dt.date(1970, 1, 1)

NOTICE = (
    "诚信积分由系统按公开的积分规则自动计算，仅作为信用分类管理的参考，"
    "不单独作为拒绝办理、限制或其他不利决定的依据（《中华人民共和国个人信息保护法》第二十四条）。"
    "您有权要求说明积分的计算方法；每一分都对应下列一条信用记录和一条规则，"
    "如对任何一条记录有异议，可提出异议申请，记录在异议处理期间标注为“异议中”。"
)


class ScoringUnavailable(AppError):
    status = 500
    code = "scoring_rules_invalid"


# -- portable SQL date helpers ----------------------------------------------------------


class DayNumber(FunctionElement[int]):
    """Days since 1970-01-01 of a DATE column."""

    type = Integer()
    inherit_cache = True
    name = "day_number"


@compiles(DayNumber, "sqlite")
def _day_number_sqlite(element: DayNumber, compiler: Any, **kw: Any) -> str:
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5 AS INTEGER)"


@compiles(DayNumber, "postgresql")
def _day_number_pg(element: DayNumber, compiler: Any, **kw: Any) -> str:
    return f"(({compiler.process(element.clauses, **kw)}) - DATE '1970-01-01')"


class Ymd(FunctionElement[int]):
    """A DATE as the integer yyyymmdd (differences of these give whole years of age)."""

    type = Integer()
    inherit_cache = True
    name = "ymd"


@compiles(Ymd, "sqlite")
def _ymd_sqlite(element: Ymd, compiler: Any, **kw: Any) -> str:
    return f"CAST(strftime('%Y%m%d', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(Ymd, "postgresql")
def _ymd_pg(element: Ymd, compiler: Any, **kw: Any) -> str:
    return f"CAST(to_char({compiler.process(element.clauses, **kw)}, 'YYYYMMDD') AS INTEGER)"


# -- the rules in force ------------------------------------------------------------------


def current_rules(session: Session) -> ScoringRules:
    """The rules of ``data/scoring.yaml``, cross-checked against the loaded catalog."""
    rt = runtime_of(session)
    path = rt.settings.reference_dir / FILE
    cached = rt.caches.get("scoring_rules")
    if cached is not None and cached[0] == path:
        return cached[1]
    rows = session.execute(select(CatalogItem.code, CatalogItem.category)).all()
    try:
        rules = load_rules(path, catalog_codes={r.code for r in rows} or None,
                           categories={r.category for r in rows} or None)
    except ScoringRulesError as exc:
        raise ScoringUnavailable("积分规则文件无效，无法计算诚信积分", details=[
            {"field": FILE, "message": p} for p in exc.problems]) from None
    rt.caches["scoring_rules"] = (path, rules)
    return rules


# -- SQL building blocks -----------------------------------------------------------------

_cr = CreditRecord.__table__
_ci = CatalogItem.__table__
_p = Person.__table__
_si = ScoreItem.__table__
_ps = PersonScore.__table__


def _match(rule: Rule) -> ColumnElement[bool]:
    m = rule.match
    if m.item_codes is not None:
        return _ci.c.code.in_(m.item_codes)
    if m.category is not None:
        return _ci.c.category == m.category
    cond = _ci.c.polarity == m.polarity
    if m.severity is not None:
        cond = and_(cond, func.coalesce(_ci.c.severity, "") == m.severity)
    return cond


def _factor(rule: Rule, today: dt.date) -> tuple[ColumnElement[int], ColumnElement[bool]]:
    """(factor in ten-thousandths, the condition that the record still counts at all)."""
    thresholds = decay_thresholds(rule.decay, today)
    if thresholds is None:
        return literal(FACTOR_ONE, Integer), true()
    t_full, t_zero = thresholds
    zero_day = (t_zero - _EPOCH).days
    span = (t_full - t_zero).days
    factor = case(
        (_cr.c.decision_date >= t_full, FACTOR_ONE),
        else_=(DayNumber(_cr.c.decision_date) - zero_day) * FACTOR_ONE // span,
    )
    return factor, _cr.c.decision_date > t_zero


def _rule_insert(rule: Rule, earlier: list[Rule], rules: ScoringRules, *, run_id: int,
                 today: dt.date, now: dt.datetime, person_id: int | None) -> Any:
    factor, alive = _factor(rule, today)
    magnitude = abs(rule.points) * 100
    sign = 1 if rule.points > 0 else -1
    decayed_abs = literal(magnitude, Integer) * factor // FACTOR_ONE
    minor_light = and_(
        func.coalesce(_ci.c.severity, "").in_(rules.minors.severities),
        Ymd(_cr.c.decision_date) - Ymd(_p.c.birth_date) < rules.minors.adult_age * 10000,
    )
    where = [
        _cr.c.person_id.is_not(None),
        _cr.c.status.in_(rule.counts_statuses),
        _match(rule),
        not_(minor_light),
        alive,
        *[not_(_match(r)) for r in earlier],  # a record counts under its first rule only
    ]
    if person_id is not None:
        where.append(_cr.c.person_id == person_id)
    source = (_cr.join(_ci, _ci.c.code == _cr.c.item_code)
              .join(_p, _p.c.id == _cr.c.person_id))
    consts = [literal(run_id, Integer).label("run_id"),
              literal(rule.code).label("rule_code"),
              literal(now, UTCDateTime()).label("computed_at")]
    columns = ["run_id", "rule_code", "computed_at", "person_id", "record_id",
               "factor_x10000", "decayed_x100", "points_x100"]
    if rule.cap is None:
        sel = select(*consts, _cr.c.person_id, _cr.c.id,
                     factor, sign * decayed_abs, sign * decayed_abs
                     ).select_from(source).where(*where)
        return insert(_si).from_select(columns, sel)
    # Cap: running total per person, most recent record first; an item gets what is
    # left of the cap after the more recent ones (possibly 0, still shown).
    inner = select(
        _cr.c.person_id, _cr.c.id.label("record_id"), factor.label("factor"),
        decayed_abs.label("decayed"),
        func.sum(decayed_abs).over(
            partition_by=_cr.c.person_id,
            order_by=(_cr.c.decision_date.desc(), _cr.c.id.desc()),
            rows=(None, 0),
        ).label("running"),
    ).select_from(source).where(*where).subquery("ranked")
    cap = rule.cap * 100
    before = inner.c.running - inner.c.decayed
    capped = case(
        (before >= cap, 0),
        (inner.c.running > cap, cap - before),
        else_=inner.c.decayed,
    )
    sel = select(*consts, inner.c.person_id, inner.c.record_id, inner.c.factor,
                 sign * inner.c.decayed, sign * capped)
    return insert(_si).from_select(columns, sel)


def _scores_insert(rules: ScoringRules, *, run_id: int, now: dt.datetime,
                   person_id: int | None) -> Any:
    sums = select(_si.c.person_id, func.sum(_si.c.points_x100).label("total"))
    if person_id is not None:
        sums = sums.where(_si.c.person_id == person_id)
    sums_q = sums.group_by(_si.c.person_id).subquery("sums")
    raw = select(_p.c.id.label("person_id"),
                 (rules.base * 100 + func.coalesce(sums_q.c.total, 0)).label("raw")).select_from(
        _p.outerjoin(sums_q, sums_q.c.person_id == _p.c.id))
    if person_id is not None:
        raw = raw.where(_p.c.id == person_id)
    raw_q = raw.subquery("raw")
    low, high = rules.floor * 100, rules.ceiling * 100
    clamped_q = select(raw_q.c.person_id, raw_q.c.raw, case(
        (raw_q.c.raw < low, low), (raw_q.c.raw > high, high), else_=raw_q.c.raw,
    ).label("score")).subquery("clamped")
    grade = case(*[(clamped_q.c.score >= g.min * 100, g.code) for g in rules.grades[:-1]],
                 else_=rules.grades[-1].code)
    sel = select(clamped_q.c.person_id, clamped_q.c.score, clamped_q.c.raw, grade,
                 literal(run_id, Integer), literal(now, UTCDateTime()))
    return insert(_ps).from_select(
        ["person_id", "score_x100", "raw_x100", "grade", "run_id", "computed_at"], sel)


# -- use cases ---------------------------------------------------------------------------


def _recompute(session: Session, *, actor: Principal, rules: ScoringRules,
               person_id: int | None) -> dict[str, Any]:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    now, today = clock.now(), clock.today()
    run = ScoreRun(scope="all" if person_id is None else "person", started_at=now,
                   rules_digest=rules.digest, as_of=today, persons=0, items=0,
                   actor=actor.name)
    session.add(run)
    session.flush()
    for table in (_si, _ps):
        stmt = delete(table)
        if person_id is not None:
            stmt = stmt.where(table.c.person_id == person_id)
        session.execute(stmt)
    for index, rule in enumerate(rules.rules):  # one statement per rule, whatever the persons
        session.execute(_rule_insert(rule, rules.rules[:index], rules, run_id=run.id,
                                     today=today, now=now, person_id=person_id))
    session.execute(_scores_insert(rules, run_id=run.id, now=now, person_id=person_id))
    # Counted afterwards (two statements): psycopg reports no rowcount for INSERT ... SELECT.
    by_rule = {r.code: 0 for r in rules.rules}
    for code, n in session.execute(select(_si.c.rule_code, func.count())
                                   .where(_si.c.run_id == run.id).group_by(_si.c.rule_code)):
        by_rule[code] = n
    items = sum(by_rule.values())
    persons = session.scalar(select(func.count()).select_from(_ps)
                             .where(_ps.c.run_id == run.id)) or 0
    run.persons, run.items, run.finished_at = persons, items, clock.now()
    audit(session, actor, "score.recompute", object_type="score_run", object_id=run.id,
          subject_person_id=person_id,
          details={"persons": persons, "items": items, "rules_digest": rules.digest})
    session.flush()
    return {"run_id": run.id, "persons": persons, "items": items, "by_rule": by_rule,
            "rules_digest": rules.digest, "as_of": today.isoformat()}


def recompute_all(session: Session, *, actor: Principal,
                  rules: ScoringRules | None = None) -> dict[str, Any]:
    """Recompute every person's score: a fixed number of statements, not one per person."""
    return _recompute(session, actor=actor, rules=rules or current_rules(session),
                      person_id=None)


def recompute_person(session: Session, person_id: int, *, actor: Principal,
                     rules: ScoringRules | None = None) -> dict[str, Any]:
    """Recompute one person's score after a change to their records (same SQL, filtered)."""
    return _recompute(session, actor=actor, rules=rules or current_rules(session),
                      person_id=person_id)


def _pts(x100: int) -> float:
    return round(x100 / 100, 2)


def _sentence(item: dict[str, Any], rule: Rule | None) -> str:
    head = (f"{item['decision_date']:%Y年%m月%d日}作出的「{item['item_name']}」"
            f"（记录编号 {item['record_id']}）")
    if rule is None:
        return head + f"按规则 {item['rule_code']} 计 {item['points']:+.2f} 分。"
    text_ = head + f"按规则「{rule.name}」每条计 {rule.points:+d} 分"
    if item["factor_x10000"] < FACTOR_ONE:
        text_ += (f"；已超过 {rule.decay.full_months} 个月，按时间衰减系数 "
                  f"{item['factor']:.4f} 折算为 {item['decayed']:+.2f} 分"
                  f"（满 {rule.decay.zero_months} 个月后不再计分）")
    if item["points_x100"] != item["decayed_x100"]:
        text_ += (f"；本规则每人最多计 {rule.cap} 分，较近的记录已用去额度，"
                  f"本条实计 {item['points']:+.2f} 分")
    else:
        text_ += f"，本条计 {item['points']:+.2f} 分"
    return text_ + "。"


def explain(session: Session, person_id: int, *, actor: Principal | None = None,
            rules: ScoringRules | None = None) -> dict[str, Any]:
    """The person's score, grade and every point with its record and rule.

    Computes the score first if it never was (a person registered since the last run).
    Writes no audit row: callers that show it to someone audit the read.
    """
    rules = rules or current_rules(session)
    row = session.get(PersonScore, person_id)
    if row is None:
        from chengxin.accounts.principal import SYSTEM_PRINCIPAL

        recompute_person(session, person_id, actor=actor or SYSTEM_PRINCIPAL, rules=rules)
        row = session.get(PersonScore, person_id)
        if row is None:
            raise AppError("人员不存在", code="not_found", status=404)
    run = session.get(ScoreRun, row.run_id)
    q = (select(_si, _cr.c.decision_date, _cr.c.item_code, _cr.c.status,
                _ci.c.name.label("item_name"))
         .join(_cr, _cr.c.id == _si.c.record_id).join(_ci, _ci.c.code == _cr.c.item_code)
         .where(_si.c.person_id == person_id)
         .order_by(_cr.c.decision_date.desc(), _si.c.record_id.desc()))
    items = []
    total_x100 = 0
    for r in session.execute(q).mappings():
        total_x100 += r["points_x100"]
        item = dict(r)
        item.update(points=_pts(r["points_x100"]), decayed=_pts(r["decayed_x100"]),
                    factor=round(r["factor_x10000"] / FACTOR_ONE, 4))
        rule = rules.rule(r["rule_code"])
        items.append({
            "record_id": r["record_id"], "item_code": r["item_code"],
            "item_name": r["item_name"], "decision_date": r["decision_date"].isoformat(),
            "record_status": r["status"], "rule_code": r["rule_code"],
            "rule_name": rule.name if rule else r["rule_code"],
            "rule_points": rule.points if rule else None,
            "decay_factor": item["factor"], "points_before_cap": item["decayed"],
            "points": item["points"], "explanation": _sentence(item, rule),
        })
    grade = next((g for g in rules.grades if g.code == row.grade), None)
    clamped = row.score_x100 != row.raw_x100
    return {
        "person_id": person_id,
        "score": _pts(row.score_x100),
        "grade": row.grade,
        "grade_label": grade.label if grade else row.grade,
        "base": rules.base,
        "points_total": _pts(total_x100),
        "floor": rules.floor,
        "ceiling": rules.ceiling,
        "clamped": clamped,
        "summary": (f"基础分 {rules.base} 分，各项合计 {_pts(total_x100):+.2f} 分，"
                    + (f"超出 {rules.floor}–{rules.ceiling} 分范围按边界计，" if clamped else "")
                    + f"诚信积分 {_pts(row.score_x100):.2f} 分，等级 {row.grade}"
                    + (f"（{grade.label}）" if grade else "") + "。"),
        "items": items,
        "computed_at": row.computed_at.isoformat(),
        "as_of": run.as_of.isoformat() if run else None,
        "rules": {"name": rules.name, "digest": run.rules_digest if run else rules.digest,
                  "current": run is not None and run.rules_digest == rules.digest},
        "grades": [{"code": g.code, "label": g.label, "min": g.min} for g in rules.grades],
        # PIPL art. 24: never the sole basis of a decision; explained; the person may object.
        "use": "reference_only",
        "decides_alone": False,
        "notice": NOTICE,
    }


def read_score(session: Session, *, actor: Principal, person_id: int) -> dict[str, Any]:
    """Show a person's explained score to ``actor`` (themself or staff), audited."""
    answer = explain(session, person_id, actor=actor)
    audit(session, actor, "score.read", object_type="person_score", object_id=person_id,
          subject_person_id=person_id,
          details={"self": actor.person_id == person_id, "grade": answer["grade"],
                   "items": len(answer["items"])})
    return answer
