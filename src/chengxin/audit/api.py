"""The auditor's window on the log: read and verify. There is no route that writes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from chengxin.accounts.principal import Principal
from chengxin.audit.models import AuditEntry
from chengxin.audit.service import record
from chengxin.audit.verify import verify_chain
from chengxin.deps import RuntimeDep, require

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


def entry_dict(e: AuditEntry) -> dict[str, Any]:
    return {
        "seq": e.seq, "at": e.at.isoformat(), "actor_type": e.actor_type, "actor_id": e.actor_id,
        "actor_role": e.actor_role, "department": e.department_code, "action": e.action,
        "object_type": e.object_type, "object_id": e.object_id,
        "subject_person_id": e.subject_person_id, "purpose": e.purpose, "outcome": e.outcome,
        "details": e.details, "hash": e.hash,
    }


@router.get("")
def list_entries(
    rt: RuntimeDep,
    actor: Annotated[Principal, Depends(require("audit.read"))],
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: Annotated[str | None, Query(max_length=64)] = None,
    subject_person_id: Annotated[int | None, Query(ge=1)] = None,
    since: dt.date | None = None,
) -> dict[str, Any]:
    with rt.uow() as s:
        stmt = select(AuditEntry).where(AuditEntry.seq > after)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        if subject_person_id:
            stmt = stmt.where(AuditEntry.subject_person_id == subject_person_id)
        if since:
            stmt = stmt.where(AuditEntry.at >= dt.datetime.combine(since, dt.time(), dt.UTC))
        rows = list(s.scalars(stmt.order_by(AuditEntry.seq).limit(limit)))
        # Reading the log is itself an event worth keeping.
        record(s, actor, "audit.read", details={"after": after, "count": len(rows)})
        return {"entries": [entry_dict(e) for e in rows],
                "next_after": rows[-1].seq if rows else after}


@router.get("/verify")
def verify(rt: RuntimeDep,
           actor: Annotated[Principal, Depends(require("audit.read"))]) -> dict[str, Any]:
    with rt.uow() as s:
        result = verify_chain(s)
        record(s, actor, "audit.verify", outcome="success" if result.ok else "failed",
               details={"entries": result.entries, "first_bad_seq": result.first_bad_seq})
    return {"ok": result.ok, "entries": result.entries, "first_bad_seq": result.first_bad_seq,
            "problem": result.problem}
