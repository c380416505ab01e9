"""The joint reward and punishment check and its feedback."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal
from chengxin.audit.service import record as audit
from chengxin.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chengxin.identity import IdentityError, mask_id_number, mask_name, normalize_id_number
from chengxin.reference import repository as reference
from chengxin.reference.cache import cached
from chengxin.rights.querylog import log_query
from chengxin.sanctions import policy
from chengxin.sanctions.models import AppliedMeasure, Check, CheckFeedback
from chengxin.sanctions.repository import check_facts
from chengxin.subjects.service import find_person


def _measures(session: Session) -> list[dict[str, Any]]:
    return cached(session, "measures", reference.list_measures)


def _scenarios(session: Session) -> set[str]:
    return cached(session, "scenario_codes", lambda s: {x["code"] for x in reference.list_scenarios(s)})


def run_check(session: Session, *, actor: Principal, id_number: Any, scenario: Any,
              purpose: str | None = None) -> dict[str, Any]:
    errors = []
    id18 = None
    try:
        id18 = normalize_id_number(str(id_number or ""), today=clock.today())
    except IdentityError as exc:
        errors.append({"field": "id_number", "message": exc.message, "code": exc.code})
    if not isinstance(scenario, str) or scenario not in _scenarios(session):
        errors.append({"field": "scenario", "message": "未知的应用场景", "code": "unknown_scenario"})
    if errors or id18 is None:
        raise ValidationFailed("核查请求无效", details=errors)
    today = clock.today()
    person = find_person(session, id18)
    facts = check_facts(session, person)
    flags, status, contested = policy.flags(facts, today)
    measures = policy.applicable_measures(_measures(session), scenario, flags)
    decision = "allow" if not facts.known else policy.decide(measures, contested)
    lists = [{"type": e.list_type, "name": e.name,
              "since": (e.effective_from or e.listed_on).isoformat(), "basis": e.basis}
             for e in facts.lists if policy.list_in_effect(e, today)]
    check_id = secrets.token_hex(12)
    answer = {
        "check_id": check_id,
        "subject": {"id_number_masked": mask_id_number(id18, "public"),
                    "name_masked": mask_name(person.name, "public") if person else None},
        "status": status,
        "lists": lists,
        "measures": [{"code": m["code"], "name": m["name"], "kind": m["kind"],
                      "effect": m["effect"], "legal_basis": m["legal_basis"]} for m in measures],
        "decision": decision,
    }
    if contested:
        answer["note"] = "相关失信信息正在异议处理中，请人工复核"
    session.add(Check(id=check_id, department_code=actor.department_code or "", scenario=scenario,
                      person_id=person.id if person else None, status=status, decision=decision,
                      measures=[m["code"] for m in measures], lists=[e["type"] for e in lists],
                      at=clock.now(), actor=actor.name))
    if person is not None:
        log_query(session, actor=actor, person_id=person.id, channel="check", what="check",
                  purpose=purpose or scenario)
    audit(session, actor, "check.run", object_type="check", object_id=check_id,
          subject_person_id=person.id if person else None, purpose=purpose or scenario,
          details={"scenario": scenario, "decision": decision, "status": status,
                   "id_masked": answer["subject"]["id_number_masked"]})
    return answer


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
