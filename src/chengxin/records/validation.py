"""Checking one submitted row against the catalog: pure, no database.

Every problem becomes {"row", "field", "message", "code"} naming the row and the field;
messages never quote the value, since a value may be an ID number or a name.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from chengxin.identity import IdentityError, normalize_id_number, normalize_uscc

MAX_CONTENT = 4000
MAX_TEXT = 4000
RESPONSIBLE_ROLES = {
    "legal_representative": "法定代表人",
    "principal": "主要负责人",
    "actual_controller": "实际控制人",
    "responsible_person": "直接责任人",
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KNOWN_FIELDS = {
    "subject_type", "subject_name", "id_number", "uscc", "item_code", "document_no",
    "decision_date", "content", "legal_basis", "group_code", "valid_until",
    "responsible_persons", "attributes",
}


@dataclass(frozen=True)
class Responsible:
    id18: str
    name: str
    role: str


@dataclass
class NormalRow:
    row: int
    subject_type: str
    subject_name: str
    id18: str | None
    uscc: str | None
    item_code: str
    document_no: str
    decision_date: dt.date
    content: str
    legal_basis: str | None
    group_code: str | None
    valid_until: dt.date | None
    responsible: list[Responsible] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class RowContext:
    """What a row is checked against: the catalog and the sending department's remit."""

    catalog: dict[str, dict[str, Any]]  # code -> catalog item dict (repository shape)
    department_code: str
    department_groups: set[str]
    known_groups: set[str]
    today: dt.date


class RowErrors:
    def __init__(self, row: int) -> None:
        self.row = row
        self.items: list[dict[str, Any]] = []

    def add(self, field_name: str, message: str, code: str = "invalid") -> None:
        self.items.append({"row": self.row, "field": field_name, "message": message, "code": code})

    def __bool__(self) -> bool:
        return bool(self.items)


def _text(raw: dict, key: str, errs: RowErrors, *, required: bool, max_len: int,
          label: str) -> str | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errs.add(key, f"{label}不能为空", "required")
        return None
    if not isinstance(value, str):
        errs.add(key, f"{label}应为文本", "type")
        return None
    value = value.strip()
    if len(value) > max_len:
        errs.add(key, f"{label}超过 {max_len} 个字符", "too_long")
        return None
    return value


def parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _date(raw: dict, key: str, errs: RowErrors, *, required: bool, label: str) -> dt.date | None:
    value = raw.get(key)
    if value in (None, ""):
        if required:
            errs.add(key, f"{label}不能为空", "required")
        return None
    parsed = parse_date(value)
    if parsed is None:
        errs.add(key, f"{label}应为有效日期，格式 YYYY-MM-DD", "date")
    return parsed


def validate_row(raw: Any, row: int, ctx: RowContext) -> tuple[NormalRow | None, list[dict]]:
    errs = RowErrors(row)
    if not isinstance(raw, dict):
        errs.add("row", "每一行应为一个 JSON 对象", "type")
        return None, errs.items
    for key in sorted(set(raw) - _KNOWN_FIELDS):
        errs.add(str(key)[:64], "未知字段", "unknown_field")

    subject_type = raw.get("subject_type")
    if subject_type not in ("person", "organization"):
        errs.add("subject_type", "主体类型应为 person 或 organization", "enum")
        subject_type = None
    name = _text(raw, "subject_name", errs, required=True, max_len=200, label="主体名称")
    item_code = _text(raw, "item_code", errs, required=True, max_len=64, label="目录项代码")
    item = ctx.catalog.get(item_code or "")
    if item_code and item is None:
        errs.add("item_code", "目录中没有该信息项", "unknown_item")
    elif item is not None:
        if subject_type and subject_type not in item["subject_types"]:
            errs.add("subject_type", "该信息项不适用于此类主体", "subject_type_not_allowed")
        providers = item.get("providers")
        if providers and ctx.department_code not in providers:
            errs.add("item_code", "本部门不是该信息项的提供单位", "not_provider")

    id18 = uscc = None
    if subject_type == "person":
        id18 = _identity(raw, "id_number", errs, ctx.today)
        if raw.get("uscc"):
            errs.add("uscc", "自然人不应填写统一社会信用代码", "not_applicable")
    elif subject_type == "organization":
        uscc = _uscc(raw, errs)

    document_no = _text(raw, "document_no", errs, required=True, max_len=100, label="决定文书号")
    decision_date = _date(raw, "decision_date", errs, required=True, label="决定日期")
    if decision_date and decision_date > ctx.today:
        errs.add("decision_date", "决定日期不能晚于今天", "future_date")
    content = _text(raw, "content", errs, required=True, max_len=MAX_CONTENT, label="信息内容")
    legal_basis = _text(raw, "legal_basis", errs, required=bool(item and item["legal_basis_required"]),
                        max_len=1000, label="法律依据")
    valid_until = _date(raw, "valid_until", errs, required=False, label="有效期至")
    if valid_until and decision_date and valid_until < decision_date:
        errs.add("valid_until", "有效期至不能早于决定日期", "date_order")
    group_code = _group(raw, errs, ctx, subject_type)
    responsible = _responsible(raw, errs, ctx.today, subject_type)
    attributes = _attributes(raw, errs, item)

    if errs or not (subject_type and name and item and document_no and decision_date and content):
        return None, errs.items
    return NormalRow(
        row=row, subject_type=subject_type, subject_name=name, id18=id18, uscc=uscc,
        item_code=item["code"], document_no=document_no, decision_date=decision_date,
        content=content, legal_basis=legal_basis, group_code=group_code,
        valid_until=valid_until, responsible=responsible, attributes=attributes,
    ), []


def _identity(raw: dict, key: str, errs: RowErrors, today: dt.date) -> str | None:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        errs.add(key, "自然人须填写身份证号码", "required")
        return None
    try:
        return normalize_id_number(value, today=today)
    except IdentityError as exc:
        errs.add(key, exc.message, exc.code)
        return None


def _uscc(raw: dict, errs: RowErrors) -> str | None:
    value = raw.get("uscc")
    if not isinstance(value, str) or not value.strip():
        errs.add("uscc", "法人和非法人组织须填写统一社会信用代码", "required")
        return None
    try:
        return normalize_uscc(value)
    except IdentityError as exc:
        errs.add("uscc", exc.message, exc.code)
        return None


def _group(raw: dict, errs: RowErrors, ctx: RowContext, subject_type: str | None) -> str | None:
    code = raw.get("group_code")
    if code in (None, ""):
        return None
    if not isinstance(code, str) or code not in ctx.known_groups:
        errs.add("group_code", "重点人群代码不存在", "unknown_group")
        return None
    if code not in ctx.department_groups:
        errs.add("group_code", "本部门不是该重点人群的责任单位", "not_responsible")
        return None
    if subject_type == "organization":
        errs.add("group_code", "重点人群只适用于自然人", "not_applicable")
        return None
    return code


def _responsible(raw: dict, errs: RowErrors, today: dt.date,
                 subject_type: str | None) -> list[Responsible]:
    value = raw.get("responsible_persons")
    if value in (None, []):
        return []
    if subject_type == "person":
        errs.add("responsible_persons", "只有法人和非法人组织可填写责任人", "not_applicable")
        return []
    if not isinstance(value, list) or len(value) > 20:
        errs.add("responsible_persons", "责任人应为不超过 20 项的列表", "type")
        return []
    out: list[Responsible] = []
    for i, entry in enumerate(value):
        prefix = f"responsible_persons.{i}"
        if not isinstance(entry, dict):
            errs.add(prefix, "责任人应为对象 {id_number, name, role}", "type")
            continue
        role = entry.get("role") or "legal_representative"
        if role not in RESPONSIBLE_ROLES:
            errs.add(f"{prefix}.role", f"角色应为 {', '.join(RESPONSIBLE_ROLES)} 之一", "enum")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
            errs.add(f"{prefix}.name", "责任人姓名不能为空且不超过 100 字", "required")
        id18 = None
        try:
            id18 = normalize_id_number(str(entry.get("id_number") or ""), today=today)
        except IdentityError as exc:
            errs.add(f"{prefix}.id_number", exc.message, exc.code)
        if id18 and isinstance(name, str) and name.strip() and role in RESPONSIBLE_ROLES:
            out.append(Responsible(id18, name.strip(), role))
    if len({r.id18 for r in out}) != len(out):
        errs.add("responsible_persons", "责任人身份证号码重复", "duplicate")
    return out


def _attributes(raw: dict, errs: RowErrors, item: dict | None) -> dict[str, Any]:
    value = raw.get("attributes")
    if value is None:
        value = {}
    if not isinstance(value, dict):
        errs.add("attributes", "attributes 应为对象", "type")
        return {}
    if item is None:
        return {}
    fields = {f["name"]: f for f in item["fields"]}
    out: dict[str, Any] = {}
    for key in sorted(set(value) - set(fields)):
        errs.add(f"attributes.{str(key)[:64]}", "该信息项没有这个字段", "unknown_field")
    for name, spec in fields.items():
        v = value.get(name)
        if v is None or (isinstance(v, str) and not v.strip()):
            if spec.get("required"):
                errs.add(f"attributes.{name}", f"{spec['label']}不能为空", "required")
            continue
        converted = _convert(v, spec)
        if converted is _BAD:
            errs.add(f"attributes.{name}", _type_message(spec), "type")
        else:
            out[name] = converted
    return out


_BAD = object()


def _type_message(spec: dict) -> str:
    label, kind = spec["label"], spec["type"]
    if kind == "enum":
        return f"{label}应为以下之一: {'、'.join(spec.get('choices') or [])}"
    return {
        "date": f"{label}应为有效日期，格式 YYYY-MM-DD",
        "number": f"{label}应为数字",
        "boolean": f"{label}应为 是/否",
    }.get(kind, f"{label}格式不正确或过长")


def _convert(v: Any, spec: dict) -> Any:
    kind = spec["type"]
    if kind in ("string", "text"):
        if not isinstance(v, str | int) or isinstance(v, bool):
            return _BAD
        s = str(v).strip()
        limit = spec.get("max_length") or (MAX_TEXT if kind == "text" else 500)
        return s if len(s) <= limit else _BAD
    if kind == "date":
        d = parse_date(v)
        return d.isoformat() if d else _BAD
    if kind == "number":
        if isinstance(v, bool):
            return _BAD
        try:
            n = float(v) if isinstance(v, str) else v
        except ValueError:
            return _BAD
        if not isinstance(n, int | float) or not math.isfinite(n):
            return _BAD
        return int(n) if float(n).is_integer() and abs(n) < 2**53 else n
    if kind == "enum":
        return v if isinstance(v, str) and v in (spec.get("choices") or []) else _BAD
    if kind == "boolean":
        if isinstance(v, bool):
            return v
        mapping = {"是": True, "否": False, "true": True, "false": False, "1": True, "0": False}
        return mapping.get(str(v).strip().lower(), _BAD)
    return _BAD
