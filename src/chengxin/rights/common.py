"""Shared by objections and repairs: the policy, deadlines, the person's own record."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from chengxin.accounts.principal import Principal, Role
from chengxin.errors import Forbidden, NotFound
from chengxin.records.models import CreditRecord
from chengxin.rights.policy import Policy, policy_from
from chengxin.runtime import runtime_of


def policy(session: Session) -> Policy:
    return policy_from(str(runtime_of(session).settings.reference_dir))


def workdays_after(session: Session, start: dt.date, n: int) -> dt.date:
    from chengxin.workdays import default_calendar

    return default_calendar(runtime_of(session).settings.storage_dir).add_workdays(start, n)


def own_person(actor: Principal) -> int:
    if actor.role != Role.INDIVIDUAL or not actor.person_id:
        raise Forbidden("仅信息主体本人可以办理", code="not_the_person")
    return actor.person_id


def own_record(session: Session, actor: Principal, record_id: int) -> CreditRecord:
    """The record, if it is about the acting person; otherwise the same 404 as a missing
    one, so that nobody learns of records about others."""
    person_id = own_person(actor)
    rec = session.get(CreditRecord, record_id)
    if rec is None or rec.person_id != person_id:
        raise NotFound("记录不存在")
    return rec


def may_decide(actor: Principal, department_code: str) -> None:
    """Only the record's source department or the credit office decides (谁认定、谁修复)."""
    if actor.role in (Role.ADMIN, Role.REVIEWER):
        return
    if actor.role in (Role.REPORTER, Role.SYSTEM) and actor.department_code == department_code:
        return
    raise Forbidden("只有信息提供单位或信用办可以处理", code="not_source_department")
