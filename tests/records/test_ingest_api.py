"""POST /api/v1/records: per-row results, idempotency, versions, 落实到人, holds."""

from __future__ import annotations

from sqlalchemy import func, select

from chengxin.records.models import CreditRecord, HeldRow, RecordVersion
from chengxin.subjects.models import Person
from tests.conftest import audit_rows
from tests.records.factories import EDU, SCJG, enterprise_penalty, pid, teacher_penalty


def post(client, headers, rows):
    return client.post("/api/v1/records", headers=headers, json=rows)


def test_mixed_batch_keeps_good_rows_and_names_row_and_field(client, users):
    h = users.api_key(EDU)
    rows = [
        teacher_penalty(1),
        teacher_penalty(2, id_number=pid(2)[:-1] + ("0" if pid(2)[-1] != "0" else "1")),
        teacher_penalty(3, decision_date="2026-02-30"),
        teacher_penalty(4, attributes={"violation_type": "x", "punishment_type": "枪毙",
                                       "punishment_content": "y"}),
        teacher_penalty(5, legal_basis=""),
        teacher_penalty(6, group_code="physician"),
        teacher_penalty(7, item_code="NOPE-1"),
        teacher_penalty(8),
    ]
    r = post(client, h, rows)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 2 and body["rejected"] == 6
    by_row = {x["row"]: x for x in body["results"]}
    assert by_row[1]["status"] == by_row[8]["status"] == "created"
    assert by_row[1]["record_id"] and by_row[8]["record_id"]
    expect = {2: ("id_number", "id_number_checksum"), 3: ("decision_date", "date"),
              4: ("attributes.punishment_type", "type"), 5: ("legal_basis", "required"),
              6: ("group_code", "not_responsible"), 7: ("item_code", "unknown_item")}
    for row, (field, code) in expect.items():
        assert by_row[row]["status"] == "rejected"
        errs = by_row[row]["errors"]
        assert [(e["row"], e["field"], e["code"]) for e in errs] == [(row, field, code)], errs
    # No personal data in any message.
    for x in body["results"]:
        for e in x["errors"]:
            assert pid(2)[:17] not in e["message"] and "张" not in e["message"]


def test_resend_is_idempotent_and_change_makes_a_version(client, users, rt):
    h = users.api_key(EDU)
    first = post(client, h, [teacher_penalty(1), teacher_penalty(2)]).json()
    again = post(client, h, [teacher_penalty(1), teacher_penalty(2)]).json()
    assert [x["status"] for x in again["results"]] == ["unchanged", "unchanged"]
    assert [x["record_id"] for x in again["results"]] == [x["record_id"] for x in first["results"]]
    changed = post(client, h, [teacher_penalty(1, content="有偿补课，经复查金额更正")]).json()
    assert changed["results"][0]["status"] == "updated"
    rid = changed["results"][0]["record_id"]
    with rt.uow() as s:
        versions = s.scalars(select(RecordVersion).where(RecordVersion.record_id == rid)
                             .order_by(RecordVersion.version)).all()
        assert [v.version for v in versions] == [1, 2]
        assert versions[0].payload["content"] == "有偿补课，经查属实"  # history kept
        assert versions[1].payload["content"] == "有偿补课，经复查金额更正"
        assert s.scalar(select(func.count()).select_from(CreditRecord)) == 2
        assert s.scalar(select(func.count()).select_from(Person)) == 2


def test_record_read_shows_history_masked_and_is_audited(client, users):
    h = users.api_key(EDU)
    rid = post(client, h, [teacher_penalty(1)]).json()["results"][0]["record_id"]
    post(client, h, [teacher_penalty(1, content="更正后的事实")])
    users.add("officer", "reviewer")
    r = client.get(f"/api/v1/records/{rid}", headers=users.headers("officer"))
    assert r.status_code == 200
    rec = r.json()
    assert rec["version"] == 2 and [v["version"] for v in rec["versions"]] == [1, 2]
    assert rec["subject"]["id_number_masked"] == pid(1)[:6] + "********" + pid(1)[-4:]
    assert pid(1) not in r.text
    assert rec["status"] == "active" and rec["states"][0]["status"] == "active"
    reads = audit_rows(users.rt, "record.read")
    assert reads and reads[-1].object_id == str(rid) and reads[-1].subject_person_id


def test_other_department_cannot_send_or_read(client, users):
    h_edu = users.api_key(EDU)
    rid = post(client, h_edu, [teacher_penalty(1)]).json()["results"][0]["record_id"]
    h_scjg = users.api_key(SCJG)
    r = post(client, h_scjg, [teacher_penalty(2)])
    assert r.status_code == 422  # every row refused: teachers are not theirs
    assert r.json()["error"]["details"][0]["code"] == "not_responsible"
    assert client.get(f"/api/v1/records/{rid}", headers=h_scjg).status_code == 403
    users.add("audit1", "auditor")
    assert post(client, users.headers("audit1"), [teacher_penalty(3)]).status_code == 403


def test_all_rows_rejected_is_said_plainly(client, users):
    r = post(client, users.api_key(EDU), [teacher_penalty(1, decision_date="bad"),
                                          {"nonsense": True}])
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "batch_rejected" and "全部 2 行均被拒绝" in err["message"]
    assert {d["row"] for d in err["details"]} == {1, 2}


def test_body_shape_errors(client, users):
    h = users.api_key(EDU)
    for body in (b"{}", b"[", b"[]", b'"x"'):
        r = client.post("/api/v1/records", headers=h, content=body)
        assert r.status_code == 422, body
        assert set(r.json()["error"]) == {"code", "message", "details"}
    assert post(client, {}, [teacher_penalty(1)]).status_code == 401


def test_duplicate_document_in_one_batch(client, users):
    r = post(client, users.api_key(EDU), [teacher_penalty(1), teacher_penalty(1, content="另一")])
    res = r.json()["results"]
    assert res[0]["status"] == "created"
    assert res[1]["status"] == "rejected" and res[1]["errors"][0]["code"] == "duplicate_in_batch"


def test_name_mismatch_is_held_not_merged(client, users, rt):
    h = users.api_key(EDU)
    post(client, h, [teacher_penalty(1, subject_name="张三")])
    r = post(client, h, [teacher_penalty(9, id_number=pid(1), subject_name="张叁",
                                         document_no="安县教罚〔2026〕99号")])
    res = r.json()["results"][0]
    assert res["status"] == "held" and res["errors"][0]["code"] == "name_mismatch"
    assert res["record_id"] is None
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(CreditRecord)) == 1
        held = s.scalar(select(HeldRow))
        assert held.sent_name == "张叁" and pid(1) not in held.row_enc
    users.add("rev1", "reviewer")
    hr = users.headers("rev1")
    listed = client.get("/api/v1/held-rows", headers=hr).json()
    assert listed[0]["known_name"] == "张三" and listed[0]["sent_name"] == "张叁"
    decided = client.post(f"/api/v1/held-rows/{held.id}/decision", headers=hr,
                          json={"outcome": "accepted"}).json()
    assert decided["record_id"]
    again = client.post(f"/api/v1/held-rows/{held.id}/decision", headers=hr,
                        json={"outcome": "accepted"})
    assert again.status_code == 409


def test_enterprise_serious_penalty_reaches_legal_representative(client, users, rt):
    h = users.api_key(SCJG)
    r = post(client, h, [enterprise_penalty(1, rep=50)]).json()
    org_rid = r["results"][0]["record_id"]
    with rt.uow() as s:
        derived = s.scalars(select(CreditRecord).where(CreditRecord.derived_from == org_rid)).all()
        assert len(derived) == 1
        d = derived[0]
        assert d.subject_type == "person" and d.derived_role == "legal_representative"
        assert d.item_code == "PEN-005" and d.status == "active"
        rep_id = d.person_id
    # A correction of the organisation's record follows to the person.
    post(client, h, [enterprise_penalty(1, rep=50, content="更正：生产经营超过保质期的食品")])
    with rt.uow() as s:
        d = s.scalar(select(CreditRecord).where(CreditRecord.derived_from == org_rid))
        assert d.version == 2 and d.person_id == rep_id
        v2 = s.scalar(select(RecordVersion.payload).where(
            RecordVersion.record_id == d.id, RecordVersion.version == 2))
        assert v2["content"] == "更正：生产经营超过保质期的食品" and v2["derived_from"] == org_rid
    # The representative named is corrected: the first no longer carries it.
    row = enterprise_penalty(1, rep=51, content="更正：生产经营超过保质期的食品")
    row["responsible_persons"][0]["name"] = "赵法人"
    post(client, h, [row])
    with rt.uow() as s:
        by_person = {x.person_id: x.status for x in s.scalars(
            select(CreditRecord).where(CreditRecord.derived_from == org_rid))}
        assert by_person[rep_id] == "deleted"
        assert sorted(by_person.values()) == ["active", "deleted"]


def test_general_enterprise_penalty_is_not_derived(client, users, rt):
    row = enterprise_penalty(2, rep=52, item_code="PEN-004", document_no="安县市监罚〔2026〕一般2号")
    r = post(client, users.api_key(SCJG), [row]).json()
    assert r["results"][0]["status"] == "created"
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(CreditRecord)) == 1


def test_person_encrypted_at_rest(client, users, rt):
    post(client, users.api_key(EDU), [teacher_penalty(1)])
    with rt.uow() as s:
        p = s.scalar(select(Person))
        assert pid(1) not in p.id_enc and pid(1) != p.id_hash
        assert p.birth_date.isoformat() == "1985-06-01" and p.sex in ("M", "F")
