"""What the public portal shows: disclosed serious dishonesty and the honours list.

Only public items within their display period, never about a child under 14, never a
minor's light dishonesty, always masked, free text scrubbed of ID and phone numbers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.dates import add_months
from chengxin.disclosure.rules import SHOWN_STATUSES
from chengxin.identity import mask_id_number, mask_name, scrub_text
from chengxin.records.models import CreditRecord, RecordVersion
from chengxin.reference.models import CatalogItem, Department
from chengxin.sanctions.policy import minor_light
from chengxin.subjects.models import Organization, Person

KIND_FILTERS = {
    # serious dishonesty: black lists and serious negative items the catalog marks public
    "disclosures": (CatalogItem.polarity == "negative") & (
        (CatalogItem.severity == "serious") | (CatalogItem.list_type == "black")),
    "honors": CatalogItem.polarity == "positive",
}


def search(session: Session, kind: str, q: str | None, *, limit: int = 50,
           offset: int = 0) -> dict[str, Any]:
    today = clock.today()
    min_birth_public = add_months(today, -12 * 14)  # born after this: under 14 today
    stmt = (
        select(CreditRecord, CatalogItem.name, CatalogItem.severity, Department.name,
               Person.birth_date, Person.name, Organization.name,
               Organization.uscc, RecordVersion.payload)
        .join(CatalogItem, CatalogItem.code == CreditRecord.item_code)
        .join(Department, Department.code == CreditRecord.department_code)
        .join(RecordVersion, (RecordVersion.record_id == CreditRecord.id)
              & (RecordVersion.version == CreditRecord.version))
        .outerjoin(Person, Person.id == CreditRecord.person_id)
        .outerjoin(Organization, Organization.id == CreditRecord.organization_id)
        .where(KIND_FILTERS[kind], CatalogItem.visibility == "public",
               CreditRecord.status.in_(SHOWN_STATUSES),
               # 落实到人 copies are about natural persons through an organisation's case:
               # shared and queried, never published (浙江 art. 15, 山东 art. 20).
               CreditRecord.derived_from.is_(None),
               CreditRecord.display_until.is_not(None), CreditRecord.display_until >= today,
               or_(Person.id.is_(None), Person.birth_date <= min_birth_public))
        .order_by(CreditRecord.decision_date.desc(), CreditRecord.id.desc())
    )
    if q:
        term = q.strip()[:50]
        stmt = stmt.where(or_(Person.name == term, Organization.name.contains(term),
                              Organization.uscc == term.upper()))
    rows = session.execute(stmt.offset(offset).limit(limit * 2 + 10)).all()
    items = []
    for rec, item_name, severity, dept_name, birth, pname, oname, uscc, payload in rows:
        if birth is not None and minor_light(birth, rec.decision_date, severity):
            continue
        items.append(_item(rec, item_name, dept_name, pname, payload, oname, uscc))
        if len(items) >= limit:
            break
    return {"items": items, "count": len(items), "as_of": today.isoformat()}


def _item(rec: CreditRecord, item_name: str, dept_name: str, pname: str | None,
          payload: dict, oname: str | None, uscc: str | None) -> dict[str, Any]:
    if rec.person_id:
        masked = payload.get("subject", {}).get("id_masked") or ""
        subject = {"type": "person", "name_masked": mask_name(pname or "", "public"),
                   "id_number_masked": _public_from_staff(masked)}
    else:
        subject = {"type": "organization", "name": oname, "uscc": uscc}
    return {
        "record_id": rec.id, "subject": subject, "item": item_name,
        "decision_date": rec.decision_date.isoformat(), "department": dept_name,
        "document_no": rec.document_no, "display_until": rec.display_until.isoformat()
        if rec.display_until else None,
        "content": scrub_text(payload.get("content") or ""),
        "under_objection": rec.status == "under_objection",
    }


def _public_from_staff(staff_mask: str) -> str:
    """The staff mask keeps 6+4 characters; the public one only 4+4."""
    if len(staff_mask) != 18:
        return mask_id_number("", "public")
    return staff_mask[:4] + "*" * 10 + staff_mask[-4:]
