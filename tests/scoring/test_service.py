"""Set-based recomputation and explanation, on the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import hashlib
from itertools import count

import pytest
from sqlalchemy import event, func, select, text

from chengxin import clock
from chengxin.accounts.principal import cli_principal
from chengxin.identity import make_id_number
from chengxin.records.models import CreditRecord
from chengxin.scoring import service
from chengxin.scoring.models import PersonScore, ScoreItem, ScoreRun
from chengxin.scoring.rules import parse_rules
from chengxin.subjects.service import resolve_person
from tests.conftest import audit_rows

ADMIN = cli_principal("test")
EDU = "410522-jyj"
_docs = count(1)


def person(s, n: int, born: dt.date = dt.date(1985, 6, 1), name: str = "张三") -> int:
    return resolve_person(s, make_id_number("410522", born, n), name).person.id


def rec(s, person_id: int, item: str = "PEN-002", day: str = "2026-03-01",
        status: str = "active") -> int:
    now = clock.now()
    r = CreditRecord(department_code=EDU, document_no=f"测试〔2026〕{next(_docs)}号",
                     item_code=item, subject_type="person", person_id=person_id,
                     decision_date=dt.date.fromisoformat(day), status=status, version=1,
                     content_hash=hashlib.sha256(b"x").hexdigest(), source="api",
                     created_at=now, updated_at=now)
    s.add(r)
    s.flush()
    return r.id


def score(s, pid: int) -> tuple[float, str]:
    row = s.get(PersonScore, pid)
    return row.score_x100 / 100, row.grade


def test_clean_person_gets_base_and_grade_AA(rt, frozen_clock):
    with rt.uow() as s:
        pid = person(s, 1)
        counts = service.recompute_all(s, actor=ADMIN)
    assert counts["persons"] >= 1 and counts["items"] == 0
    with rt.uow() as s:
        assert score(s, pid) == (1000.0, "AA")
        ex = service.explain(s, pid)
    assert ex["score"] == 1000.0 and ex["base"] == 1000 and ex["items"] == []
    assert ex["grade"] == "AA" and ex["grade_label"] == "良好"
    assert ex["decides_alone"] is False and "第二十四条" in ex["notice"] and "异议" in ex["notice"]


def test_general_penalty_lowers_by_its_points_then_decays(rt, frozen_clock):
    with rt.uow() as s:
        pid = person(s, 1)
        rid = rec(s, pid)
        service.recompute_all(s, actor=ADMIN)
    with rt.uow() as s:
        assert score(s, pid) == (950.0, "A")
        ex = service.explain(s, pid)
    [item] = ex["items"]
    assert item["record_id"] == rid and item["rule_code"] == "GENERAL"
    assert item["points"] == -50.0 and item["decay_factor"] == 1.0
    assert "一般失信记录" in item["explanation"] and str(rid) in item["explanation"]

    frozen_clock.advance(days=730)  # 24 months on: past full weight (12), before 0 (36)
    with rt.uow() as s:
        service.recompute_all(s, actor=ADMIN)
    with rt.uow() as s:
        ex = service.explain(s, pid)
    [item] = ex["items"]
    assert 0 < item["decay_factor"] < 1
    assert -50 < item["points"] < 0
    assert ex["score"] == 1000 + item["points"]
    assert "衰减系数" in item["explanation"]

    frozen_clock.advance(days=400)  # beyond 36 months: the record no longer counts
    with rt.uow() as s:
        service.recompute_all(s, actor=ADMIN)
        assert service.explain(s, pid)["items"] == [] and score(s, pid)[0] == 1000.0


@pytest.mark.parametrize("status", ["repaired", "expired", "deleted"])
def test_record_out_of_force_no_longer_counts(rt, frozen_clock, status):
    with rt.uow() as s:
        pid = person(s, 1)
        rid = rec(s, pid)
        service.recompute_all(s, actor=ADMIN)
        assert score(s, pid)[0] == 950.0
        s.execute(text("UPDATE credit_records SET status = :st WHERE id = :id"),
                  {"st": status, "id": rid})
        service.recompute_all(s, actor=ADMIN)
        assert score(s, pid) == (1000.0, "AA")
        assert s.scalar(select(func.count()).select_from(ScoreItem)) == 0


def test_corrected_record_still_counts(rt, frozen_clock):
    """An objection decided as "corrected" keeps the record in force with new content."""
    with rt.uow() as s:
        pid = person(s, 1)
        rec(s, pid, status="corrected")
        service.recompute_all(s, actor=ADMIN)
        assert score(s, pid)[0] == 950.0


def test_record_under_objection_still_counts(rt, frozen_clock):
    with rt.uow() as s:
        pid = person(s, 1)
        rec(s, pid, status="under_objection")
        service.recompute_all(s, actor=ADMIN)
        assert score(s, pid)[0] == 950.0


def test_cap_limits_many_penalties_most_recent_first(rt, frozen_clock):
    with rt.uow() as s:
        pid = person(s, 1)
        ids = [rec(s, pid, day=f"2026-0{m}-01") for m in range(1, 8)]  # 7 × −50
        service.recompute_all(s, actor=ADMIN)
    with rt.uow() as s:
        assert score(s, pid) == (800.0, "B")  # cap 200, not 350
        ex = service.explain(s, pid)
    by_record = {i["record_id"]: i for i in ex["items"]}
    assert len(by_record) == 7
    newest_first = list(reversed(ids))
    assert [by_record[r]["points"] for r in newest_first] == [-50, -50, -50, -50, 0, 0, 0]
    assert all(by_record[r]["points_before_cap"] == -50 for r in ids)
    assert "最多计 200 分" in by_record[ids[0]]["explanation"]


def test_partial_cap_and_floor(rt, frozen_clock):
    rules = parse_rules({
        "version": 1, "name": "测试规则", "base": 100, "floor": 0, "ceiling": 200,
        "rules": [{"code": "G", "name": "一般", "match": {"polarity": "negative"},
                   "points": -40, "cap": 90}],
        "grades": [{"code": "A", "label": "好", "min": 60},
                   {"code": "B", "label": "差", "min": 0}],
    })
    with rt.uow() as s:
        pid = person(s, 1)
        for m in (1, 2, 3):
            rec(s, pid, day=f"2026-0{m}-01")
        service.recompute_all(s, actor=ADMIN, rules=rules)
        ex = service.explain(s, pid, rules=rules)
    assert sorted(i["points"] for i in ex["items"]) == [-40, -40, -10]
    assert ex["score"] == 10.0 and ex["grade"] == "B"


def test_minor_light_records_never_count(rt, frozen_clock):
    rules = parse_rules({
        "version": 1, "name": "测试规则", "base": 1000, "floor": 0, "ceiling": 1200,
        "rules": [{"code": "LIGHT", "name": "轻微失信", "points": -5,
                   "match": {"polarity": "negative", "severity": "minor"}},
                  {"code": "GEN", "name": "一般失信", "points": -50,
                   "match": {"polarity": "negative", "severity": "general"}}],
        "grades": [{"code": "A", "label": "好", "min": 1000},
                   {"code": "B", "label": "差", "min": 0}],
    })
    with rt.uow() as s:
        adult = person(s, 1)
        minor = person(s, 2, born=dt.date(2010, 3, 2))  # 15 on 2026-03-01
        almost = person(s, 3, born=dt.date(2008, 3, 1))  # 18 exactly on 2026-03-01
        for pid in (adult, minor, almost):
            rec(s, pid, item="PEN-001")  # minor severity (简易程序)
        rec(s, minor, item="PEN-002")  # general: light for a minor too (default)
        rec(s, minor, item="PEN-002", day="2028-04-01")  # an adult by then: counts
        service.recompute_all(s, actor=ADMIN, rules=rules)
        assert score(s, adult)[0] == 995.0
        assert score(s, almost)[0] == 995.0
        items = service.explain(s, minor, rules=rules)["items"]
    assert [i["decision_date"] for i in items] == ["2028-04-01"]
    assert score_of(rt, minor) == 950.0


def score_of(rt, pid: int) -> float:
    with rt.uow() as s:
        return score(s, pid)[0]


def test_first_matching_rule_wins_and_positive_points(rt, frozen_clock):
    with rt.uow() as s:
        pid = person(s, 1)
        blk = rec(s, pid, item="BLK-001")  # black list, also negative/serious
        hon = rec(s, pid, item="HON-004")
        pub = [rec(s, pid, item="PUB-001", day=f"2026-0{m}-01") for m in range(1, 8)]
        service.recompute_all(s, actor=ADMIN)
        ex = service.explain(s, pid)
    rules_of = {i["record_id"]: i["rule_code"] for i in ex["items"]}
    assert rules_of[blk] == "BLACK-LIST" and rules_of[hon] == "HONOUR-NATIONAL"
    assert {rules_of[r] for r in pub} == {"WELFARE"}
    assert len(ex["items"]) == 9  # each record once
    assert ex["score"] == 1000 - 300 + 50 + 50  # welfare capped at 50
    assert ex["grade"] == "B"


def test_explain_sums_to_score_and_names_every_record(rt, frozen_clock):
    with rt.uow() as s:
        pid = person(s, 1)
        ids = {rec(s, pid, day="2025-06-15"), rec(s, pid, item="PEN-003", day="2023-01-10"),
               rec(s, pid, item="HON-001", day="2026-10-01"), rec(s, pid, item="PUB-002")}
        service.recompute_all(s, actor=ADMIN)
        ex = service.explain(s, pid)
    assert {i["record_id"] for i in ex["items"]} == ids
    assert round(ex["base"] + sum(i["points"] for i in ex["items"]), 2) == ex["score"]
    assert ex["points_total"] == round(ex["score"] - ex["base"], 2)
    for i in ex["items"]:
        assert i["rule_name"] and i["item_name"] and i["decision_date"]
        assert f"记录编号 {i['record_id']}" in i["explanation"]
    assert ex["rules"]["current"] is True


def test_recompute_person_touches_only_that_person(rt, frozen_clock):
    with rt.uow() as s:
        a, b = person(s, 1), person(s, 2, name="李四")
        service.recompute_all(s, actor=ADMIN)
        rec(s, a)
        rec(s, b)
        counts = service.recompute_person(s, a, actor=ADMIN)
        assert counts["persons"] == 1 and counts["items"] == 1
        assert score(s, a)[0] == 950.0 and score(s, b)[0] == 1000.0
        runs = s.scalars(select(ScoreRun).order_by(ScoreRun.id)).all()
        assert [r.scope for r in runs] == ["all", "person"]
    assert [r.subject_person_id for r in audit_rows(rt, "score.recompute")] == [None, a]


def _statements(rt, n_persons: int) -> tuple[int, dict]:
    with rt.uow() as s:
        s.execute(text("DELETE FROM score_items"))
        s.execute(text("DELETE FROM person_scores"))
        for n in range(1, n_persons + 1):
            pid = person(s, 100 + n, name=f"王{n}")
            rec(s, pid)
            rec(s, pid, item="HON-002")
            if n % 2:
                rec(s, pid, item="PUB-001")
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(rt.engine, "before_cursor_execute", listener)
    try:
        with rt.uow() as s:
            counts = service.recompute_all(s, actor=ADMIN, rules=service.current_rules(s))
            seen.clear()  # rules are cached now; count only the recomputation
            counts = service.recompute_all(s, actor=ADMIN)
            n = len(seen)
    finally:
        event.remove(rt.engine, "before_cursor_execute", listener)
    return n, counts


def test_statement_count_does_not_grow_with_persons(rt, frozen_clock):
    few, c5 = _statements(rt, 5)
    many, c50 = _statements(rt, 50)
    assert few == many, (few, many)
    assert few <= 8 + 2 * len(_rules(rt).rules)
    assert c50["persons"] - c5["persons"] == 45
    assert c50["items"] - c5["items"] == 50 * 2 + 25  # 5 earlier persons are still there


def _rules(rt):
    with rt.uow() as s:
        return service.current_rules(s)
