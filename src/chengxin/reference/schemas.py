"""Reference data models (参考数据) and the loader for ``src/chengxin/data/*.yaml``.

Files (all UTF-8 YAML, top level ``{version: 1, <list key>: [...]}``):

- ``departments.yaml`` → ``departments``  (责任单位, with level and parent)
- ``groups.yaml``      → ``groups``       (重点人群 and responsible departments)
- ``catalog.yaml``     → ``categories`` (code → label) and ``items`` (公共信用信息目录)
- ``measures.yaml``    → ``measures``     (奖惩措施清单)
- ``scenarios.yaml``   → ``scenarios``    (application scenarios of the check interface)

``load_reference_files`` validates every entry and cross-checks the files. All problems
are collected and raised at once as :class:`ReferenceDataError`, each naming the file,
the entry (index and code) and the field.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "FILES",
    "SEVERITY_DISPLAY_MONTHS",
    "CatalogField",
    "CatalogItem",
    "Department",
    "Group",
    "Measure",
    "ReferenceData",
    "ReferenceDataError",
    "Scenario",
    "load_reference_files",
]

SUPPORTED_VERSION = 1

#: file name → top-level list key
FILES: dict[str, str] = {
    "departments.yaml": "departments",
    "groups.yaml": "groups",
    "catalog.yaml": "items",
    "measures.yaml": "measures",
    "scenarios.yaml": "scenarios",
}

#: Allowed display periods (months) per severity of negative items, domain-rules §1.1
#: (国办发〔2025〕22号 / 令第36号): 轻微 not published or ≤3, 一般 3–12, 严重 12–36.
SEVERITY_DISPLAY_MONTHS: dict[str, tuple[int, int]] = {
    "minor": (0, 3),
    "general": (3, 12),
    "serious": (12, 36),
}

# ``CatalogItem`` has a field named ``list``; annotations after it use this alias.
_List = list

_ASCII_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
_REGION = re.compile(r"^\d{6}$")
_CJK = re.compile(r"[\u3400-\u9fff]")


class ReferenceDataError(ValueError):
    """Reference data files are missing, malformed or inconsistent."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        text = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid reference data ({len(self.problems)} problem(s)):\n{text}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_ascii_code(value: str) -> str:
    if not _ASCII_CODE.match(value):
        raise ValueError("must be an ASCII code (letters, digits, '-' or '_')")
    return value


def _check_chinese(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if not _CJK.search(value):
        raise ValueError("must be a Chinese name")
    return value


class Department(_Model):
    """责任单位 / 部门. ``parent`` is the body it reports credit information to upward."""

    code: str
    name: str
    short_name: str | None = None
    level: Literal["county", "city", "province", "national"]
    parent: str | None = None
    region_code: str
    is_credit_office: bool = False

    _code = field_validator("code")(_check_ascii_code)
    _name = field_validator("name")(_check_chinese)

    @field_validator("region_code")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError("must be a 6-digit administrative division code")
        return value


class Group(_Model):
    """重点人群 (key occupational group) with its responsible departments."""

    code: str
    name: str
    department_code: str
    departments: list[str] = Field(min_length=1)
    cadence: Literal["monthly", "quarterly", "yearly"]
    source: str = Field(min_length=1)
    description: str | None = None

    _name = field_validator("name")(_check_chinese)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _SNAKE.match(value):
            raise ValueError("must be ASCII snake_case")
        return value

    @model_validator(mode="after")
    def _primary_listed(self) -> Group:
        if self.department_code not in self.departments:
            raise ValueError("departments must include department_code (the primary department)")
        if len(set(self.departments)) != len(self.departments):
            raise ValueError("departments contains duplicates")
        return self


class CatalogField(_Model):
    """An item-specific attribute (信息项) of a catalog item."""

    name: str
    label: str
    type: Literal["string", "text", "date", "number", "enum", "boolean"]
    required: bool = False
    choices: list[str] | None = None
    max_length: int | None = Field(default=None, gt=0)

    _label = field_validator("label")(_check_chinese)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _SNAKE.match(value):
            raise ValueError("must be ASCII snake_case")
        return value

    @model_validator(mode="after")
    def _choices(self) -> CatalogField:
        if self.type == "enum" and not self.choices:
            raise ValueError("an enum field needs choices")
        if self.type != "enum" and self.choices is not None:
            raise ValueError("choices are only allowed for enum fields")
        if self.choices is not None and len(set(self.choices)) != len(self.choices):
            raise ValueError("choices contain duplicates")
        return self


class CatalogItem(_Model):
    """公共信用信息目录 item."""

    code: str
    name: str
    category: str
    polarity: Literal["positive", "negative", "neutral"]
    severity: Literal["minor", "general", "serious"] | None = None
    visibility: Literal["public", "authorized", "internal"]
    display_months: int | None = Field(default=None, ge=0)
    list: Literal["black", "red"] | None = None
    subject_types: _List[Literal["person", "organization"]] = Field(min_length=1)
    fields: _List[CatalogField] = Field(default_factory=list)
    legal_basis_required: bool = False
    # 提供单位 (河南 Art. 11): departments that may send this item; None = any department.
    providers: _List[str] | None = None
    source: str = Field(min_length=1)
    description: str | None = None

    _code = field_validator("code")(_check_ascii_code)
    _name = field_validator("name")(_check_chinese)

    @model_validator(mode="after")
    def _consistency(self) -> CatalogItem:
        problems: list[str] = []
        if self.polarity == "negative":
            if self.severity is None:
                problems.append("severity: a negative item needs a severity")
            if not self.legal_basis_required:
                problems.append("legal_basis_required: must be true for a negative item")
            if self.severity is not None and self.display_months is not None:
                low, high = SEVERITY_DISPLAY_MONTHS[self.severity]
                if not low <= self.display_months <= high:
                    problems.append(
                        f"display_months: {self.display_months} outside {low}–{high} "
                        f"for severity {self.severity}"
                    )
        elif self.severity is not None:
            problems.append("severity: must be null for a non-negative item")
        if self.list == "black" and self.polarity != "negative":
            problems.append("list: a black-list item must be negative")
        if self.list == "red" and self.polarity != "positive":
            problems.append("list: a red-list item must be positive")
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"fields: duplicate attribute name(s) {', '.join(dupes)}")
        if len(set(self.subject_types)) != len(self.subject_types):
            problems.append("subject_types: duplicates")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Measure(_Model):
    """奖惩措施清单 row (国办发〔2020〕49号: list management, direct legal basis)."""

    code: str
    name: str
    kind: Literal["punish", "reward"]
    effect: Literal["deny", "restrict", "caution", "facilitate"]
    applies_to: list[Literal["black", "serious_dishonesty", "warning", "red", "clean_3y"]] = Field(
        min_length=1
    )
    scenarios: list[str] = Field(min_length=1)
    legal_basis: str
    implementing_body: str
    source: str = Field(min_length=1)
    description: str | None = None

    _code = field_validator("code")(_check_ascii_code)
    _name = field_validator("name")(_check_chinese)

    @model_validator(mode="after")
    def _consistency(self) -> Measure:
        problems: list[str] = []
        if self.kind == "punish":
            if self.effect == "facilitate":
                problems.append("effect: a punish measure cannot facilitate")
            bad = [a for a in self.applies_to if a in ("red", "clean_3y")]
        else:
            if self.effect != "facilitate":
                problems.append("effect: a reward measure must facilitate")
            bad = [a for a in self.applies_to if a not in ("red", "clean_3y")]
        if bad:
            problems.append(f"applies_to: {', '.join(bad)} not allowed for a {self.kind} measure")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Scenario(_Model):
    """Application scenario (应用场景) of the joint reward/punishment check."""

    code: str
    name: str
    description: str | None = None
    checked_by: list[str] = Field(default_factory=list)

    _name = field_validator("name")(_check_chinese)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _SNAKE.match(value):
            raise ValueError("must be ASCII snake_case")
        return value


class ReferenceData(_Model):
    """All reference data, validated and cross-checked."""

    departments: list[Department]
    groups: list[Group]
    catalog: list[CatalogItem]
    categories: dict[str, str]
    measures: list[Measure]
    scenarios: list[Scenario]

    # -- lookups ---------------------------------------------------------------
    def department(self, code: str) -> Department:
        return self.departments_by_code()[code]

    def departments_by_code(self) -> dict[str, Department]:
        return {d.code: d for d in self.departments}

    def groups_by_code(self) -> dict[str, Group]:
        return {g.code: g for g in self.groups}

    def catalog_by_code(self) -> dict[str, CatalogItem]:
        return {i.code: i for i in self.catalog}

    def measures_by_code(self) -> dict[str, Measure]:
        return {m.code: m for m in self.measures}

    def scenarios_by_code(self) -> dict[str, Scenario]:
        return {s.code: s for s in self.scenarios}

    def groups_of_department(self, code: str) -> list[Group]:
        return [g for g in self.groups if code in g.departments]

    def measures_for(self, scenario: str, applies_to: str | None = None) -> list[Measure]:
        return [
            m
            for m in self.measures
            if scenario in m.scenarios and (applies_to is None or applies_to in m.applies_to)
        ]

    def ancestors(self, code: str) -> list[Department]:
        """Parents of a department, nearest first (county → city → province)."""
        by_code = self.departments_by_code()
        out: list[Department] = []
        current = by_code[code].parent
        while current is not None and current in by_code and len(out) < len(by_code):
            out.append(by_code[current])
            current = by_code[current].parent
        return out

    def credit_office(self, region_code: str) -> Department | None:
        for d in self.departments:
            if d.is_credit_office and d.region_code == region_code:
                return d
        return None


# -- loading ---------------------------------------------------------------------


def _format_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) if loc else "(entry)"


def _read_yaml(path: pathlib.Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{path.name}: file not found in {path.parent}")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name}: cannot read as UTF-8 ({exc})")
        return None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problems.append(f"{path.name}: invalid YAML ({exc})")
        return None
    if not isinstance(doc, dict):
        problems.append(f"{path.name}: top level must be a mapping with 'version' and a list")
        return None
    if doc.get("version") != SUPPORTED_VERSION:
        problems.append(
            f"{path.name}: field 'version' must be {SUPPORTED_VERSION}, got {doc.get('version')!r}"
        )
    return doc


def _parse_list(
    file: str, doc: dict[str, Any], key: str, model: type[_Model], problems: list[str]
) -> list[Any]:
    raw = doc.get(key)
    if not isinstance(raw, list):
        problems.append(f"{file}: top-level key '{key}' must be a list")
        return []
    out = []
    for index, entry in enumerate(raw):
        code = entry.get("code") if isinstance(entry, dict) else None
        where = f"{file}: entry #{index}" + (f" (code {code!r})" if code else "")
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        try:
            out.append(model.model_validate(entry))
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(f"{where}: field {_format_loc(err['loc'])}: {err['msg']}")
    return out


def _unique(file: str, what: str, codes: list[str], problems: list[str]) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            problems.append(f"{file}: duplicate {what} code {code!r}")
        seen.add(code)


def load_reference_files(directory: pathlib.Path) -> ReferenceData:
    """Read, validate and cross-check the reference files in ``directory``.

    Raises :class:`ReferenceDataError` listing every problem found.
    """
    directory = pathlib.Path(directory)
    problems: list[str] = []
    docs = {name: _read_yaml(directory / name, problems) for name in FILES}

    def parse(name: str, model: type[_Model]) -> list[Any]:
        doc = docs[name]
        return [] if doc is None else _parse_list(name, doc, FILES[name], model, problems)

    departments: list[Department] = parse("departments.yaml", Department)
    groups: list[Group] = parse("groups.yaml", Group)
    catalog: list[CatalogItem] = parse("catalog.yaml", CatalogItem)
    measures: list[Measure] = parse("measures.yaml", Measure)
    scenarios: list[Scenario] = parse("scenarios.yaml", Scenario)

    categories: dict[str, str] = {}
    cat_doc = docs["catalog.yaml"]
    if cat_doc is not None:
        raw = cat_doc.get("categories")
        if not isinstance(raw, dict) or not raw:
            problems.append("catalog.yaml: top-level key 'categories' must be a non-empty mapping")
        else:
            for code, label in raw.items():
                if not isinstance(code, str) or not _SNAKE.match(code):
                    problems.append(f"catalog.yaml: categories: code {code!r} must be snake_case")
                elif not isinstance(label, str) or not _CJK.search(label):
                    problems.append(
                        f"catalog.yaml: categories: {code!r} needs a Chinese label, got {label!r}"
                    )
                else:
                    categories[code] = label

    # -- unique codes ----------------------------------------------------------
    _unique("departments.yaml", "department", [d.code for d in departments], problems)
    _unique("groups.yaml", "group", [g.code for g in groups], problems)
    _unique("groups.yaml", "group name", [g.name for g in groups], problems)
    _unique("catalog.yaml", "catalog item", [i.code for i in catalog], problems)
    _unique("measures.yaml", "measure", [m.code for m in measures], problems)
    _unique("scenarios.yaml", "scenario", [s.code for s in scenarios], problems)

    # -- departments: parents exist, no cycles -----------------------------------
    dept_codes = {d.code for d in departments}
    parents = {d.code: d.parent for d in departments}
    for d in departments:
        if d.parent is not None and d.parent not in dept_codes:
            problems.append(
                f"departments.yaml: department {d.code!r} field parent: "
                f"unknown department {d.parent!r}"
            )
    reported: set[str] = set()
    for d in departments:
        path = [d.code]
        current = parents.get(d.code)
        while current is not None and current in parents:
            if current in path:
                cycle = [*path[path.index(current) :], current]
                key = min(cycle[:-1])
                if key not in reported:
                    reported.add(key)
                    problems.append("departments.yaml: parent cycle " + " → ".join(cycle))
                break
            path.append(current)
            current = parents.get(current)

    # -- catalog: providers exist -----------------------------------------------
    for item in catalog:
        for code in item.providers or []:
            if code not in dept_codes:
                problems.append(
                    f"catalog.yaml: item {item.code!r} field providers: unknown department {code!r}"
                )

    # -- groups: departments exist ---------------------------------------------
    for index, g in enumerate(groups):
        for code in g.departments:
            if code not in dept_codes:
                problems.append(
                    f"groups.yaml: entry #{index} (code {g.code!r}) field departments: "
                    f"unknown department {code!r}"
                )
        if g.department_code not in dept_codes and g.department_code not in g.departments:
            problems.append(
                f"groups.yaml: entry #{index} (code {g.code!r}) field department_code: "
                f"unknown department {g.department_code!r}"
            )

    # -- catalog: categories exist ---------------------------------------------
    for index, item in enumerate(catalog):
        if categories and item.category not in categories:
            problems.append(
                f"catalog.yaml: entry #{index} (code {item.code!r}) field category: "
                f"unknown category {item.category!r}"
            )

    # -- measures: legal basis (国办发〔2020〕49号), scenarios exist --------------
    scenario_codes = {s.code for s in scenarios}
    for index, m in enumerate(measures):
        where = f"measures.yaml: entry #{index} (code {m.code!r})"
        if not m.legal_basis.strip():
            problems.append(
                f"{where} field legal_basis: empty — refused: every measure must cite a law, "
                "administrative regulation or Central policy directly (国办发〔2020〕49号)"
            )
        if not m.implementing_body.strip():
            problems.append(f"{where} field implementing_body: empty")
        for code in m.scenarios:
            if code not in scenario_codes:
                problems.append(f"{where} field scenarios: unknown scenario {code!r}")

    # -- scenarios: checking departments exist ---------------------------------
    for index, s in enumerate(scenarios):
        for code in s.checked_by:
            if code not in dept_codes:
                problems.append(
                    f"scenarios.yaml: entry #{index} (code {s.code!r}) field checked_by: "
                    f"unknown department {code!r}"
                )

    if problems:
        raise ReferenceDataError(problems)
    return ReferenceData(
        departments=departments,
        groups=groups,
        catalog=catalog,
        categories=categories,
        measures=measures,
        scenarios=scenarios,
    )
