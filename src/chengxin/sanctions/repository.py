"""The queries behind a check: persons' list entries, records and yearly statuses.

Set-based: `facts_for` gathers the facts of many persons with one query per table, so
the check path can load a whole batch of concurrent requests at once; `check_facts` is
the one-person case of the same code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chengxin.archives.models import AnnualStatus
from chengxin.bulk import where_in
from chengxin.dates import age_on
from chengxin.records.models import CreditRecord, GroupMembership
from chengxin.reference.models import CatalogItem
from chengxin.sanctions.models import ListEntry
from chengxin.sanctions.policy import CheckFacts, ListFact, RecordFact
from chengxin.subjects.models import Person

_ANNUAL = {"trustworthy": "trustworthy", "warning": "warning",
           "serious_dishonesty": "serious_dishonesty"}


@dataclass(frozen=True)
class PersonRef:
    """What a check needs of a person besides the facts: who, born when, known since."""
    id: int
    name: str
    birth_date: dt.date
    created_on: dt.date


def check_facts(session: Session, person: Person | None) -> CheckFacts:
    if person is None:
        return CheckFacts(known=False)
    ref = PersonRef(person.id, person.name, person.birth_date, person.created_at.date())
    return facts_for(session, [ref])[person.id]


def persons_by_hash(session: Session, hashes: Iterable[str]) -> dict[str, PersonRef]:
    """Persons by blind index, for a batch of checks."""
    out: dict[str, PersonRef] = {}
    for where in where_in(session, Person.id_hash, sorted(set(hashes))):
        for h, pid, name, birth, created in session.execute(
                select(Person.id_hash, Person.id, Person.name, Person.birth_date,
                       Person.created_at).where(where)):
            out[h] = PersonRef(pid, name, birth, created.date())
    return out


def facts_for(session: Session, persons: Sequence[PersonRef]) -> dict[int, CheckFacts]:
    by_id = {p.id: p for p in persons}
    records: dict[int, list[RecordFact]] = {pid: [] for pid in by_id}
    lists: dict[int, list[ListFact]] = {pid: [] for pid in by_id}
    annual: dict[int, dict[int, str]] = {pid: {} for pid in by_id}
    first_member: dict[int, dt.date] = {}
    ids = sorted(by_id)
    for where in where_in(session, CreditRecord.person_id, ids):
        for pid, rid, sev, pol, st, dd, du in session.execute(
                select(CreditRecord.person_id, CreditRecord.id, CatalogItem.severity,
                       CatalogItem.polarity, CreditRecord.status, CreditRecord.decision_date,
                       CreditRecord.display_until)
                .join(CatalogItem, CatalogItem.code == CreditRecord.item_code).where(where)):
            records[pid].append(RecordFact(rid, sev, pol, st, dd, du,
                                           age_on(by_id[pid].birth_date, dd)))
    for where in where_in(session, ListEntry.person_id, ids):
        for e, rec_status in session.execute(
                select(ListEntry, CreditRecord.status)
                .outerjoin(CreditRecord, CreditRecord.id == ListEntry.record_id).where(where)):
            lists[e.person_id].append(ListFact(
                e.id, e.list_type, e.list_name, e.status, e.listed_on, e.effective_from,
                e.effective_until, e.ended_on, e.basis,
                under_objection=(rec_status == "under_objection")))
    for where in where_in(session, AnnualStatus.person_id, ids):
        for pid, year, status in session.execute(
                select(AnnualStatus.person_id, AnnualStatus.year, AnnualStatus.status)
                .where(where, AnnualStatus.superseded_by.is_(None))
                .order_by(AnnualStatus.decided_at)):
            annual[pid][year] = _ANNUAL.get(status, "trustworthy")
    for where in where_in(session, GroupMembership.person_id, ids):
        for pid, started in session.execute(
                select(GroupMembership.person_id, func.min(GroupMembership.started_on))
                .where(where).group_by(GroupMembership.person_id)):
            if started is not None:
                first_member[pid] = started
    out = {}
    for pid, ref in by_id.items():
        first_record = min((r.decision_date for r in records[pid]), default=None)
        known_since = min(d for d in (first_record, first_member.get(pid), ref.created_on)
                          if d is not None)
        out[pid] = CheckFacts(known=True, known_since=known_since, records=records[pid],
                              lists=lists[pid], annual=annual[pid])
    return out

