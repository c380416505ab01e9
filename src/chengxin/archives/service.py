"""The credit archive (信用档案), yearly status determinations and evidence files.

The archive follows the Anyang 信用信息记录表 (seed 002 附件): basic facts, employment
(key-group memberships), 奖惩情况, 违法违纪违约, complaints, commitments, other; and the
yearly 信用状况 — trustworthy unless a competent department determined otherwise
(填表说明 1: 如无证据证明…一般认定为守信人员), with the evidence attached (填表说明 2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.permissions import allowed
from chengxin.accounts.principal import Principal, Role
from chengxin.archives import evidence as store
from chengxin.archives.models import ANNUAL_STATUSES, AnnualStatus, EvidenceFile
from chengxin.audit.service import record as audit
from chengxin.dates import age_on
from chengxin.errors import AppError, Forbidden, NotFound, ValidationFailed
from chengxin.identity import IdentityError, normalize_id_number
from chengxin.records.models import CreditRecord, GroupMembership, RecordVersion
from chengxin.reference.models import CatalogItem, Department, Group
from chengxin.reference.repository import department_groups
from chengxin.runtime import runtime_of
from chengxin.subjects.models import Person
from chengxin.subjects.service import find_person

# Catalog category -> archive section. The six sections of the brief follow the Anyang
# form's 奖惩情况 / 违法违纪违约 / 投诉申诉 / 其他; employment and evaluation records get
# their own sections rather than being lost in "other".
SECTION_OF_CATEGORY = {
    "red_list": "rewards", "honour": "rewards", "public_welfare": "rewards",
    "penalty": "punishments", "black_list": "punishments",
    "misconduct": "violations", "contract": "violations", "tax": "violations",
    "social_security": "violations", "court_enforcement": "violations",
    "complaint": "complaints",
    "commitment": "commitments",
    "basic": "employment", "employment": "employment", "licence": "employment",
    "evaluation": "evaluations",
}
SECTIONS = ("rewards", "punishments", "violations", "complaints", "commitments",
            "employment", "evaluations", "other")

EVALUATION_ITEM = "EVA-001"  # 年度信用状况认定: a record that is a yearly determination
STATUS_FROM_CHINESE = {"守信": "trustworthy", "警示": "warning", "严重失信": "serious_dishonesty"}
STATUS_LABELS = {"trustworthy": "守信", "warning": "警示", "serious_dishonesty": "严重失信"}
FIRST_YEAR = 2000
NOT_FOUND_MESSAGE = "未找到该人员的信用档案"


# -- shared helpers ----------------------------------------------------------------------
def person_by_id_number(session: Session, raw: str) -> Person:
    """Normalise and find; the messages never quote the number."""
    try:
        id18 = normalize_id_number(raw, today=clock.today())
    except IdentityError as err:
        raise ValidationFailed(err.message, code=err.code, details=[
            {"field": "id_number", "message": err.message}]) from None
    person = find_person(session, id18)
    if person is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return person


def _uploader(actor: Principal) -> str:
    return f"{actor.kind}:{actor.id}"


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


# -- archive -----------------------------------------------------------------------------
def get_archive(session: Session, *, actor: Principal, person: Person,
                purpose: str | None = None) -> dict[str, Any]:
    today = clock.today()
    memberships = _memberships(session, person.id)
    records = _records(session, person.id)
    sections: dict[str, list[dict[str, Any]]] = {name: [] for name in SECTIONS}
    for rec in records:
        sections[SECTION_OF_CATEGORY.get(rec["category"], "other")].append(rec)
    determinations = _determinations(session, person.id, records)
    years = _years(records, memberships, determinations, today)
    negative_by_year: dict[int, int] = {}
    for rec in records:
        if rec["polarity"] == "negative" and rec["status"] != "deleted":
            year = int(rec["decision_date"][:4])
            negative_by_year[year] = negative_by_year.get(year, 0) + 1
    latest: dict[int, dict[str, Any]] = {}
    for d in determinations:  # sorted oldest first: the last one per year wins
        latest[d["year"]] = d
    annual = []
    for year in years:
        d = latest.get(year)
        entry: dict[str, Any]
        if d is None:
            entry = {"year": year, "status": "trustworthy", "status_label": "守信",
                     "determined": False}
        else:
            entry = {"year": year, "determined": True,
                     **{k: d[k] for k in ("status", "status_label", "source", "id", "record_id",
                                          "group_code", "department_code", "department_name",
                                          "basis", "evidence_ids", "decided_at")}}
        entry["negative_records"] = negative_by_year.get(year, 0)
        annual.append(entry)
    out = {
        "basic": {
            "person_id": person.id, "name": person.name,
            "id_number_masked": person.id_masked,
            "sex": person.sex, "sex_label": "男" if person.sex == "M" else "女",
            "birth_date": person.birth_date.isoformat(),
            "age": age_on(person.birth_date, today),
            "region_code": person.region_code,
        },
        "memberships": memberships,
        "sections": sections,
        "annual_status": annual,
        "history": list(reversed(determinations)),
        "generated_at": clock.now().isoformat(),
    }
    audit(session, actor, "archive.read", object_type="person", object_id=person.id,
          subject_person_id=person.id, purpose=purpose or "信用档案查询",
          details={"records": len(records), "memberships": len(memberships),
                   "determinations": len(determinations)})
    from chengxin.rights.querylog import log_query

    log_query(session, actor=actor, person_id=person.id, channel="staff", what="archive",
              purpose=purpose or "信用档案查询")
    return out


def _memberships(session: Session, person_id: int) -> list[dict[str, Any]]:
    q = (select(GroupMembership, Group.name, Department.name)
         .join(Group, Group.code == GroupMembership.group_code)
         .join(Department, Department.code == GroupMembership.department_code)
         .where(GroupMembership.person_id == person_id)
         .order_by(GroupMembership.started_on, GroupMembership.id))
    return [
        {"group_code": m.group_code, "group_name": group_name,
         "department_code": m.department_code, "department_name": dept_name,
         "employer": m.employer, "position": m.position,
         "started_on": _iso(m.started_on), "ended_on": _iso(m.ended_on),
         "record_id": m.record_id, "updated_at": m.updated_at.isoformat()}
        for m, group_name, dept_name in session.execute(q)]


def _records(session: Session, person_id: int) -> list[dict[str, Any]]:
    """Every record of the person (derived ones included), with the current version's
    content, in one query."""
    q = (select(CreditRecord, CatalogItem.name, CatalogItem.category, CatalogItem.polarity,
                CatalogItem.list_type, Department.name, RecordVersion.payload)
         .join(CatalogItem, CatalogItem.code == CreditRecord.item_code)
         .join(Department, Department.code == CreditRecord.department_code)
         .outerjoin(RecordVersion, and_(RecordVersion.record_id == CreditRecord.id,
                                        RecordVersion.version == CreditRecord.version))
         .where(CreditRecord.person_id == person_id)
         .order_by(CreditRecord.decision_date.desc(), CreditRecord.id.desc()))
    out = []
    for rec, item_name, category, polarity, list_type, dept_name, payload in session.execute(q):
        payload = payload or {}
        out.append({
            "record_id": rec.id, "item_code": rec.item_code, "item_name": item_name,
            "category": category, "polarity": polarity, "list": list_type,
            "department_code": rec.department_code, "department_name": dept_name,
            "document_no": rec.document_no, "group_code": rec.group_code,
            "decision_date": rec.decision_date.isoformat(),
            "valid_until": _iso(rec.valid_until), "display_until": _iso(rec.display_until),
            "status": rec.status, "version": rec.version,
            "content": payload.get("content"), "legal_basis": payload.get("legal_basis"),
            "attributes": payload.get("attributes") or {},
            "derived_from": rec.derived_from, "derived_role": rec.derived_role,
            "updated_at": rec.updated_at.isoformat(),
            "_updated_at": rec.updated_at,
        })
    return out


def _determinations(session: Session, person_id: int,
                    records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """AnnualStatus rows and EVA-001 records as one list, oldest decision first.

    Order: the day of the decision (an EVA-001 record's decision date; the China date of
    an AnnualStatus row's decided_at), then the time the platform recorded it. The last
    one for a year is that year's status.
    """
    out: list[tuple[tuple[dt.date, dt.datetime], dict[str, Any]]] = []
    q = (select(AnnualStatus, Department.name)
         .join(Department, Department.code == AnnualStatus.department_code)
         .where(AnnualStatus.person_id == person_id))
    for a, dept_name in session.execute(q):
        key = (a.decided_at.astimezone(clock.CHINA).date(), a.decided_at)
        out.append((key, {
            "source": "determination", "id": a.id, "record_id": None, "year": a.year,
            "status": a.status, "status_label": STATUS_LABELS.get(a.status, a.status),
            "group_code": a.group_code, "department_code": a.department_code,
            "department_name": dept_name, "basis": a.basis,
            "evidence_ids": list(a.evidence_ids or []), "decided_at": a.decided_at.isoformat(),
            "superseded_by": a.superseded_by}))
    for rec in records:
        if rec["item_code"] != EVALUATION_ITEM or rec["status"] == "deleted":
            continue
        attrs = rec["attributes"]
        status = STATUS_FROM_CHINESE.get(str(attrs.get("status")))
        year = _as_year(attrs.get("year"))
        if status is None or year is None:
            continue  # validated at collection; an old malformed row is not a determination
        day = dt.date.fromisoformat(rec["decision_date"])
        out.append(((day, rec["_updated_at"]), {
            "source": "record", "id": None, "record_id": rec["record_id"], "year": year,
            "status": status, "status_label": STATUS_LABELS[status],
            "group_code": rec["group_code"], "department_code": rec["department_code"],
            "department_name": rec["department_name"],
            "basis": attrs.get("facts") or rec["content"],
            "evidence_ids": [], "evidence_note": attrs.get("evidence"),
            "decided_at": rec["decision_date"], "superseded_by": None,
            "record_status": rec["status"]}))
    out.sort(key=lambda pair: pair[0])
    for rec in records:
        rec.pop("_updated_at", None)
    return [d for _, d in out]


def _as_year(value: Any) -> int | None:
    try:
        year = int(float(value))
    except (TypeError, ValueError):
        return None
    return year if FIRST_YEAR <= year <= 9999 else None


def _years(records: list[dict[str, Any]], memberships: list[dict[str, Any]],
           determinations: list[dict[str, Any]], today: dt.date) -> list[int]:
    """From the first year with a record, membership or determination to this year."""
    firsts = [int(r["decision_date"][:4]) for r in records]
    firsts += [int((m["started_on"] or m["updated_at"])[:4]) for m in memberships]
    firsts += [d["year"] for d in determinations]
    if not firsts:
        return []
    start = max(FIRST_YEAR, min(firsts))
    return list(range(start, today.year + 1))


# -- yearly status -----------------------------------------------------------------------
def determine_annual_status(session: Session, *, actor: Principal, person: Person, year: int,
                            status: str, group_code: str, basis: str | None,
                            evidence_ids: Sequence[int]) -> dict[str, Any]:
    """A department's yearly determination for a member of a group it supervises.

    A negative determination (警示 / 严重失信) needs its basis and at least one evidence
    file uploaded by the same department (填表说明 2). A new determination for the same
    person, year and group supersedes the previous one, which stays as history.
    """
    today = clock.today()
    details: list[dict[str, str]] = []
    if not FIRST_YEAR <= year <= today.year:
        details.append({"field": "year", "message": f"年度应在 {FIRST_YEAR} 至 {today.year} 之间"})
    if status not in ANNUAL_STATUSES:
        details.append({"field": "status",
                        "message": "应为 trustworthy、warning 或 serious_dishonesty"})
    basis = (basis or "").strip()
    ids = list(dict.fromkeys(evidence_ids))
    if status in ("warning", "serious_dishonesty"):
        if not basis:
            details.append({"field": "basis", "message": "认定警示或严重失信须写明认定事实和依据"})
        if not ids:
            details.append({"field": "evidence_ids", "message": "认定警示或严重失信须附证明材料"})
    if details:
        raise ValidationFailed("年度信用状况认定数据校验失败", details=details)

    dept = actor.department_code
    if actor.role not in (Role.REPORTER, Role.SYSTEM) or not dept:
        raise Forbidden("只有主管部门可以认定年度信用状况", code="not_responsible")
    if group_code not in department_groups(session, dept):
        raise Forbidden("本部门不负责该重点人群", code="not_responsible")
    is_member = session.scalar(select(exists().where(
        GroupMembership.person_id == person.id, GroupMembership.group_code == group_code)))
    has_record = session.scalar(select(exists().where(
        CreditRecord.person_id == person.id, CreditRecord.department_code == dept)))
    if not (is_member or has_record):
        raise Forbidden("该人员不属于本部门负责的重点人群", code="not_responsible")

    if ids:
        found = {e.id: e for e in session.scalars(
            select(EvidenceFile).where(EvidenceFile.id.in_(ids)))}
        bad = [{"field": f"evidence_ids.{i}", "message": "证明材料不存在或不是本部门上传的"}
               for i, eid in enumerate(ids)
               if eid not in found or found[eid].department_code != dept]
        if bad:
            raise ValidationFailed("证明材料无效", details=bad)

    now = clock.now()
    previous = list(session.scalars(select(AnnualStatus).where(
        AnnualStatus.person_id == person.id, AnnualStatus.year == year,
        AnnualStatus.group_code == group_code, AnnualStatus.superseded_by.is_(None))
        .with_for_update()))
    row = AnnualStatus(person_id=person.id, year=year, status=status, group_code=group_code,
                       department_code=dept, basis=basis, evidence_ids=ids, decided_at=now,
                       decided_by=actor.name)
    session.add(row)
    session.flush()
    for old in previous:
        old.superseded_by = row.id
    session.flush()
    audit(session, actor, "annual_status.determine", object_type="annual_status",
          object_id=row.id, subject_person_id=person.id,
          details={"year": year, "status": status, "group_code": group_code,
                   "evidence_ids": ids, "supersedes": [o.id for o in previous]})
    return {"id": row.id, "person_id": person.id, "id_number_masked": person.id_masked,
            "year": year, "status": status, "status_label": STATUS_LABELS[status],
            "group_code": group_code, "department_code": dept, "basis": basis,
            "evidence_ids": ids, "decided_at": now.isoformat(),
            "supersedes": [o.id for o in previous]}


# -- evidence files ----------------------------------------------------------------------
class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


def evidence_cap(session: Session) -> int:
    return store.size_cap(runtime_of(session).settings.max_upload_mb)


def too_large(cap: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"文件过大，证明材料不能超过 {cap // (1024 * 1024)} MB")


def upload_evidence(session: Session, *, actor: Principal, source: BinaryIO,
                    filename: str | None) -> dict[str, Any]:
    settings = runtime_of(session).settings
    cap = evidence_cap(session)
    try:
        stored = store.store(source, Path(settings.storage_dir), cap)
    except store.EvidenceRejected as err:
        if err.kind == "too_large":
            raise too_large(cap) from None
        if err.kind == "empty":
            raise ValidationFailed("文件为空", code="empty_file", details=[
                {"field": "file", "message": "文件为空"}]) from None
        raise UnsupportedMediaType("不支持的文件类型：仅接受 PDF、JPEG、PNG、DOCX、XLSX") from None
    row = EvidenceFile(
        sha256=stored.sha256, filename=store.sanitize_filename(filename, stored.content_type),
        content_type=stored.content_type, size=stored.size, stored_path=stored.relative_path,
        department_code=actor.department_code, uploaded_by=_uploader(actor),
        created_at=clock.now())
    session.add(row)
    session.flush()
    audit(session, actor, "evidence.upload", object_type="evidence", object_id=row.id,
          subject_person_id=actor.person_id,
          details={"sha256": row.sha256, "size": row.size, "content_type": row.content_type})
    return {"id": row.id, "sha256": row.sha256, "size": row.size,
            "content_type": row.content_type, "filename": row.filename}


def evidence_for_download(session: Session, *, actor: Principal,
                          evidence_id: int) -> tuple[Path, EvidenceFile]:
    """Credit-office readers, the uploading department, or the uploader themself."""
    row = session.get(EvidenceFile, evidence_id)
    if row is None:
        raise NotFound("证明材料不存在")
    same_department = (actor.role in (Role.REPORTER, Role.SYSTEM)
                       and actor.department_code is not None
                       and actor.department_code == row.department_code)
    if not (allowed(actor, "archives.read") or same_department
            or row.uploaded_by == _uploader(actor)):
        raise Forbidden("无权查看该证明材料")
    path = store.resolve(Path(runtime_of(session).settings.storage_dir), row.stored_path)
    if path is None:
        raise NotFound("证明材料文件已不存在")
    audit(session, actor, "evidence.read", object_type="evidence", object_id=row.id,
          details={"sha256": row.sha256})
    return path, row
