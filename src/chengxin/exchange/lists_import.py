"""Receiving a list published above: 失信被执行人 (court dishonest judgment debtors).

Each entry becomes a BLK-002 record of the court (410522-fy, the catalog's provider for
that item) through the one ingestion path, identified by its case number (案号 =
document_no), so re-sending the same list changes nothing. An entry sent as `removed` sets
the record's status to `deleted` (the court's decision takes it off the list: 屏蔽/撤销,
法释〔2017〕7号 art. 10–12); the list entry resting on it ends with reason `decision`.
Minors are never listed (same rules, art. 1 note; domain-rules §2): a row whose subject is
under 18 on `published_on` is refused, with nothing stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chengxin.accounts.principal import Principal, Role
from chengxin.audit.service import record as audit
from chengxin.errors import AppError, Forbidden, ValidationFailed
from chengxin.identity import IdentityError, age_on, normalize_id_number
from chengxin.records.ingest import RowResult, ingest
from chengxin.records.models import CreditRecord
from chengxin.records.states import change_status
from chengxin.records.validation import parse_date
from chengxin.reference.models import Department

LISTS = {"court_dishonest_debtors": {"item_code": "BLK-002", "department": "410522-fy"}}
MAX_ENTRIES = 10_000
LEGAL_BASIS = "《最高人民法院关于公布失信被执行人名单信息的若干规定》（法释〔2017〕7号）第一条"
_ENTRY_FIELDS = {"name", "id_number", "uscc", "case_no", "court", "filing_date", "obligation",
                 "performance", "dishonest_situation", "enforcement_basis_unit",
                 "enforcement_basis_no", "published_on", "status"}


class ListRejected(AppError):
    status = 422
    code = "batch_rejected"


def ensure_list_importer(session: Session, actor: Principal) -> None:
    """The credit office's admin, or a system key of a credit office department."""
    if actor.role == Role.ADMIN:
        return
    if actor.role == Role.SYSTEM and actor.department_code:
        dept = session.get(Department, actor.department_code)
        if dept is not None and dept.is_credit_office and dept.active:
            return
    raise Forbidden("仅信用办管理员或信用办系统密钥可以导入名单", code="not_credit_office")


def _err(row: int, field: str, message: str, code: str = "invalid") -> dict[str, Any]:
    return {"row": row, "field": field, "message": message, "code": code}


def _to_record(entry: dict[str, Any], n: int, item_code: str
               ) -> tuple[dict[str, Any] | None, str, list[dict[str, Any]]]:
    """(api.md row or None, status, errors) for one list entry."""
    errors: list[dict[str, Any]] = []
    for key in sorted(set(entry) - _ENTRY_FIELDS):
        errors.append(_err(n, str(key)[:64], "未知字段", "unknown_field"))
    status = entry.get("status", "listed")
    if status not in ("listed", "removed"):
        errors.append(_err(n, "status", "状态应为 listed 或 removed", "enum"))
    case_no = entry.get("case_no")
    if not isinstance(case_no, str) or not case_no.strip():
        errors.append(_err(n, "case_no", "案号不能为空", "required"))
    published = parse_date(entry.get("published_on"))
    if published is None:
        errors.append(_err(n, "published_on", "公布日期应为有效日期，格式 YYYY-MM-DD", "date"))
    is_person = not entry.get("uscc")
    if is_person:
        try:
            id18 = normalize_id_number(str(entry.get("id_number") or ""))
        except IdentityError:
            errors.append(_err(n, "id_number", "身份证号码无效", "invalid_id_number"))
            id18 = None
        if id18 and published is not None:
            try:
                minor = age_on(id18, published) < 18
            except ValueError:
                minor = True  # published before birth: certainly not an adult
            if minor:
                errors.append(_err(n, "id_number", "被执行人为未成年人，依法不得纳入失信被执行人名单",
                                   "minor"))
    if errors:
        return None, status, errors
    row = {
        "subject_type": "person" if is_person else "organization",
        "subject_name": entry.get("name"),
        "item_code": item_code, "document_no": case_no.strip(),
        "decision_date": published.isoformat(),
        "content": entry.get("dishonest_situation"),
        "legal_basis": LEGAL_BASIS,
        "attributes": {k: entry.get(k) for k in (
            "case_no", "court", "filing_date", "enforcement_basis_unit", "enforcement_basis_no",
            "obligation", "performance", "dishonest_situation") if entry.get(k) not in (None, "")},
    }
    row["id_number" if is_person else "uscc"] = entry.get("id_number") if is_person else entry.get("uscc")
    return row, status, []


def import_list(session: Session, *, actor: Principal, body: Any) -> dict[str, Any]:
    ensure_list_importer(session, actor)
    if not isinstance(body, dict):
        raise ValidationFailed("请求体应为 JSON 对象", details=[{"field": "body", "message": "应为对象"}])
    name = body.get("list")
    if name not in LISTS:
        raise ValidationFailed("不支持的名单", details=[
            {"field": "list", "message": f"应为 {', '.join(LISTS)} 之一"}])
    source = body.get("source")
    if not isinstance(source, str) or not source.strip() or len(source) > 50:
        raise ValidationFailed("请填写名单来源", details=[
            {"field": "source", "message": "不能为空，最多 50 个字符"}])
    entries = body.get("entries")
    if not isinstance(entries, list) or not entries:
        raise ValidationFailed("名单条目为空", details=[{"field": "entries", "message": "至少一条"}])
    if len(entries) > MAX_ENTRIES:
        raise ValidationFailed(f"每次最多 {MAX_ENTRIES} 条", details=[
            {"field": "entries", "message": f"共 {len(entries)} 条"}])
    spec = LISTS[name]
    dept = spec["department"]
    results: dict[int, RowResult] = {}
    listed: list[tuple[int, dict[str, Any]]] = []
    removed: list[tuple[int, str]] = []
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            results[n] = RowResult(n, "rejected", errors=[_err(n, "row", "每一条应为 JSON 对象", "type")])
            continue
        row, status, errors = _to_record(entry, n, spec["item_code"])
        if errors or row is None:
            results[n] = RowResult(n, "rejected", errors=errors)
        elif status == "removed":
            removed.append((n, row["document_no"]))
        else:
            listed.append((n, row))
    if listed:
        out = ingest(session, actor=actor, department_code=dept, rows=[r for _, r in listed],
                     source=f"list:{source.strip()}", channel="exchange",
                     row_numbers=[n for n, _ in listed])
        for res in out.results:
            results[res.row] = res
    _remove(session, actor, dept, removed, results)
    ordered = [results[n] for n in sorted(results)]
    counts: dict[str, int] = {}
    for r in ordered:
        counts[r.status] = counts.get(r.status, 0) + 1
    audit(session, actor, "exchange.list_import", object_type="list", object_id=name,
          details={"source": source.strip()[:50], "entries": len(entries), **counts})
    accepted = sum(counts.get(k, 0) for k in ("created", "updated", "unchanged"))
    if counts.get("rejected", 0) == len(ordered):
        raise ListRejected(f"全部 {len(ordered)} 条均被拒绝，未导入任何条目",
                           details=[e for r in ordered for e in r.errors])
    return {"accepted": accepted, "rejected": counts.get("rejected", 0),
            "held": counts.get("held", 0), "results": [r.as_dict() for r in ordered]}


def _remove(session: Session, actor: Principal, dept: str, removed: list[tuple[int, str]],
            results: dict[int, RowResult]) -> None:
    if not removed:
        return
    docs = [d for _, d in removed]
    found = {doc: (rid, status) for rid, doc, status in session.execute(
        select(CreditRecord.id, CreditRecord.document_no, CreditRecord.status).where(
            CreditRecord.department_code == dept, CreditRecord.derived_from.is_(None),
            CreditRecord.document_no.in_(docs)))}
    to_delete: list[int] = []
    for n, doc in removed:
        rid, status = found.get(doc, (None, None))
        if rid is None or status == "deleted":
            # never listed here, or already removed: nothing to change
            results[n] = RowResult(n, "unchanged", rid)
        else:
            to_delete.append(rid)
            results[n] = RowResult(n, "updated", rid)
    if to_delete:
        change_status(session, sorted(set(to_delete)), "deleted",
                      reason="法院决定移出失信被执行人名单", actor=actor.name)

