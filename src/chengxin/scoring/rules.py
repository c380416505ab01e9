"""The integrity-points rule file (``data/scoring.yaml``): its model, loader and checks.

Validated like the reference files: pydantic models with ``extra="forbid"``, every problem
collected and raised at once as :class:`ScoringRulesError`, each naming the file, the rule
(index and code) and the field. Nothing here touches the database, so the formulas the SQL
implements (decay, caps, clamping, grade bands) also exist as pure functions for tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import pathlib
import re
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SUPPORTED_VERSION = 1
FILE = "scoring.yaml"

#: Statuses a rule may count. repaired, expired, deleted and corrected never count: a
#: repaired record stays only as internal history; a corrected one is replaced by its
#: new version; deleted and expired ones are no longer information about the person.
COUNTABLE_STATUSES = ("active", "under_objection", "corrected")
Severity = Literal["minor", "general", "serious"]
Polarity = Literal["negative", "positive", "neutral"]

_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{0,63}$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


class ScoringRulesError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("scoring rules invalid:\n  " + "\n  ".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _chinese(value: str) -> str:
    if not _CJK.search(value):
        raise ValueError("must be a Chinese name (用户看到的文字用中文)")
    return value


class Match(_Model):
    """Which records a rule covers: exactly one of item_codes, polarity(+severity), category."""

    item_codes: list[str] | None = Field(default=None, min_length=1)
    polarity: Polarity | None = None
    severity: Severity | None = None
    category: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Match:
        forms = [self.item_codes is not None, self.polarity is not None, self.category is not None]
        if sum(forms) != 1:
            raise ValueError("give exactly one of item_codes, polarity (with optional "
                             "severity) or category")
        if self.severity is not None and self.polarity != "negative":
            raise ValueError("severity only goes with polarity: negative")
        return self


class Decay(_Model):
    """How a record's weight fades with age (from its decision date).

    ``none``: full weight while the record counts. ``linear``: full weight for
    ``full_months``, then falling in a straight line to 0 at ``zero_months``.
    """

    kind: Literal["none", "linear"] = "none"
    full_months: int | None = Field(default=None, ge=0, le=240)
    zero_months: int | None = Field(default=None, ge=1, le=240)

    @model_validator(mode="after")
    def _months(self) -> Decay:
        if self.kind == "none":
            if self.full_months is not None or self.zero_months is not None:
                raise ValueError("kind none takes no full_months/zero_months")
        else:
            if self.full_months is None or self.zero_months is None:
                raise ValueError("kind linear needs full_months and zero_months")
            if self.zero_months <= self.full_months:
                raise ValueError("zero_months must be greater than full_months")
        return self


class Rule(_Model):
    code: str
    name: str
    match: Match
    points: int = Field(ge=-1000, le=1000)
    decay: Decay = Decay()
    cap: int | None = Field(default=None, gt=0, le=10000)
    counts_statuses: list[str] = Field(default_factory=lambda: list(COUNTABLE_STATUSES),
                                       min_length=1)
    note: str | None = None

    _name = field_validator("name")(_chinese)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _CODE.match(value):
            raise ValueError("must be upper-case ASCII (letters, digits, - or _)")
        return value

    @field_validator("points")
    @classmethod
    def _nonzero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must not be 0 (delete the rule instead)")
        return value

    @field_validator("counts_statuses")
    @classmethod
    def _statuses(cls, value: list[str]) -> list[str]:
        bad = [s for s in value if s not in COUNTABLE_STATUSES]
        if bad:
            raise ValueError(f"{', '.join(bad)} may never count (only "
                             f"{', '.join(COUNTABLE_STATUSES)})")
        return value


class Grade(_Model):
    code: str = Field(min_length=1, max_length=8)
    label: str
    min: int

    _label = field_validator("label")(_chinese)


class MinorProtection(_Model):
    """A minor's light dishonesty never counts (persons under ``adult_age`` on the
    decision date, records of these severities)."""

    adult_age: int = Field(default=18, ge=18, le=18)
    severities: list[Severity] = Field(default_factory=lambda: ["minor", "general"])

    @field_validator("severities")
    @classmethod
    def _minor_always(cls, value: list[str]) -> list[str]:
        if "minor" not in value:
            raise ValueError("must include minor: a minor's light dishonesty never counts")
        return value


class _Head(_Model):
    """Everything in the file but the rules (validated first, so that a bad rule and a
    bad band are both reported in one go)."""

    version: int
    name: str
    base: int = Field(ge=0, le=100000)
    floor: int = Field(ge=0)
    ceiling: int = Field(gt=0)
    minors: MinorProtection = MinorProtection()
    grades: list[Grade] = Field(min_length=2)

    _name = field_validator("name")(_chinese)


class ScoringRules(_Head):
    # Order matters: a record counts under the first rule that matches it, never twice.
    rules: list[Rule] = Field(min_length=1)

    def rule(self, code: str) -> Rule | None:
        return next((r for r in self.rules if r.code == code), None)

    def grade_for(self, score: float) -> Grade:
        for g in self.grades:
            if score >= g.min:
                return g
        return self.grades[-1]

    @property
    def digest(self) -> str:
        """sha256 of the validated rules: which rules made a score stays answerable."""
        return hashlib.sha256(orjson.dumps(self.model_dump(mode="json"),
                                           option=orjson.OPT_SORT_KEYS)).hexdigest()


# -- pure formulas (the SQL in service.py computes the same) ---------------------------

FACTOR_ONE = 10000  # decay factors are kept in ten-thousandths (integers on both databases)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` (negative: back), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def decay_thresholds(decay: Decay, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """(t_full, t_zero): decided on/after t_full counts fully; on/before t_zero not at all."""
    if decay.kind == "none":
        return None
    assert decay.full_months is not None and decay.zero_months is not None
    return add_months(today, -decay.full_months), add_months(today, -decay.zero_months)


def decay_factor(decay: Decay, decision_date: dt.date, today: dt.date) -> int:
    """Factor in ten-thousandths, truncated like the SQL integer division."""
    thresholds = decay_thresholds(decay, today)
    if thresholds is None:
        return FACTOR_ONE
    t_full, t_zero = thresholds
    if decision_date >= t_full:
        return FACTOR_ONE
    if decision_date <= t_zero:
        return 0
    return (decision_date - t_zero).days * FACTOR_ONE // (t_full - t_zero).days


def item_points_x100(points: int, factor: int) -> int:
    """A rule's points times the factor, in hundredths, truncated towards zero."""
    magnitude = abs(points) * 100 * factor // FACTOR_ONE
    return magnitude if points > 0 else -magnitude


# -- loading -----------------------------------------------------------------------------


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) if loc else "(entry)"


def parse_rules(doc: Any, *, catalog_codes: set[str] | None = None,
                categories: set[str] | None = None, file: str = FILE) -> ScoringRules:
    """Validate a parsed YAML document; cross-check codes against the catalog if given."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise ScoringRulesError([f"{file}: top level must be a mapping"])
    if doc.get("version") != SUPPORTED_VERSION:
        problems.append(f"{file}: field 'version' must be {SUPPORTED_VERSION}, "
                        f"got {doc.get('version')!r}")
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        problems.append(f"{file}: top-level key 'rules' must be a non-empty list")
        raw_rules = []
    rules: list[Rule] = []
    for index, entry in enumerate(raw_rules):
        code = entry.get("code") if isinstance(entry, dict) else None
        where = f"{file}: rule #{index}" + (f" (code {code!r})" if code else "")
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        try:
            rules.append(Rule.model_validate(entry))
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(f"{where}: field {_loc(err['loc'])}: {err['msg']}")
    head = {k: v for k, v in doc.items() if k != "rules"}
    model: _Head | None = None
    try:
        model = _Head.model_validate(head)
    except ValidationError as exc:
        for err in exc.errors():
            problems.append(f"{file}: field {_loc(err['loc'])}: {err['msg']}")

    seen: set[str] = set()
    for index, r in enumerate(rules):
        where = f"{file}: rule #{index} (code {r.code!r})"
        if r.code in seen:
            problems.append(f"{where}: duplicate rule code")
        seen.add(r.code)
        if catalog_codes is not None and r.match.item_codes:
            for c in r.match.item_codes:
                if c not in catalog_codes:
                    problems.append(f"{where}: field match.item_codes: unknown catalog item {c!r}")
        if categories is not None and r.match.category and r.match.category not in categories:
            problems.append(f"{where}: field match.category: unknown category "
                            f"{r.match.category!r}")
    if model is not None:
        if model.floor >= model.ceiling:
            problems.append(f"{file}: field floor: must be below ceiling")
        if not model.floor <= model.base <= model.ceiling:
            problems.append(f"{file}: field base: must lie between floor and ceiling")
        codes = [g.code for g in model.grades]
        if len(set(codes)) != len(codes):
            problems.append(f"{file}: field grades: duplicate grade codes")
        mins = [g.min for g in model.grades]
        if any(a <= b for a, b in itertools.pairwise(mins)):
            problems.append(f"{file}: field grades: bands must be ordered from the highest "
                            "min down, each min strictly lower than the one before")
        if mins and mins[-1] > model.floor:
            problems.append(f"{file}: field grades: the last band's min ({mins[-1]}) must be "
                            f"at most floor ({model.floor}) so that every score has a grade")
    if problems:
        raise ScoringRulesError(problems)
    assert model is not None
    return ScoringRules(**dict(model), rules=rules)


def load_rules(path: pathlib.Path, *, catalog_codes: set[str] | None = None,
               categories: set[str] | None = None) -> ScoringRules:
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScoringRulesError([f"{path.name}: file not found in {path.parent}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScoringRulesError([f"{path.name}: cannot read as UTF-8 ({exc})"]) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScoringRulesError([f"{path.name}: invalid YAML ({exc})"]) from None
    return parse_rules(doc, catalog_codes=catalog_codes, categories=categories, file=path.name)
