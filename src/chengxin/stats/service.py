"""Collection statistics: is each department reporting each of its key groups on time?

Seed 002 三(五): departments update records yearly, quarterly or monthly, by the group's
cadence. One row per department–group pair of group_departments, built from a few
GROUP BY queries (members, records this period, last submission) assembled in Python.

Lateness, precisely:

    late = today > previous_period_end + GRACE_DAYS
           and (last_submission is None or last_submission_day < previous_period_start)

where the periods are those of the group's cadence (`period_bounds`), "day" is the
China calendar day of the submission time, and any submission counts: an API batch, a
file import, or a nil report (零报告: nothing to report this period). So a pair is late
once the grace after a period has run out and nothing at all arrived since that period
began; a pair that has never submitted is late from the first such moment. `due_date`
is the end of the current period plus the grace: the day by which a submission for the
current period is expected.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal, Role
from chengxin.audit.service import record as audit
from chengxin.dates import period_bounds
from chengxin.errors import Forbidden, ValidationFailed
from chengxin.records.models import CreditRecord, GroupMembership, Submission
from chengxin.reference.models import Department, Group, GroupDepartment
from chengxin.reference.repository import department_groups

GRACE_DAYS = 10


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight of a China calendar day, as an aware datetime (compared with UTC columns)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=clock.CHINA)


def previous_bounds(today: dt.date, cadence: str) -> tuple[dt.date, dt.date]:
    start, _ = period_bounds(today, cadence)
    return period_bounds(start - dt.timedelta(days=1), cadence)


def late(today: dt.date, cadence: str, last_submission: dt.datetime | None,
         grace_days: int = GRACE_DAYS) -> bool:
    prev_start, prev_end = previous_bounds(today, cadence)
    if today <= prev_end + dt.timedelta(days=grace_days):
        return False
    if last_submission is None:
        return True
    return last_submission.astimezone(clock.CHINA).date() < prev_start


def _pairs(session: Session, department: str | None) -> list[Any]:
    q = (select(GroupDepartment.department_code, Department.name, GroupDepartment.group_code,
                Group.name.label("group_name"), Group.cadence)
         .join(Group, Group.code == GroupDepartment.group_code)
         .join(Department, Department.code == GroupDepartment.department_code)
         .where(Group.active, Department.active)
         .order_by(GroupDepartment.department_code, Group.position, Group.code))
    if department:
        q = q.where(GroupDepartment.department_code == department)
    return list(session.execute(q))


def collection_stats(session: Session, *, actor: Principal, department: str | None = None,
                     late_only: bool = False) -> dict[str, Any]:
    """One row per department–group pair; reporters see their own department only."""
    if actor.role in (Role.REPORTER, Role.SYSTEM):
        if department and department != actor.department_code:
            raise Forbidden("只能查看本部门的统计", code="other_department")
        department = actor.department_code or "-"
    today = clock.today()
    pairs = _pairs(session, department)
    depts = {p.department_code for p in pairs}
    groups = {p.group_code for p in pairs}

    members: dict[tuple[str, str], int] = {}
    if pairs:
        q = (select(GroupMembership.department_code, GroupMembership.group_code,
                    func.count(func.distinct(GroupMembership.person_id)))
             .where(GroupMembership.department_code.in_(depts),
                    GroupMembership.group_code.in_(groups),
                    or_(GroupMembership.ended_on.is_(None), GroupMembership.ended_on >= today))
             .group_by(GroupMembership.department_code, GroupMembership.group_code))
        members = {(d, g): n for d, g, n in session.execute(q)}

    # One query per cadence in use (monthly / quarterly / yearly: at most three).
    in_period: dict[tuple[str, str], int] = {}
    by_cadence: dict[str, set[str]] = {}
    for p in pairs:
        by_cadence.setdefault(p.cadence, set()).add(p.group_code)
    bounds = {c: period_bounds(today, c) for c in by_cadence}
    for cadence, codes in by_cadence.items():
        start, end = bounds[cadence]
        q = (select(CreditRecord.department_code, CreditRecord.group_code, func.count())
             .where(CreditRecord.department_code.in_(depts), CreditRecord.group_code.in_(codes),
                    CreditRecord.updated_at >= _day_start(start),
                    CreditRecord.updated_at < _day_start(end + dt.timedelta(days=1)))
             .group_by(CreditRecord.department_code, CreditRecord.group_code))
        in_period.update({(d, g): n for d, g, n in session.execute(q)})

    last: dict[tuple[str, str], dt.datetime] = {}
    if pairs:
        q = (select(Submission.department_code, Submission.group_code, func.max(Submission.at))
             .where(Submission.department_code.in_(depts), Submission.group_code.in_(groups))
             .group_by(Submission.department_code, Submission.group_code))
        last = {(d, g): at for d, g, at in session.execute(q)}
        if last and session.get_bind().dialect.name == "sqlite":
            # func.max bypasses the column type on SQLite: naive UTC text comes back.
            last = {k: _as_utc(v) for k, v in last.items()}

    rows = []
    grace = dt.timedelta(days=GRACE_DAYS)
    for p in pairs:
        key = (p.department_code, p.group_code)
        start, end = bounds[p.cadence]
        prev_start, prev_end = previous_bounds(today, p.cadence)
        last_at = last.get(key)
        is_late = late(today, p.cadence, last_at)
        if late_only and not is_late:
            continue
        rows.append({
            "department_code": p.department_code, "department_name": p.name,
            "group_code": p.group_code, "group_name": p.group_name, "cadence": p.cadence,
            "members": members.get(key, 0), "records_in_period": in_period.get(key, 0),
            "last_submission": last_at.isoformat() if last_at else None,
            "period_start": start.isoformat(), "period_end": end.isoformat(),
            "due_date": (end + grace).isoformat(),
            "previous_period_start": prev_start.isoformat(),
            "previous_period_end": prev_end.isoformat(),
            "previous_due_date": (prev_end + grace).isoformat(),
            "late": is_late,
        })
    audit(session, actor, "stats.collection.read", object_type="department",
          object_id=department, details={"rows": len(rows), "late_only": late_only})
    return {"today": today.isoformat(), "grace_days": GRACE_DAYS, "rows": rows,
            "late": sum(1 for r in rows if r["late"])}


def _as_utc(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def nil_report(session: Session, *, actor: Principal, group_code: str) -> dict[str, Any]:
    """零报告: the department declares it has nothing to report for the group this period.
    Counts as a submission (channel "nil", 0 rows), so the pair is not flagged late."""
    dept = actor.department_code
    if actor.role not in (Role.REPORTER, Role.SYSTEM) or not dept:
        raise Forbidden("只有负责部门可以报送零报告", code="not_responsible")
    cadence = session.scalar(select(Group.cadence).where(Group.code == group_code))
    if cadence is None:
        raise ValidationFailed("重点人群不存在", details=[
            {"field": "group_code", "message": "未知的重点人群代码"}])
    if group_code not in department_groups(session, dept):
        raise Forbidden("本部门不负责该重点人群", code="not_responsible")
    now = clock.now()
    sub = Submission(department_code=dept, group_code=group_code, channel="nil", at=now,
                     rows=0, accepted=0, actor=actor.name)
    session.add(sub)
    session.flush()
    start, end = period_bounds(clock.today(), cadence)
    audit(session, actor, "collection.nil_report", object_type="submission", object_id=sub.id,
          details={"group_code": group_code, "period_start": start.isoformat()})
    return {"id": sub.id, "department_code": dept, "group_code": group_code, "channel": "nil",
            "rows": 0, "at": now.isoformat(), "period_start": start.isoformat(),
            "period_end": end.isoformat()}
