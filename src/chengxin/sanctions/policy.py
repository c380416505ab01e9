"""Pure rules of the check: subject flags, applicable measures, one decision.

No database here: `CheckFacts` is gathered by the repository, these functions decide.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from chengxin.dates import add_months, age_on

DECISION_ORDER = ("deny", "review", "facilitate", "allow")  # strongest first
CLEAN_YEARS = 3
# 轻微失信 of a person who was a minor at the time: never used for punishment. We treat
# general-severity items of minors as light too (seeds: 未成年人轻微失信行为 protected);
# a credit office may narrow this to {"minor"}.
LIGHT_FOR_MINORS = frozenset({"minor", "general"})
ADULT_AGE = 18


def minor_light(birth: dt.date, decision_date: dt.date, severity: str | None) -> bool:
    """Light dishonesty of a person who was a minor at the time: never disclosed, never
    used for punishment."""
    return age_on(birth, decision_date) < ADULT_AGE and severity in LIGHT_FOR_MINORS


class RecordFact(NamedTuple):
    """One record as the check sees it. Named tuples, not dataclasses: a cold check builds
    one per record of the person, and a tuple is built several times faster."""
    record_id: int
    severity: str | None
    polarity: str
    status: str
    decision_date: dt.date
    display_until: dt.date | None
    age_at_decision: int


class ListFact(NamedTuple):
    entry_id: int
    list_type: str
    name: str
    status: str
    listed_on: dt.date
    effective_from: dt.date | None
    effective_until: dt.date | None
    ended_on: dt.date | None
    basis: str
    under_objection: bool = False


@dataclass
class CheckFacts:
    known: bool
    known_since: dt.date | None = None
    records: list[RecordFact] = field(default_factory=list)
    lists: list[ListFact] = field(default_factory=list)
    annual: dict[int, str] = field(default_factory=dict)  # year -> latest status


def counts(r: RecordFact, today: dt.date) -> bool:
    """Does a negative record count now? Repaired, expired and deleted never do (a
    corrected one does, with its corrected content); nor anything past its display
    period; nor a minor's light dishonesty."""
    if r.polarity != "negative" or r.severity is None:
        return False
    if r.status not in ("active", "under_objection", "corrected"):
        return False
    if r.display_until is not None and r.display_until < today:
        return False
    return not (r.age_at_decision < ADULT_AGE and r.severity in LIGHT_FOR_MINORS)


def list_in_effect(entry: ListFact, today: dt.date) -> bool:
    if entry.status != "active":
        return False
    if entry.effective_from and entry.effective_from > today:
        return False
    return not (entry.effective_until and entry.effective_until < today)


def flags(facts: CheckFacts, today: dt.date) -> tuple[set[str], str, bool]:
    """(flags, status, contested): flags are the measure list's `applies_to` values."""
    if not facts.known:
        return set(), "unknown", False
    live = [r for r in facts.records if counts(r, today)]
    lists = [e for e in facts.lists if list_in_effect(e, today)]
    out: set[str] = set()
    if any(e.list_type == "black" for e in lists):
        out.add("black")
    if any(e.list_type == "red" for e in lists):
        out.add("red")
    serious = [r for r in live if r.severity == "serious"]
    general = [r for r in live if r.severity == "general"]
    year = today.year
    annual_recent = [facts.annual.get(y) for y in (year, year - 1)]
    if serious or "black" in out or "serious_dishonesty" in annual_recent:
        # Cumulative: what applies to a warning applies a fortiori to serious dishonesty.
        out |= {"serious_dishonesty", "warning"}
        status = "serious_dishonesty"
    elif general or any(e.list_type == "focus" for e in lists) or "warning" in annual_recent:
        out.add("warning")
        status = "warning"
    else:
        status = "trustworthy"
    if status == "trustworthy" and clean_for_years(facts, today):
        out.add("clean_3y")
    # Contested: every bad fact behind a punishment is under objection right now.
    bad = serious + general
    contested = bool(bad) and all(r.status == "under_objection" for r in bad) and not any(
        e.list_type == "black" and not e.under_objection for e in lists)
    return out, status, contested


def clean_for_years(facts: CheckFacts, today: dt.date, years: int = CLEAN_YEARS) -> bool:
    """No bad record for `years` consecutive years, from history: known that long, no
    negative record decided in the window (repaired ones included: they happened), no
    black-list effect in the window, no warning or worse yearly status in it."""
    start = add_months(today, -12 * years)
    if facts.known_since is None or facts.known_since > start:
        return False
    for r in facts.records:
        if (r.polarity == "negative" and r.severity in ("general", "serious")
                and r.status != "deleted" and r.decision_date > start):
            return False
    for e in facts.lists:
        if e.list_type == "black" and e.status not in ("rejected", "proposed"):
            if e.ended_on is None or e.ended_on > start:
                return False
    return all(facts.annual.get(y, "trustworthy") == "trustworthy"
               for y in range(start.year, today.year + 1))


def applicable_measures(measures: list[dict[str, Any]], scenario: str,
                        subject_flags: set[str]) -> list[dict[str, Any]]:
    return [m for m in measures
            if scenario in m["scenarios"] and subject_flags & set(m["applies_to"])]


def decide(measures: list[dict[str, Any]], contested: bool) -> str:
    effects = {m["effect"] for m in measures}
    if "deny" in effects:
        # A denial resting only on records under objection goes to a person instead.
        return "review" if contested else "deny"
    if effects & {"restrict", "caution"}:
        return "review"
    if "facilitate" in effects:
        return "facilitate"
    return "allow"
