"""One person, one identity: find or register a person by their ID number."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.identity import mask_id_number, normalize_id_number, parse_id_number
from chengxin.runtime import runtime_of
from chengxin.subjects.models import Person

ID_DOMAIN = "person.id_number"
PHONE_DOMAIN = "person.phone"


def id_hash(session: Session, id18: str) -> str:
    return runtime_of(session).blind.digest(id18, domain=ID_DOMAIN)


def find_person(session: Session, id18: str) -> Person | None:
    return session.scalar(select(Person).where(Person.id_hash == id_hash(session, id18)))


@dataclass
class Resolved:
    person: Person
    created: bool
    name_matches: bool


def resolve_person(session: Session, raw_id: str, name: str) -> Resolved:
    """Find the person with this ID number, registering them if new.

    The caller decides what to do when the name differs from the one already known
    (records hold such rows for review rather than merging them silently).
    """
    id18 = normalize_id_number(raw_id, today=clock.today())
    existing = find_person(session, id18)
    if existing is not None:
        return Resolved(existing, False, existing.name == name.strip())
    info = parse_id_number(id18)
    rt = runtime_of(session)
    person = Person(
        id_hash=rt.blind.digest(id18, domain=ID_DOMAIN),
        id_enc=rt.cipher.encrypt(id18, context=ID_DOMAIN),
        id_masked=mask_id_number(id18, "staff"),
        name=name.strip(),
        birth_date=info.birth_date,
        sex=info.sex,
        region_code=info.region_code,
        created_at=clock.now(),
    )
    session.add(person)
    session.flush()
    return Resolved(person, True, True)


def reveal_id_number(session: Session, person: Person) -> str:
    """The ID number in clear: only for the person themself or a role that needs it;
    callers audit the read."""
    return runtime_of(session).cipher.decrypt(person.id_enc, context=ID_DOMAIN)
