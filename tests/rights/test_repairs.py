"""信用修复: eligibility, methods, decision, and what approval does everywhere."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from chengxin.records.models import CreditRecord, RecordState
from chengxin.sanctions.models import ListEntry
from tests.records.factories import EDU, pid, teacher_penalty
from tests.rights.helpers import PERSON, person_with_records


def _black(n, date="2025-06-01"):
    return {"subject_type": "person", "subject_name": "张四", "id_number": pid(n),
            "item_code": "BLK-001", "document_no": f"安县信认〔2025〕{n}号", "decision_date": date,
            "content": "拒不履行法定义务", "legal_basis": "依据",
            "attributes": {"dishonest_conduct": "拒不履行", "listing_authority": "县教育局",
                           "listing_basis": "认定书", "listed_on": date}}


def test_minimum_period_and_commitment_required(client, users, frozen_clock):
    me, key, (rid,) = person_with_records(client, users, [teacher_penalty(PERSON, decision_date="2026-10-01")])
    early = client.post("/api/v1/me/repairs", headers=me, json={
        "record_id": rid, "method": "fulfilment", "reason": "已整改", "evidence": [], "commitment": True})
    assert early.status_code == 422
    d = early.json()["error"]
    assert d["code"] == "not_eligible" and "2027-01-01" in d["details"][0]["message"]
    frozen_clock.set(dt.datetime(2027, 1, 5, 2, tzinfo=dt.UTC))
    me = users.headers("person41")  # a month later: sign in again
    no_commit = client.post("/api/v1/me/repairs", headers=me, json={
        "record_id": rid, "method": "commitment", "reason": "已整改"})
    assert no_commit.status_code == 422
    assert no_commit.json()["error"]["details"][0]["field"] == "commitment"
    no_evidence = client.post("/api/v1/me/repairs", headers=me, json={
        "record_id": rid, "method": "fulfilment", "reason": "已整改", "commitment": True})
    assert no_evidence.json()["error"]["details"][0]["field"] == "evidence"
    bad_method = client.post("/api/v1/me/repairs", headers=me, json={
        "record_id": rid, "method": "bribe", "reason": "x", "commitment": True})
    assert bad_method.status_code == 422
    ok = client.post("/api/v1/me/repairs", headers=me, json={
        "record_id": rid, "method": "commitment", "reason": "已纠正", "commitment": True})
    assert ok.status_code == 201, ok.text
    assert ok.json()["commitment_text"].startswith("本人郑重承诺")


def test_approval_repairs_record_removes_list_and_lifts_measures(client, users, rt, frozen_clock):
    me, key, (bid,) = person_with_records(client, users, [_black(PERSON)])
    users.add("chk", "reviewer")
    with rt.uow() as s:
        entry_id = s.scalar(select(ListEntry.id))
    client.post(f"/api/v1/lists/{entry_id}/approve", headers=users.headers("chk"), json={})
    frozen_clock.advance(days=8)
    checker = users.api_key("410522-rsj")
    before = client.post("/api/v1/check", headers=checker,
                         json={"id_number": pid(PERSON), "scenario": "civil_service_hiring"}).json()
    assert before["decision"] == "deny"
    frozen_clock.set(dt.datetime(2026, 12, 7, 2, tzinfo=dt.UTC))
    me = users.headers("person41")
    app = client.post("/api/v1/me/repairs", headers=me, json={
        "list_entry_id": entry_id, "method": "commitment", "reason": "已履行", "commitment": True})
    assert app.status_code == 201, app.text
    queue = client.get("/api/v1/repairs", headers=key).json()
    assert [x["id"] for x in queue] == [app.json()["id"]]
    bad = client.post(f"/api/v1/repairs/{app.json()['id']}/decision", headers=key,
                      json={"outcome": "rejected"})
    assert bad.status_code == 422  # a rejection needs reasons
    ok = client.post(f"/api/v1/repairs/{app.json()['id']}/decision", headers=key,
                     json={"outcome": "approved", "reason": "材料齐全"})
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    with rt.uow() as s:
        assert s.get(CreditRecord, bid).status == "repaired"  # the internal record stays
        entry = s.get(ListEntry, entry_id)
        assert entry.status == "removed" and entry.end_reason == "repair"
        states = [x.status for x in s.scalars(select(RecordState).where(
            RecordState.record_id == bid).order_by(RecordState.id))]
        assert states == ["active", "repaired"]
    after = client.post("/api/v1/check", headers=checker,
                        json={"id_number": pid(PERSON), "scenario": "civil_service_hiring"}).json()
    assert after["decision"] == "allow" and after["lists"] == [] and after["measures"] == []
    notices = client.get("/api/v1/me/notices", headers=me).json()
    assert notices[0]["kind"] == "repair_decided" and "已批准" in notices[0]["body"]


def test_court_list_excluded_and_only_negative(client, users, frozen_clock):
    from tests.records.factories import employment

    me, key, (eid,) = person_with_records(client, users, [employment(PERSON, subject_name="张四")])
    r = client.post("/api/v1/me/repairs", headers=me, json={
        "record_id": eid, "method": "commitment", "reason": "x", "commitment": True})
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_eligible"
    court = users.api_key("410522-fy")
    row = {"subject_type": "person", "subject_name": "张四", "id_number": pid(PERSON),
           "item_code": "BLK-002", "document_no": "（2025）豫0522执1号", "decision_date": "2025-01-05",
           "content": "失信被执行人", "legal_basis": "民事诉讼法",
           "attributes": {"case_no": "（2025）豫0522执1号", "court": "安阳县人民法院",
                          "obligation": "给付", "dishonest_situation": "有履行能力而拒不履行"}}
    res = client.post("/api/v1/records", headers=court, json=[row]).json()
    cid = res["results"][0]["record_id"]
    r2 = client.post("/api/v1/me/repairs", headers=me, json={
        "record_id": cid, "method": "commitment", "reason": "x", "commitment": True})
    assert r2.status_code == 422 and "认定机关" in r2.json()["error"]["details"][0]["message"]
