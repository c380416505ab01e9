"""异议: marked at once, routed, decided by a working-day deadline, notified, reviewed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from chengxin.records.models import CreditRecord, RecordVersion
from chengxin.sanctions.models import ListEntry
from tests.conftest import audit_rows
from tests.records.factories import EDU, SCJG, teacher_penalty
from tests.rights.helpers import PERSON, person_with_records


def test_objection_marks_record_and_is_decided_by_source_department(client, users, rt, frozen_clock):
    me, key, (rid,) = person_with_records(client, users)
    r = client.post("/api/v1/me/objections", headers=me,
                    json={"record_id": rid, "reason": "我没有有偿补课", "evidence": []})
    assert r.status_code == 201, r.text
    o = r.json()
    # Monday 2026-11-23 + 5 working days = Monday 2026-11-30.
    assert o["status"] == "open" and o["due_date"] == "2026-11-30"
    with rt.uow() as s:
        assert s.get(CreditRecord, rid).status == "under_objection"
    # The source department sees it in its queue; another department does not.
    queue = client.get("/api/v1/objections", headers=key).json()
    assert [x["id"] for x in queue] == [o["id"]]
    other = users.api_key(SCJG)
    assert client.get("/api/v1/objections", headers=other).json() == []
    denied = client.post(f"/api/v1/objections/{o['id']}/decision", headers=other,
                         json={"outcome": "deleted"})
    assert denied.status_code == 403
    ok = client.post(f"/api/v1/objections/{o['id']}/decision", headers=key,
                     json={"outcome": "corrected", "note": "补课事实更正",
                           "correction": {"content": "经核查：仅一次收费补课，已退费"}})
    assert ok.status_code == 200, ok.text
    assert ok.json()["outcome"] == "corrected"
    with rt.uow() as s:
        rec = s.get(CreditRecord, rid)
        assert rec.status == "corrected" and rec.version == 2
        versions = s.scalars(select(RecordVersion).where(RecordVersion.record_id == rid)
                             .order_by(RecordVersion.version)).all()
        assert versions[0].payload["content"] == "有偿补课，经查属实"
        assert versions[1].payload["content"] == "经核查：仅一次收费补课，已退费"
        assert versions[1].reason == "correction"
    notices = client.get("/api/v1/me/notices", headers=me).json()
    kinds = [n["kind"] for n in notices]
    assert kinds[:2] == ["objection_decided", "objection_received"]
    assert "negative_record" in kinds  # 两书同达 at collection
    assert audit_rows(rt, "objection.decide")[-1].details["outcome"] == "corrected"


def test_upheld_restores_and_deleted_ends_list_entries(client, users, rt, frozen_clock):
    black = {"subject_type": "person", "subject_name": "张四", "id_number": teacher_penalty(PERSON)["id_number"],
             "item_code": "BLK-001", "document_no": "安县信认〔2026〕41号", "decision_date": "2026-06-01",
             "content": "拒不履行", "legal_basis": "依据", "attributes": {
                 "dishonest_conduct": "拒不履行", "listing_authority": "县教育局",
                 "listing_basis": "认定书", "listed_on": "2026-06-01"}}
    me, key, (rid, bid) = person_with_records(client, users, [teacher_penalty(PERSON), black])
    o1 = client.post("/api/v1/me/objections", headers=me, json={"record_id": rid, "reason": "不实"}).json()
    client.post(f"/api/v1/objections/{o1['id']}/decision", headers=key, json={"outcome": "upheld"})
    r2 = client.post("/api/v1/me/objections", headers=me, json={"record_id": bid, "reason": "不实"})
    assert r2.status_code == 201, r2.text
    o2 = r2.json()
    users.add("office1", "reviewer")
    r = client.post(f"/api/v1/objections/{o2['id']}/decision", headers=users.headers("office1"),
                    json={"outcome": "deleted", "note": "认定依据不足"})
    assert r.status_code == 200
    with rt.uow() as s:
        assert s.get(CreditRecord, rid).status == "active"
        assert s.get(CreditRecord, bid).status == "deleted"
        entry = s.scalar(select(ListEntry).where(ListEntry.record_id == bid))
        assert entry.status == "removed" and entry.end_reason == "decision"


def test_only_own_records_and_second_review(client, users, rt, frozen_clock):
    me, key, (rid,) = person_with_records(client, users)
    other_rows = client.post("/api/v1/records", headers=key, json=[teacher_penalty(77)]).json()
    other_rid = other_rows["results"][0]["record_id"]
    r = client.post("/api/v1/me/objections", headers=me, json={"record_id": other_rid, "reason": "x"})
    assert r.status_code == 404  # the same answer as a record that does not exist
    o = client.post("/api/v1/me/objections", headers=me, json={"record_id": rid, "reason": "x"}).json()
    dup = client.post("/api/v1/me/objections", headers=me, json={"record_id": rid, "reason": "y"})
    assert dup.status_code == 409
    early = client.post(f"/api/v1/me/objections/{o['id']}/review", headers=me, json={"reason": "z"})
    assert early.status_code == 409
    client.post(f"/api/v1/objections/{o['id']}/decision", headers=key, json={"outcome": "upheld"})
    review = client.post(f"/api/v1/me/objections/{o['id']}/review", headers=me,
                         json={"reason": "不服，申请复核"})
    assert review.status_code == 201
    body = review.json()
    assert body["review_of"] == o["id"] and body["department_code"] == "410522-xyb"
    users.add("office2", "reviewer")
    q = client.get("/api/v1/objections", headers=users.headers("office2")).json()
    assert [x["id"] for x in q] == [body["id"]]


def test_overdue_objection_escalated(client, users, rt, frozen_clock):
    from chengxin.accounts.principal import cli_principal
    from chengxin.rights.objections import escalate_overdue

    me, key, (rid,) = person_with_records(client, users)
    o = client.post("/api/v1/me/objections", headers=me, json={"record_id": rid, "reason": "x"}).json()
    frozen_clock.advance(days=6)  # Sunday 2026-11-29: not yet overdue
    with rt.uow() as s:
        assert escalate_overdue(s, actor=cli_principal()) == 0
    frozen_clock.set(dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC))
    with rt.uow() as s:
        assert escalate_overdue(s, actor=cli_principal()) == 1
    queue = client.get("/api/v1/objections", headers=key).json()
    assert queue[0]["escalated"] is True and queue[0]["overdue"] is True


def test_staff_cannot_file_and_bad_input(client, users):
    me, key, (rid,) = person_with_records(client, users)
    users.add("office3", "reviewer")
    r = client.post("/api/v1/me/objections", headers=users.headers("office3"),
                    json={"record_id": rid, "reason": "x"})
    assert r.status_code == 403
    bad = client.post("/api/v1/me/objections", headers=me, json={"record_id": "abc"})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"record_id", "reason"}
    ev = client.post("/api/v1/me/objections", headers=me,
                     json={"record_id": rid, "reason": "x", "evidence": [999]})
    assert ev.status_code == 422 and ev.json()["error"]["details"][0]["field"] == "evidence.0"
    wrong = client.post("/api/v1/objections/1/decision", headers=key,
                        json={"outcome": "corrected", "correction": {}})
    assert wrong.status_code in (404, 422)
