"""Assembling a report's content, in sections modelled on the national report standard
(公共信用信息报告标准 2022; domain-rules §6): identity, summary, positive information,
negative information with its state, lists, commitments, objections and statements,
query records — and for the occupational report, groups and yearly statuses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.archives.models import AnnualStatus
from chengxin.disclosure.rules import SHOWN_STATUSES, effective_status, is_public
from chengxin.identity import mask_id_number, mask_name, scrub_text
from chengxin.records.models import CreditRecord, GroupMembership, RecordVersion
from chengxin.reference.models import CatalogItem, Department, Group
from chengxin.rights.models import Objection, QueryLog, Statement
from chengxin.sanctions import policy as sanction_policy
from chengxin.sanctions.models import ListEntry
from chengxin.sanctions.repository import check_facts
from chengxin.subjects.models import Person

STATUS_LABELS = {"active": "有效", "under_objection": "异议处理中", "corrected": "已更正",
                 "deleted": "已删除", "repaired": "已修复", "expired": "已过展示期"}
CREDIT_STATUS = {"trustworthy": "守信", "warning": "警示", "serious_dishonesty": "严重失信",
                 "unknown": "无记录"}


def _visible(audience: str, rec: CreditRecord, visibility: str, severity: str | None,
             person: Person, today: dt.date) -> bool:
    """The person sees all of their record but what was deleted as wrong; a third party
    sees what may be shared: not internal, shown now, not repaired (修复 = 停止共享),
    within its display period, never a minor's light dishonesty."""
    if audience == "self":
        return rec.status != "deleted"
    if visibility == "internal":
        return False
    if effective_status(rec.status, rec.display_until, today) not in SHOWN_STATUSES:
        return False
    return not sanction_policy.minor_light(person.birth_date, rec.decision_date, severity)


def build(session: Session, person: Person, *, kind: str, audience: str,
          id18: str) -> dict[str, Any]:
    today = clock.today()
    rows = session.execute(
        select(CreditRecord, CatalogItem, Department.name, RecordVersion.payload)
        .join(CatalogItem, CatalogItem.code == CreditRecord.item_code)
        .join(Department, Department.code == CreditRecord.department_code)
        .join(RecordVersion, (RecordVersion.record_id == CreditRecord.id)
              & (RecordVersion.version == CreditRecord.version))
        .where(CreditRecord.person_id == person.id)
        .order_by(CreditRecord.decision_date.desc(), CreditRecord.id.desc())).all()
    positive, negative, commitments, neutral = [], [], [], []
    for rec, item, dept_name, payload in rows:
        if not _visible(audience, rec, item.visibility, item.severity, person, today):
            continue
        entry = _record_entry(rec, item, dept_name, payload, person, today)
        if item.category == "commitment":
            commitments.append(entry)
        elif item.polarity == "negative":
            negative.append(entry)
        elif item.polarity == "positive":
            positive.append(entry)
        else:
            neutral.append(entry)
    facts = check_facts(session, person)
    _, status, _ = sanction_policy.flags(facts, today)
    lists = _lists(session, person, audience, today)
    doc: dict[str, Any] = {
        "kind": kind,
        "title": "职业信用报告" if kind == "occupational" else "个人公共信用信息报告",
        "as_of": today.isoformat(),
        "identity": {
            "name": person.name if audience != "public" else mask_name(person.name, "public"),
            "id_number_masked": mask_id_number(id18, "public"),
            "sex": {"M": "男", "F": "女"}.get(person.sex, ""),
            "birth_year": person.birth_date.year,
        },
        "summary": {
            "credit_status": status, "credit_status_label": CREDIT_STATUS[status],
            "positive": len(positive), "negative": len(negative),
            "negative_active": sum(1 for n in negative if n["status"] in SHOWN_STATUSES),
            "lists": sum(1 for e in lists if e["in_effect"]), "commitments": len(commitments),
        },
        "positive": positive,
        "negative": negative,
        "other": neutral,
        "lists": lists,
        "commitments": commitments,
        "objections": _objections(session, person) if audience == "self" else [],
        "statements": _statements(session, person),
        "queries": _queries(session, person) if audience == "self" else [],
    }
    if kind == "occupational":
        doc["occupation"] = _occupation(session, person)
    return doc


def _record_entry(rec: CreditRecord, item: CatalogItem, dept_name: str, payload: dict,
                  person: Person, today: dt.date) -> dict[str, Any]:
    status = effective_status(rec.status, rec.display_until, today)
    return {
        "record_id": rec.id, "item_code": item.code, "item": item.name,
        "category": item.category, "severity": item.severity, "department": dept_name,
        "document_no": rec.document_no, "decision_date": rec.decision_date.isoformat(),
        "content": scrub_text(payload.get("content") or ""),
        "legal_basis": payload.get("legal_basis"),
        "status": status, "status_label": STATUS_LABELS.get(status, status),
        "public": is_public(status=rec.status, visibility=item.visibility,
                            display_until=rec.display_until, severity=item.severity,
                            birth=person.birth_date, decision_date=rec.decision_date,
                            today=today, derived=rec.derived_from is not None),
        "display_until": rec.display_until.isoformat() if rec.display_until else None,
        "derived_role": rec.derived_role,
    }


def _lists(session: Session, person: Person, audience: str, today: dt.date) -> list[dict]:
    out = []
    for e in session.scalars(select(ListEntry).where(ListEntry.person_id == person.id)
                             .order_by(ListEntry.listed_on.desc())):
        in_effect = e.status == "active" and (e.effective_from is None or e.effective_from <= today) \
            and (e.effective_until is None or e.effective_until >= today)
        if audience != "self" and not in_effect:
            continue
        out.append({"type": e.list_type, "name": e.list_name, "status": e.status,
                    "in_effect": in_effect, "listed_on": e.listed_on.isoformat(),
                    "effective_from": e.effective_from.isoformat() if e.effective_from else None,
                    "effective_until": e.effective_until.isoformat() if e.effective_until else None,
                    "basis": e.basis, "decision_document": e.decision_document})
    return out


def _objections(session: Session, person: Person) -> list[dict]:
    return [{"id": o.id, "record_id": o.record_id, "status": o.status, "outcome": o.outcome,
             "due_date": o.due_date.isoformat(), "filed": o.created_at.date().isoformat()}
            for o in session.scalars(select(Objection).where(Objection.person_id == person.id)
                                     .order_by(Objection.id.desc()))]


def _statements(session: Session, person: Person) -> list[dict]:
    return [{"record_id": s.record_id, "list_entry_id": s.list_entry_id,
             "text": scrub_text(s.text), "date": s.created_at.date().isoformat()}
            for s in session.scalars(select(Statement).where(Statement.person_id == person.id)
                                     .order_by(Statement.id))]


def _queries(session: Session, person: Person) -> list[dict]:
    since = clock.now() - dt.timedelta(days=730)
    return [{"date": q.at.date().isoformat(), "organization": q.organization or q.channel,
             "purpose": q.purpose, "channel": q.channel}
            for q in session.scalars(select(QueryLog).where(
                QueryLog.person_id == person.id, QueryLog.at >= since)
                .order_by(QueryLog.at.desc()).limit(200))]


def _occupation(session: Session, person: Person) -> dict[str, Any]:
    groups = [{"group": name, "employer": m.employer, "position": m.position,
               "started_on": m.started_on.isoformat() if m.started_on else None}
              for m, name in session.execute(
                  select(GroupMembership, Group.name).join(Group, Group.code == GroupMembership.group_code)
                  .where(GroupMembership.person_id == person.id))]
    annual = {}
    for a in session.scalars(select(AnnualStatus).where(
            AnnualStatus.person_id == person.id, AnnualStatus.superseded_by.is_(None))
            .order_by(AnnualStatus.decided_at)):
        annual[a.year] = a.status
    years = range(clock.today().year - 4, clock.today().year + 1)
    return {"groups": groups,
            "annual_status": [{"year": y, "status": annual.get(y, "trustworthy"),
                               "label": CREDIT_STATUS[annual.get(y, "trustworthy")],
                               "determined": y in annual} for y in years]}
