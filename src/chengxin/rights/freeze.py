"""The person's freeze of third-party queries (like a credit freeze).

Only authorised third-party queries consult it (`use_authorization`); statutory
government sharing and joint-sanction checks do not. A refused third party is never
told that a freeze is the reason. History is kept: lifting sets `lifted_at`, a new
freeze is a new row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal
from chengxin.audit.service import record
from chengxin.rights.common import own_person
from chengxin.rights.models import Freeze


def is_frozen(session: Session, person_id: int) -> bool:
    return session.scalar(select(Freeze.id).where(
        Freeze.person_id == person_id, Freeze.lifted_at.is_(None)).limit(1)) is not None


def _active(session: Session, person_id: int) -> list[Freeze]:
    return list(session.scalars(select(Freeze).where(
        Freeze.person_id == person_id, Freeze.lifted_at.is_(None)).order_by(Freeze.id)))


def freeze(session: Session, *, actor: Principal) -> dict[str, Any]:
    """Freeze; freezing again while frozen changes nothing."""
    person_id = own_person(actor)
    if not _active(session, person_id):
        row = Freeze(person_id=person_id, since=clock.now())
        session.add(row)
        session.flush()
        record(session, actor, "freeze.create", object_type="freeze", object_id=row.id,
               subject_person_id=person_id)
    return status(session, actor=actor, audit=False)


def lift(session: Session, *, actor: Principal) -> dict[str, Any]:
    person_id = own_person(actor)
    now = clock.now()
    for row in _active(session, person_id):  # normally one; two after a race
        row.lifted_at = now
        record(session, actor, "freeze.lift", object_type="freeze", object_id=row.id,
               subject_person_id=person_id)
    session.flush()
    return status(session, actor=actor, audit=False)


def status(session: Session, *, actor: Principal, audit: bool = True) -> dict[str, Any]:
    person_id = own_person(actor)
    rows = list(session.scalars(select(Freeze).where(Freeze.person_id == person_id)
                                .order_by(Freeze.id.desc()).limit(50)))
    active = next((r for r in rows if r.lifted_at is None), None)
    if audit:
        record(session, actor, "freeze.read", object_type="person", object_id=person_id,
               subject_person_id=person_id)
    return {
        "frozen": active is not None,
        "since": active.since.isoformat() if active else None,
        "history": [{"id": r.id, "since": r.since.isoformat(),
                     "lifted_at": r.lifted_at.isoformat() if r.lifted_at else None}
                    for r in rows],
    }
