"""The queries behind a check: a person's list entries, records and yearly statuses."""

from __future__ import annotations


from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chengxin.archives.models import AnnualStatus
from chengxin.dates import age_on
from chengxin.records.models import CreditRecord, GroupMembership
from chengxin.reference.models import CatalogItem
from chengxin.sanctions.models import ListEntry
from chengxin.sanctions.policy import CheckFacts, ListFact, RecordFact
from chengxin.subjects.models import Person

_ANNUAL = {"trustworthy": "trustworthy", "warning": "warning",
           "serious_dishonesty": "serious_dishonesty"}


def check_facts(session: Session, person: Person | None) -> CheckFacts:
    if person is None:
        return CheckFacts(known=False)
    rows = session.execute(
        select(CreditRecord.id, CatalogItem.severity, CatalogItem.polarity, CreditRecord.status,
               CreditRecord.decision_date, CreditRecord.display_until)
        .join(CatalogItem, CatalogItem.code == CreditRecord.item_code)
        .where(CreditRecord.person_id == person.id))
    records = [RecordFact(rid, sev, pol, st, dd, du, age_on(person.birth_date, dd))
               for rid, sev, pol, st, dd, du in rows]
    entries = session.execute(
        select(ListEntry, CreditRecord.status)
        .outerjoin(CreditRecord, CreditRecord.id == ListEntry.record_id)
        .where(ListEntry.person_id == person.id))
    lists = [ListFact(e.id, e.list_type, e.list_name, e.status, e.listed_on, e.effective_from,
                      e.effective_until, e.ended_on, e.basis,
                      under_objection=(rec_status == "under_objection"))
             for e, rec_status in entries]
    annual: dict[int, str] = {}
    for year, status in session.execute(
            select(AnnualStatus.year, AnnualStatus.status)
            .where(AnnualStatus.person_id == person.id, AnnualStatus.superseded_by.is_(None))
            .order_by(AnnualStatus.decided_at)):
        annual[year] = _ANNUAL.get(status, "trustworthy")
    first_record = min((r.decision_date for r in records), default=None)
    first_member = session.scalar(select(func.min(GroupMembership.started_on)).where(
        GroupMembership.person_id == person.id))
    known_since = min(d for d in (first_record, first_member,
                                  person.created_at.date()) if d is not None)
    return CheckFacts(known=True, known_since=known_since, records=records, lists=lists,
                      annual=annual)
