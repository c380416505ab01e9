"""Small aggregate queries the dashboard needs and no service offers yet (counts only:
no personal data, so no audit entry)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.records.models import CreditRecord, ImportJob, ImportRowError, Submission
from chengxin.rights.models import Objection, RepairApplication
from chengxin.sanctions.models import ListEntry


def records_per_month(session: Session, *, months: int = 12,
                      department: str | None = None) -> list[tuple[str, int]]:
    """Records collected per calendar month (by collection time), the last `months`."""
    today = clock.today()
    y, m = today.year, today.month - (months - 1)
    while m <= 0:
        y, m = y - 1, m + 12
    start = dt.datetime(y, m, 1, tzinfo=dt.UTC)
    year = extract("year", CreditRecord.created_at)
    month = extract("month", CreditRecord.created_at)
    q = (select(year, month, func.count()).where(CreditRecord.created_at >= start)
         .group_by(year, month))
    if department:
        q = q.where(CreditRecord.department_code == department)
    counts = {(int(a), int(b)): n for a, b, n in session.execute(q)}
    out = []
    for _ in range(months):
        out.append((f"{y}-{m:02d}", counts.get((y, m), 0)))
        m += 1
        if m > 12:
            y, m = y + 1, 1
    return out


def list_sizes(session: Session) -> list[tuple[str, str, int]]:
    q = (select(ListEntry.list_type, ListEntry.status, func.count())
         .group_by(ListEntry.list_type, ListEntry.status)
         .order_by(ListEntry.list_type, ListEntry.status))
    return [(t, s, n) for t, s, n in session.execute(q)]


def deadlines(session: Session, department: str | None = None) -> dict[str, dict[str, int]]:
    """Objections and repairs still open, and how many of them are past their due date."""
    today = clock.today()
    out = {}
    for name, model, open_status in (("objections", Objection, "open"),
                                     ("repairs", RepairApplication, "submitted")):
        base = select(func.count()).select_from(model).where(model.status == open_status)
        if department:
            base = base.where(model.department_code == department)
        total = session.scalar(base) or 0
        late = session.scalar(base.where(model.due_date < today)) or 0
        out[name] = {"open": total, "overdue": late}
    return out


def submissions(session: Session, department: str, limit: int = 100) -> list[dict[str, Any]]:
    q = (select(Submission).where(Submission.department_code == department)
         .order_by(Submission.at.desc()).limit(limit))
    return [{"id": s.id, "group_code": s.group_code, "channel": s.channel, "at": s.at.isoformat(),
             "rows": s.rows, "accepted": s.accepted, "actor": s.actor}
            for s in session.scalars(q)]


def import_jobs(session: Session, department: str, limit: int = 50) -> list[dict[str, Any]]:
    q = (select(ImportJob).where(ImportJob.department_code == department)
         .order_by(ImportJob.created_at.desc()).limit(limit))
    return [{"id": j.id, "filename": j.filename, "status": j.status, "rejected": j.rejected,
             "held": j.held, "created": j.created, "updated": j.updated,
             "total_rows": j.total_rows, "processed_rows": j.processed_rows,
             "created_at": j.created_at.isoformat(), "message": j.message}
            for j in session.scalars(q)]


def rejected_rows(session: Session, department: str, limit: int = 200) -> list[dict[str, Any]]:
    q = (select(ImportRowError, ImportJob.filename)
         .join(ImportJob, ImportJob.id == ImportRowError.job_id)
         .where(ImportJob.department_code == department)
         .order_by(ImportJob.created_at.desc(), ImportRowError.row).limit(limit))
    return [{"job_id": e.job_id, "filename": fn, "row": e.row, "status": e.status,
             "errors": e.errors or []} for e, fn in session.execute(q)]
