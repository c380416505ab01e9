"""The spreadsheet column model shared by upload reading, templates and error reports.

A column has a Chinese header (what people see) and the API field it fills (api.md row
format). Headers may also be written as the API names themselves (`id_number`,
`attributes.fine_amount`), so files produced by scripts work too.

Row numbers: 0 is the header line; data row n is the n-th line after the header (with the
header on spreadsheet line 1, data row 1 = spreadsheet line 2). See files.py.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

ERROR_HEADER = "错误说明"  # added by error_report.py; ignored when the file comes back

SUBJECT_TYPES = {
    "自然人": "person", "person": "person",
    "法人和非法人组织": "organization", "法人": "organization", "非法人组织": "organization",
    "个体工商户": "organization", "organization": "organization",
}
SUBJECT_TYPE_LABELS = {"person": "自然人", "organization": "法人和非法人组织"}
ROLES = {"legal_representative": "法定代表人", "principal": "主要负责人"}


@dataclass(frozen=True)
class Column:
    header: str            # Chinese header, without the required marker
    field: str             # API path; responsible persons: responsible_persons.<role>.<part>
    kind: str              # subject_type|id|uscc|date|string|text|number|enum|boolean
    required: bool = False
    help: str = ""         # meaning and format, used in header comments and 填表说明
    choices: tuple[str, ...] = ()
    width: int = 16

    @property
    def role(self) -> str | None:
        return self.field.split(".")[1] if self.field.startswith("responsible_persons.") else None


def _fixed(item: dict | None) -> list[Column]:
    types = set(item["subject_types"]) if item else {"person", "organization"}
    one_type = len(types) == 1
    cols = [
        Column("主体类型", "subject_type", "subject_type", not one_type,
               "自然人 或 法人和非法人组织"
               + ("（可不填，默认为本信息项的主体类型）" if one_type else ""),
               tuple(SUBJECT_TYPE_LABELS[t] for t in ("person", "organization") if t in types), 18),
        Column("主体名称", "subject_name", "string", True,
               "自然人姓名或组织全称，不超过 200 字", (), 24),
    ]
    if "person" in types:
        cols.append(Column("身份证号码", "id_number", "id", types == {"person"},
                           "18 位居民身份证号码，末位 X 大写；请保持文本格式", (), 22))
    if "organization" in types:
        cols.append(Column("统一社会信用代码", "uscc", "uscc", types == {"organization"},
                           "18 位统一社会信用代码；请保持文本格式", (), 22))
    if item is None:
        cols.append(Column("目录项代码", "item_code", "string", True,
                           "信息目录中的代码，如 PEN-002", (), 14))
    legal = bool(item and item.get("legal_basis_required"))
    cols += [
        Column("决定文书号", "document_no", "string", True,
               "决定书或认定文书的文号，不超过 100 字", (), 24),
        Column("决定日期", "decision_date", "date", True,
               "日期格式 YYYY-MM-DD，不得晚于今天", (), 14),
        Column("信息内容", "content", "text", True, "信息的具体内容，不超过 4000 字", (), 40),
        Column("法律依据", "legal_basis", "text", legal, "作出决定所依据的法律法规条款", (), 30),
    ]
    if "person" in types:
        cols.append(Column("重点人群代码", "group_code", "string", False,
                           "自然人所属重点人群的代码，见“代码表”", (), 18))
    cols.append(Column("有效期至", "valid_until", "date", False,
                       "日期格式 YYYY-MM-DD，可不填", (), 14))
    if "organization" in types:
        for role, label in ROLES.items():
            cols.append(Column(f"{label}姓名", f"responsible_persons.{role}.name", "string", False,
                               f"{label}姓名；填写后须同时填写其身份证号码", (), 14))
            cols.append(Column(f"{label}身份证号码", f"responsible_persons.{role}.id_number", "id",
                               False, f"{label}的 18 位身份证号码；请保持文本格式", (), 22))
    return cols


def _field_help(spec: dict) -> str:
    kind = spec["type"]
    if kind == "date":
        return "日期格式 YYYY-MM-DD"
    if kind == "number":
        return "数字"
    if kind == "boolean":
        return "是 或 否"
    if kind == "enum":
        return "从下拉列表选择：" + "、".join(spec.get("choices") or [])
    limit = spec.get("max_length")
    return f"文本，不超过 {limit} 字" if limit else "文本"


def attribute_columns(item: dict) -> list[Column]:
    return [Column(f["label"], f"attributes.{f['name']}", f["type"], bool(f.get("required")),
                   _field_help(f), tuple(f.get("choices") or ()),
                   30 if f["type"] == "text" else max(12, min(30, len(f["label"]) * 2 + 4)))
            for f in item.get("fields") or []]


def columns_for(item: dict | None) -> list[Column]:
    """The template's columns in order; `None` gives the generic (multi-item) layout."""
    return _fixed(item) + (attribute_columns(item) if item else [])


# ------------------------------------------------------------------ header matching

_MARKERS = re.compile(r"^[*＊]+|[*＊]+$|[（(]\s*必填\s*[)）]$")


def clean_header(text: Any) -> str:
    s = str(text if text is not None else "").replace("\u3000", " ").replace("\ufeff", "").strip()
    for _ in range(2):  # "处罚类别（必填）*" carries two markers
        s = _MARKERS.sub("", s).strip()
    return s


@dataclass
class HeaderMap:
    headers: list[str]
    columns: list[Column | None]   # per position; None = ignored (blank or 错误说明)
    errors: list[dict] = field(default_factory=list)
    items_by_code: dict[str, dict] = field(default_factory=dict)

    def cells(self, values: list[Any]) -> dict[str, Any]:
        """One data row as {original header: value}, the shape row_to_record takes."""
        return {h: (values[i] if i < len(values) else "") for i, h in enumerate(self.headers)
                if self.columns[i] is not None}

    @functools.cached_property
    def by_header(self) -> dict[str, Column | None]:
        """Built once, after map_header has filled the columns: convert_row's lookup."""
        return dict(zip(self.headers, self.columns, strict=True))

    @functools.cached_property
    def plan(self) -> dict[str, tuple[Column, str, str, str]]:
        return _plan(self)

    def by_field(self) -> dict[str, int]:
        return {c.field: i for i, c in enumerate(self.columns) if c is not None}


def _candidates(items_by_code: dict[str, dict], item: dict | None) -> dict[str, Column]:
    """Every accepted header spelling -> column."""
    cols = _fixed(None)
    if item is not None:
        cols += attribute_columns(item)
    else:
        for it in items_by_code.values():
            cols += attribute_columns(it)
    out: dict[str, Column] = {}
    for c in cols:
        out.setdefault(c.header, c)
        out.setdefault(c.field, c)
    return out


def map_header(headers: list[str], items_by_code: dict[str, dict],
               item_code: str | None = None) -> HeaderMap:
    """Match a file's header row. `item_code` is the upload's default item; errors are
    {"row": 0, "field": <header>, "message", "code"}."""
    item = items_by_code.get(item_code or "")
    if item is None and len(items_by_code) == 1:
        item = next(iter(items_by_code.values()))
    known = _candidates(items_by_code, item)
    hm = HeaderMap(list(headers), [], items_by_code=items_by_code)
    seen: dict[str, str] = {}
    for raw in headers:
        name = clean_header(raw)
        col = known.get(name)
        if not name or name == ERROR_HEADER:
            hm.columns.append(None)
            continue
        if col is None:
            hm.errors.append(_err(raw, f"无法识别的列“{name}”，请使用模板中的列名",
                                  "unknown_column"))
        elif col.field in seen:
            hm.errors.append(_err(raw, f"列“{name}”与列“{seen[col.field]}”重复",
                                  "duplicate_column"))
            col = None
        else:
            seen[col.field] = name
        hm.columns.append(col)
    for col in _required(item, item_code):
        if col.field not in seen:
            hm.errors.append(_err(col.header, f"缺少必填列“{col.header}”", "missing_column"))
    return hm


def _required(item: dict | None, item_code: str | None) -> list[Column]:
    cols = [c for c in columns_for(item) if c.required]
    if item is None and item_code:  # the upload names the item, so the column may be absent
        cols = [c for c in cols if c.field != "item_code"]
    return cols


def _err(header: str, message: str, code: str) -> dict:
    return {"row": 0, "field": str(header), "message": message, "code": code}


# ------------------------------------------------------------------ cell conversion

_EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 (Excel's 1900 leap-year bug)
_SCI = re.compile(r"^\d+(\.\d+)?[eE]\+?\d+$")
# 2024/3/5, 2024.03.05, 2024年3月5日, "2024-03-05 00:00:00"
_LOOSE_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                         r"(?:[ T]0{1,2}:00(:00)?)?$")
_NEUTRALISED = re.compile(r"^'[=+\-@\t\r]")
PRECISION_LOST = "被 Excel 存成了数字，超过 15 位的数字已丢失；请把该列设为文本格式后重新填写"


def half_width(s: str) -> str:
    """Full-width digits and letters (１２３Ｘ) to ASCII; NFKC does exactly that."""
    return unicodedata.normalize("NFKC", s)


def cell_text(value: Any) -> str:
    """How a cell reads as text: for error reports and text columns."""
    if type(value) is str:  # nearly every cell: skip the checks below
        return value.replace("\u3000", " ").strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).replace("\u3000", " ").strip()


def _to_date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2958466:
        return (_EXCEL_EPOCH + dt.timedelta(days=int(value))).isoformat()
    s = half_width(cell_text(value))
    m = _LOOSE_DATE.match(s)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            pass
    return s  # left for validate_row to report with its date message


def _to_identifier(value: Any) -> str:
    """ID number / USCC. An 18-digit number cannot survive as a float (15-16 significant
    digits), so any numeric value of 16+ digits, or text in scientific notation like
    4.10522E+17 (a CSV saved by Excel after the damage), is refused, never guessed."""
    if isinstance(value, float):
        if not value.is_integer() or abs(value) >= 1e15:
            raise ValueError(PRECISION_LOST)
        value = int(value)
    s = half_width(cell_text(value)).replace(" ", "").upper()
    if _SCI.match(s):
        raise ValueError(PRECISION_LOST)
    return s


def _convert(col: Column, value: Any) -> Any:
    if col.kind == "subject_type":
        s = cell_text(value)
        if s not in SUBJECT_TYPES:
            raise ValueError("主体类型应为 自然人 或 法人和非法人组织")
        return SUBJECT_TYPES[s]
    if col.kind in ("id", "uscc"):
        return _to_identifier(value)
    if col.kind == "date":
        return _to_date(value)
    if col.kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value) if float(value).is_integer() and abs(value) < 2**53 else value
        return half_width(cell_text(value)).replace(",", "")
    text = cell_text(value)
    return text[1:] if _NEUTRALISED.match(text) else text  # undo error_report's quote


def _plan(header_map: HeaderMap) -> dict[str, tuple[Column, str, str, str]]:
    """Per header, what convert_row does with its cells: (column, where the value goes —
    "record", "attributes" or a responsible person's role —, key, the person's part).
    Worked out once per file instead of once per cell."""
    plan: dict[str, tuple[Column, str, str, str]] = {}
    for header, col in header_map.by_header.items():
        if col is None:
            continue
        parts = col.field.split(".")
        if parts[0] == "attributes":
            plan[header] = (col, "attributes", parts[1], "")
        elif parts[0] == "responsible_persons":
            plan[header] = (col, parts[1], parts[1], parts[2])
        else:
            plan[header] = (col, "record", col.field, "")
    return plan


def convert_row(cells: dict[str, Any], header_map: HeaderMap, default_item_code: str | None,
                row: int = 0) -> tuple[dict, list[dict]]:
    """API row dict plus the cell problems validation cannot see (a bad cell is left out)."""
    plan = header_map.plan
    record: dict[str, Any] = {}
    people: dict[str, dict[str, str]] = {}
    problems: list[dict] = []
    for header, value in cells.items():
        if value == "" or value is None:  # most cells of a wide sheet: skip them cheaply
            continue
        step = plan.get(header)
        # str.strip() removes U+3000 too: the same test as cell_text(value) == ""
        if step is None or not (value.strip() if type(value) is str else cell_text(value)):
            continue
        col, where, key, part = step
        try:
            converted = _convert(col, value)
        except ValueError as exc:
            problems.append({"row": row, "field": col.field, "message": f"{col.header}{exc}"
                             if col.kind in ("id", "uscc") else str(exc), "code": "cell"})
            continue
        if where == "record":
            record[key] = converted
        elif where == "attributes":
            record.setdefault("attributes", {})[key] = converted
        else:
            people.setdefault(key, {})[part] = converted
    _finish(record, people, header_map, default_item_code, {p["field"] for p in problems})
    return record, problems


def _finish(record: dict, people: dict, header_map: HeaderMap, default_item_code: str | None,
            bad: set[str]) -> None:
    if default_item_code:
        record.setdefault("item_code", default_item_code)
    item = header_map.items_by_code.get(record.get("item_code") or "")
    # an empty 主体类型 defaults to the item's only subject type; a wrong one stays an error
    if "subject_type" not in record and "subject_type" not in bad and item \
            and len(item["subject_types"]) == 1:
        record["subject_type"] = item["subject_types"][0]
    persons = [{"id_number": p.get("id_number", ""), "name": p.get("name", ""), "role": role}
               for role in ROLES if (p := people.get(role))]
    if persons:
        record["responsible_persons"] = persons


class CellError(ValueError):
    def __init__(self, errors: list[dict]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


def row_to_record(cells: dict[str, Any], header_map: HeaderMap, default_item_code: str | None,
                  row: int = 0) -> dict:
    """API row dict; raises CellError(.errors) when a cell cannot be converted safely."""
    record, problems = convert_row(cells, header_map, default_item_code, row)
    if problems:
        raise CellError(problems)
    return record


def column_for_error(field_path: str, header_map: HeaderMap, values: list[Any]) -> int | None:
    """Index of the column an error's field came from, or None (error has no column).
    responsible_persons.<i>.<part>: i counts only the roles filled in this row, in ROLES order."""
    index = header_map.by_field()
    if field_path in index:
        return index[field_path]
    parts = field_path.split(".")
    if parts[0] == "responsible_persons" and len(parts) == 3 and parts[1].isdigit():
        filled = [role for role in ROLES if any(
            cell_text(values[i] if i < len(values) else "") for f, i in index.items()
            if f.startswith(f"responsible_persons.{role}."))]
        n = int(parts[1])
        if n < len(filled):
            return index.get(f"responsible_persons.{filled[n]}.{parts[2]}")
    return None
