"""The check, scenario by scenario, for the seven kinds of person the issue names."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from chengxin.records.models import CreditRecord
from chengxin.sanctions.models import ListEntry
from tests.conftest import audit_rows
from tests.records.factories import EDU, employment, pid, teacher_penalty

BLACK, RED, WARN, CLEAN, MINOR, REPAIRED, UNKNOWN = 11, 12, 13, 14, 15, 16, 17

# Expected decision per scenario, worked out by hand from data/measures.yaml.
EXPECTED = {  # scenario: (black, red, warning, clean_3y)
    "licensing": ("review", "facilitate", "review", "facilitate"),
    "government_services": ("review", "facilitate", "review", "facilitate"),
    "credit_commitment": ("review", "allow", "allow", "allow"),
    "civil_service_hiring": ("deny", "allow", "allow", "allow"),
    "public_institution_hiring": ("deny", "allow", "allow", "allow"),
    "cadre_selection": ("allow", "allow", "allow", "allow"),
    "awards": ("deny", "facilitate", "allow", "allow"),
    "talent_programme": ("deny", "facilitate", "allow", "allow"),
    "candidacy": ("review", "allow", "allow", "allow"),
    "high_consumption": ("review", "allow", "allow", "allow"),
    "government_subsidy": ("deny", "facilitate", "allow", "allow"),
    "public_resource_trading": ("review", "facilitate", "allow", "allow"),
    "government_procurement": ("deny", "allow", "allow", "allow"),
    "loan": ("review", "facilitate", "allow", "allow"),
    "market_access": ("deny", "allow", "allow", "allow"),
    "professional_qualification": ("deny", "allow", "allow", "allow"),
    "soe_executive": ("deny", "allow", "allow", "allow"),
    "daily_supervision": ("review", "facilitate", "review", "facilitate"),
    "research_project": ("deny", "allow", "allow", "allow"),
    "public_services": ("allow", "facilitate", "allow", "allow"),
}


def _black_row(n):
    return {"subject_type": "person", "subject_name": "黑名单人", "id_number": pid(n),
            "item_code": "BLK-001", "document_no": f"安县信认〔2026〕{n}号",
            "decision_date": "2026-06-01", "content": "拒不履行法定义务，情节严重",
            "legal_basis": "《社会信用体系建设法》相关规定",
            "attributes": {"dishonest_conduct": "拒不履行", "listing_authority": "县教育局",
                           "listing_basis": "认定书", "listed_on": "2026-06-01"}}


def _red_row(n):
    return {"subject_type": "person", "subject_name": "红名单人", "id_number": pid(n),
            "item_code": "RED-001", "document_no": f"安县信红〔2026〕{n}号",
            "decision_date": "2026-05-01", "content": "诚实守信典型",
            "attributes": {"listing_authority": "县信用办", "listing_reason": "优秀教师",
                           "listed_on": "2026-05-01"}}


@pytest.fixture
def world(client, users, rt, frozen_clock):
    key = users.api_key(EDU)

    def send(rows):
        r = client.post("/api/v1/records", headers=key, json=rows)
        assert r.status_code == 200, r.text
        return r.json()["results"]

    send([_black_row(BLACK), _red_row(RED), teacher_penalty(WARN),
          employment(CLEAN, decision_date="2019-01-10"),
          teacher_penalty(MINOR, id_number=pid(MINOR, dt.date(2012, 5, 1))),
          teacher_penalty(REPAIRED, item_code="PEN-003")])
    users.add("checker1", "reviewer")
    with rt.uow() as s:
        entry = s.scalar(select(ListEntry).where(ListEntry.list_type == "black"))
        assert entry.status == "proposed"
        entry_id = entry.id
        # Repair is issue 5's path; here the record is marked as a repair would leave it.
        s.execute(update(CreditRecord).where(CreditRecord.item_code == "PEN-003")
                  .values(status="repaired"))
    r = client.post(f"/api/v1/lists/{entry_id}/approve", headers=users.headers("checker1"),
                    json={"note": "材料齐全"})
    assert r.status_code == 200 and r.json()["status"] == "active"
    frozen_clock.advance(days=8)  # past the prior-notice period
    return users.api_key("410522-rsj")


def check(client, key, n, scenario, born=dt.date(1985, 6, 1)):
    r = client.post("/api/v1/check", headers=key,
                    json={"id_number": pid(n, born), "scenario": scenario})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_decisions_per_scenario(client, world, scenario):
    black, red, warn, clean = EXPECTED[scenario]
    b = check(client, world, BLACK, scenario)
    assert (b["status"], b["decision"]) == ("serious_dishonesty", black)
    assert [x["type"] for x in b["lists"]] == ["black"]
    r = check(client, world, RED, scenario)
    assert (r["status"], r["decision"]) == ("trustworthy", red)
    assert [x["type"] for x in r["lists"]] == ["red"]
    w = check(client, world, WARN, scenario)
    assert (w["status"], w["decision"]) == ("warning", warn)
    c = check(client, world, CLEAN, scenario)
    assert (c["status"], c["decision"]) == ("trustworthy", clean)
    m = check(client, world, MINOR, scenario, born=dt.date(2012, 5, 1))
    assert (m["status"], m["decision"], m["measures"]) == ("trustworthy", "allow", [])
    rp = check(client, world, REPAIRED, scenario)
    assert (rp["status"], rp["decision"], rp["measures"]) == ("trustworthy", "allow", [])
    u = check(client, world, UNKNOWN, scenario)
    assert (u["status"], u["decision"], u["lists"], u["measures"]) == ("unknown", "allow", [], [])


def test_answer_shape_masked_and_audited(client, world, rt):
    a = check(client, world, BLACK, "awards")
    assert a["subject"]["id_number_masked"] == pid(BLACK)[:4] + "*" * 10 + pid(BLACK)[-4:]
    assert a["subject"]["name_masked"] == "黑***"
    assert pid(BLACK) not in str(a)
    codes = {m["code"] for m in a["measures"]}
    assert {"P01", "P02", "P19"} <= codes
    assert all(m["legal_basis"] and m["kind"] == "punish" for m in a["measures"])
    entries = [e for e in audit_rows(rt, "check.run") if e.object_id == a["check_id"]]
    assert len(entries) == 1 and entries[0].details["decision"] == "deny"
    assert entries[0].subject_person_id is not None


def test_black_entry_has_no_effect_before_approval_and_notice(client, users, rt, frozen_clock):
    key = users.api_key(EDU)
    client.post("/api/v1/records", headers=key, json=[_black_row(21)])
    other = users.api_key("410522-rsj")
    # Proposed only: no list effect (its serious record still counts as dishonesty).
    a = check(client, other, 21, "civil_service_hiring")
    assert a["lists"] == [] and a["decision"] == "allow"
    users.add("checker2", "reviewer")
    with rt.uow() as s:
        entry_id = s.scalar(select(ListEntry.id))
    client.post(f"/api/v1/lists/{entry_id}/approve", headers=users.headers("checker2"), json={})
    assert check(client, other, 21, "civil_service_hiring")["decision"] == "allow"  # notice
    frozen_clock.advance(days=8)
    assert check(client, other, 21, "civil_service_hiring")["decision"] == "deny"


def test_bad_check_input(client, users):
    key = users.api_key(EDU)
    r = client.post("/api/v1/check", headers=key, json={"id_number": "123", "scenario": "nope"})
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert fields == {"id_number", "scenario"}
    assert client.post("/api/v1/check", headers=key, content=b"[1]").status_code == 422
    users.add("staffer", "reviewer")
    assert client.post("/api/v1/check", headers=users.headers("staffer"),
                       json={"id_number": pid(1), "scenario": "awards"}).status_code == 403


def test_feedback_counted_and_checked(client, world, users):
    a = check(client, world, BLACK, "awards")
    bad = client.post(f"/api/v1/check/{a['check_id']}/feedback", headers=world,
                      json={"applied": ["R01"]})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["code"] == "measure_not_offered"
    ok = client.post(f"/api/v1/check/{a['check_id']}/feedback", headers=world,
                     json={"applied": ["P01", "P19"], "note": "不予评优"})
    assert ok.status_code == 200 and ok.json()["applied"] == ["P01", "P19"]
    assert client.post(f"/api/v1/check/{a['check_id']}/feedback", headers=world,
                       json={"applied": []}).status_code == 409
    other = users.api_key(EDU)
    assert client.post(f"/api/v1/check/{a['check_id']}/feedback", headers=other,
                       json={"applied": []}).status_code == 403
    users.add("statsman", "reviewer")
    stats = client.get("/api/v1/stats/measures", headers=users.headers("statsman")).json()
    rows = {(x["department_code"], x["scenario"], x["measure_code"]): x for x in stats}
    assert rows[("410522-rsj", "awards", "P01")]["applied"] == 1
    assert rows[("410522-rsj", "awards", "P19")]["checks"] == 1


def test_maker_checker_needs_a_second_person(client, users, rt):
    users.add("maker", "reviewer")
    users.add("checker", "admin")
    key = users.api_key(EDU)
    client.post("/api/v1/records", headers=key, json=[_black_row(31)])
    with rt.uow() as s:
        entry_id = s.scalar(select(ListEntry.id))
    client.post(f"/api/v1/lists/{entry_id}/approve", headers=users.headers("checker"), json={})
    # Removal by decision: proposed by one, approved by another, both recorded.
    hm, hc = users.headers("maker"), users.headers("checker")
    change = client.post(f"/api/v1/lists/{entry_id}/removal", headers=hm,
                         json={"reason": "认定单位撤销认定"}).json()
    same = client.post(f"/api/v1/list-changes/{change['change_id']}/decision", headers=hm,
                       json={"approve": True})
    assert same.status_code == 403 and same.json()["error"]["code"] == "same_person"
    done = client.post(f"/api/v1/list-changes/{change['change_id']}/decision", headers=hc,
                       json={"approve": True})
    assert done.json()["status"] == "approved"
    entry = client.get(f"/api/v1/lists/{entry_id}", headers=hc).json()
    assert entry["status"] == "removed" and entry["end_reason"] == "decision"
    assert [e["event"] for e in entry["events"]] == ["proposed", "approved", "ended_decision"]
    assert entry["events"][-1]["actor"] == "checker"


def test_check_ids_sort_by_time_and_stay_unguessable():
    """A check id is the time in milliseconds, then 80 random bits: new ids sort after
    older ones (the primary-key index takes them on its last page), and no two share
    their random part."""
    import re
    import time

    from chengxin.sanctions.service import _check_ids

    ids = [_check_ids.next() for _ in range(5000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len({i[12:] for i in ids}) == len(ids)
    assert [i[:12] for i in ids] == sorted(i[:12] for i in ids)
    assert abs(int(ids[-1][:12], 16) - time.time_ns() // 1_000_000) < 5_000
    time.sleep(0.002)
    assert _check_ids.next() > max(ids)
