"""The rule file: the shipped defaults load and fit the catalog; bad files say exactly why."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
import yaml

from chengxin.scoring.rules import (
    FACTOR_ONE,
    Decay,
    ScoringRulesError,
    add_months,
    decay_factor,
    item_points_x100,
    load_rules,
    parse_rules,
)

DATA = Path(__file__).resolve().parents[2] / "src" / "chengxin" / "data"


def _catalog() -> tuple[set[str], set[str]]:
    doc = yaml.safe_load((DATA / "catalog.yaml").read_text(encoding="utf-8"))
    return {i["code"] for i in doc["items"]}, set(doc["categories"])


def _doc() -> dict:
    return yaml.safe_load((DATA / "scoring.yaml").read_text(encoding="utf-8"))


def test_default_rules_load_and_match_the_catalog():
    codes, categories = _catalog()
    rules = load_rules(DATA / "scoring.yaml", catalog_codes=codes, categories=categories)
    assert rules.base == 1000 and rules.floor == 0 and rules.ceiling == 1200
    assert [g.code for g in rules.grades] == ["AAA", "AA", "A", "B", "C", "D"]
    assert rules.grade_for(1000).code == "AA" and rules.grade_for(950).code == "A"
    assert rules.grade_for(0).code == "D"
    general = rules.rule("GENERAL")
    assert general is not None and general.points == -50 and general.cap == 200
    assert general.decay.full_months == 12 and general.decay.zero_months == 36
    for r in rules.rules:
        assert r.counts_statuses == ["active", "under_objection", "corrected"]
    assert "minor" in rules.minors.severities and rules.minors.adult_age == 18
    assert len(rules.digest) == 64


def test_bad_file_lists_every_problem_with_rule_and_field():
    codes, categories = _catalog()
    doc = _doc()
    bad = copy.deepcopy(doc)
    bad["rules"][0]["match"] = {"item_codes": ["NOPE-1"]}
    bad["rules"][1]["decay"] = {"kind": "linear", "full_months": 36, "zero_months": 12}
    bad["rules"][2]["counts_statuses"] = ["active", "repaired"]
    bad["rules"][3]["colour"] = "red"
    bad["rules"][4]["match"] = {"polarity": "negative", "category": "penalty"}
    bad["grades"] = [{"code": "A", "label": "好", "min": 500},
                     {"code": "B", "label": "差", "min": 600}]
    with pytest.raises(ScoringRulesError) as exc:
        parse_rules(bad, catalog_codes=codes, categories=categories)
    text = "\n".join(exc.value.problems)
    assert ("rule #0 (code 'BLACK-LIST'): field match.item_codes: "
            "unknown catalog item 'NOPE-1'") in text
    assert "rule #1 (code 'SERIOUS'): field decay" in text and "zero_months must be greater" in text
    assert "rule #2 (code 'GENERAL'): field counts_statuses" in text and "repaired" in text
    assert "rule #3 (code 'RED-LIST'): field colour: Extra inputs are not permitted" in text
    assert "rule #4" in text and "exactly one of" in text
    assert "field grades: bands must be ordered" in text


def test_minor_protection_cannot_be_switched_off():
    doc = _doc()
    doc["minors"] = {"adult_age": 18, "severities": ["general"]}
    with pytest.raises(ScoringRulesError, match=r"minors\.severities"):
        parse_rules(doc)


def test_decay_formula():
    today = dt.date(2026, 11, 23)
    linear = Decay(kind="linear", full_months=12, zero_months=36)
    assert decay_factor(linear, dt.date(2026, 3, 1), today) == FACTOR_ONE
    assert decay_factor(linear, dt.date(2023, 1, 1), today) == 0
    mid = decay_factor(linear, add_months(today, -24), today)
    assert 4950 < mid < 5050  # halfway in months, not exactly in days (leap years)
    assert decay_factor(Decay(), dt.date(2000, 1, 1), today) == FACTOR_ONE
    assert item_points_x100(-50, 5000) == -2500 and item_points_x100(10, 3333) == 333
    assert add_months(dt.date(2026, 3, 31), -1) == dt.date(2026, 2, 28)
