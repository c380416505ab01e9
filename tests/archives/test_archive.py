"""GET /persons/{id}/archive and POST /persons/{id}/annual-status."""

from __future__ import annotations

import pytest

from chengxin.archives.models import AnnualStatus
from tests.conftest import audit_rows
from tests.records.factories import EDU, SCJG, employment, enterprise_penalty, pid, teacher_penalty

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.fixture
def app(rt):  # type: ignore[no-untyped-def]
    from chengxin.app import create_app
    from chengxin.archives.api import router as archives_router
    from chengxin.stats.api import router as stats_router

    app = create_app(runtime=rt)
    paths = {getattr(r, "path", None) for r in app.routes}
    if "/api/v1/persons/{id_number}/archive" not in paths:
        app.include_router(archives_router)
    if "/api/v1/stats/collection" not in paths:
        app.include_router(stats_router)
    return app


def post_records(client, headers, rows):
    r = client.post("/api/v1/records", headers=headers, json=rows)
    assert r.status_code == 200, r.text
    assert r.json()["rejected"] == 0, r.text
    return [x["record_id"] for x in r.json()["results"]]


def honour(n, **kw):
    row = {"subject_type": "person", "subject_name": f"张{'三四五六七八九十'[n % 8]}",
           "id_number": pid(n), "item_code": "HON-001", "document_no": f"安县教奖〔2026〕{n}号",
           "decision_date": "2026-09-10", "content": "县级优秀教师", "group_code": "teacher",
           "attributes": {"honour_name": "优秀教师", "awarding_body": "安阳县人民政府",
                          "level": "县级", "awarded_on": "2026-09-10"}}
    row.update(kw)
    return row


def misconduct(n, **kw):
    row = {"subject_type": "person", "subject_name": f"张{'三四五六七八九十'[n % 8]}",
           "id_number": pid(n), "item_code": "MIS-001", "document_no": f"安县教不端〔2025〕{n}号",
           "decision_date": "2025-04-02", "content": "论文抄袭", "group_code": "teacher",
           "legal_basis": "《高等学校预防与处理学术不端行为办法》第二十七条",
           "attributes": {"misconduct_type": "抄袭剽窃"}}
    row.update(kw)
    return row


def complaint(n, **kw):
    row = {"subject_type": "person", "subject_name": f"张{'三四五六七八九十'[n % 8]}",
           "id_number": pid(n), "item_code": "CMP-001", "document_no": f"安县教诉〔2026〕{n}号",
           "decision_date": "2026-05-06", "content": "家长投诉体罚学生，经核实属实",
           "legal_basis": "《中小学教师职业行为十项准则》", "group_code": "teacher",
           "attributes": {"handling_result": "属实"}}
    row.update(kw)
    return row


def evaluation(n, year, status, doc, decision_date, **kw):
    row = {"subject_type": "person", "subject_name": f"张{'三四五六七八九十'[n % 8]}",
           "id_number": pid(n), "item_code": "EVA-001", "document_no": doc,
           "decision_date": decision_date, "content": f"{year}年度信用状况认定",
           "group_code": "teacher",
           "attributes": {"year": year, "status": status, "competent_unit": "安阳县教育局",
                          "facts": "年度考核"}}
    row.update(kw)
    return row


@pytest.fixture
def officer(users):
    users.add("officer", "reviewer")
    return users.headers("officer")


@pytest.fixture
def edu(users):
    return users.api_key(EDU)


def upload(client, headers, data=PNG, name="scan.png"):
    r = client.post("/api/v1/evidence", headers=headers,
                    files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_archive_groups_records_like_the_anyang_form(client, users, rt, frozen_clock, officer, edu):
    # The employment row in its own batch: ingest builds a new membership from the last
    # row of a batch for that person and group (see the report: a penalty row after it
    # would leave employer empty).
    [emp_id] = post_records(client, edu, [employment(1)])
    pen_id, hon_id, mis_id, cmp_id = post_records(client, edu, [
        teacher_penalty(1), honour(1), misconduct(1), complaint(1)])
    # 落实到人: the legal representative of a penalised company gets a derived record.
    post_records(client, users.api_key(SCJG), [enterprise_penalty(1, rep=1, responsible_persons=[
        {"id_number": pid(1), "name": "张四", "role": "legal_representative"}])])

    r = client.get(f"/api/v1/persons/{pid(1)}/archive", headers=officer,
                   params={"purpose": "评先评优审核"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert pid(1) not in r.text  # the clear number never leaves the platform
    assert body["basic"]["id_number_masked"] == pid(1)[:6] + "********" + pid(1)[-4:]
    assert body["basic"]["name"] == "张四"
    assert body["basic"]["birth_date"] == "1985-06-01"
    assert body["basic"]["age"] == 41
    assert body["basic"]["region_code"] == "410522"
    assert body["basic"]["sex"] in ("M", "F")

    [m] = body["memberships"]
    assert m["group_code"] == "teacher" and m["group_name"] == "教师"
    assert m["department_code"] == EDU and m["department_name"]
    assert m["employer"] == "安阳县第一中学" and m["position"] == "语文教师"
    assert m["started_on"] == "2010-09-01"

    sections = body["sections"]
    ids = {name: [x["record_id"] for x in items] for name, items in sections.items()}
    assert ids["rewards"] == [hon_id]
    assert pen_id in ids["punishments"]
    assert ids["violations"] == [mis_id]
    assert ids["complaints"] == [cmp_id]
    assert ids["employment"] == [emp_id]
    assert ids["commitments"] == [] and ids["other"] == []
    pen = next(x for x in sections["punishments"] if x["record_id"] == pen_id)
    assert pen["item_code"] == "PEN-002" and pen["item_name"]
    assert pen["document_no"] == "安县教罚〔2026〕1号" and pen["decision_date"] == "2026-03-01"
    assert pen["status"] == "active" and pen["version"] == 1
    assert pen["content"] == "有偿补课，经查属实" and pen["department_code"] == EDU
    derived = [x for x in sections["punishments"] if x["derived_from"]]
    assert len(derived) == 1 and derived[0]["derived_role"] == "legal_representative"
    assert derived[0]["department_code"] == SCJG

    # Years from the first membership (2010) to now, trustworthy when nobody determined.
    years = [a["year"] for a in body["annual_status"]]
    assert years == list(range(2010, 2027))
    y2025 = next(a for a in body["annual_status"] if a["year"] == 2025)
    assert y2025 == {"year": 2025, "status": "trustworthy", "status_label": "守信",
                     "determined": False, "negative_records": 1}
    assert body["history"] == []

    [entry] = audit_rows(rt, "archive.read")
    assert entry.purpose == "评先评优审核"
    assert entry.subject_person_id == body["basic"]["person_id"]
    assert pid(1) not in str(entry.details)


def test_archive_bad_and_unknown_numbers(client, officer, users):
    bad = pid(1)[:-1] + ("0" if pid(1)[-1] != "0" else "1")
    r = client.get(f"/api/v1/persons/{bad}/archive", headers=officer)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["details"][0]["field"] == "id_number"
    assert bad not in r.text and bad[:17] not in err["message"]
    r = client.get(f"/api/v1/persons/{pid(9)}/archive", headers=officer)
    assert r.status_code == 404 and pid(9) not in r.text
    assert r.json()["error"]["message"] == "未找到该人员的信用档案"
    users.add("rep", "reporter", department_code=EDU)
    r = client.get(f"/api/v1/persons/{pid(9)}/archive", headers=users.headers("rep"))
    assert r.status_code == 403
    # The refusal is audited with the path, whose ID number is masked: the audit log
    # never stores one in clear.
    paths = [e.details["path"] for e in audit_rows(users.rt, "access.denied")]
    assert f"/api/v1/persons/{pid(9)[:4]}{'*' * 10}{pid(9)[-4:]}/archive" in paths
    assert not any(pid(9) in p for p in paths)


def test_annual_status_needs_evidence_and_supersedes(client, users, rt, frozen_clock, officer, edu):
    post_records(client, edu, [employment(1)])
    url = f"/api/v1/persons/{pid(1)}/annual-status"
    warn = {"year": 2025, "status": "warning", "group_code": "teacher",
            "basis": "经查实存在有偿补课行为，依法认定存在警示行为"}
    r = client.post(url, headers=edu, json=warn)
    assert r.status_code == 422
    assert [d["field"] for d in r.json()["error"]["details"]] == ["evidence_ids"]

    r = client.post(url, headers=edu, json={**warn, "basis": "", "evidence_ids": [1]})
    assert r.status_code == 422
    assert "basis" in [d["field"] for d in r.json()["error"]["details"]]

    r = client.post(url, headers=edu, json={**warn, "year": 2027, "status": "trustworthy"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "year"

    r = client.post(url, headers=edu, json={**warn, "evidence_ids": [999]})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "evidence_ids.0"

    # Evidence uploaded by another department does not count.
    other_ev = upload(client, users.api_key(SCJG))
    r = client.post(url, headers=edu, json={**warn, "evidence_ids": [other_ev]})
    assert r.status_code == 422

    ev = upload(client, edu)
    r = client.post(url, headers=edu, json={**warn, "evidence_ids": [ev]})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["status"] == "warning" and first["evidence_ids"] == [ev]
    assert first["supersedes"] == [] and pid(1) not in r.text

    frozen_clock.advance(days=1)
    r = client.post(url, headers=edu, json={"year": 2025, "status": "trustworthy",
                                            "group_code": "teacher", "basis": "复核后认定为守信"})
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["supersedes"] == [first["id"]]
    with rt.uow() as s:
        old = s.get(AnnualStatus, first["id"])
        assert old.superseded_by == second["id"]

    officer = users.headers("officer")  # the earlier token expired when the clock moved
    body = client.get(f"/api/v1/persons/{pid(1)}/archive", headers=officer).json()
    y2025 = next(a for a in body["annual_status"] if a["year"] == 2025)
    assert y2025["determined"] is True and y2025["status"] == "trustworthy"
    assert y2025["id"] == second["id"] and y2025["department_code"] == EDU
    assert [h["id"] for h in body["history"]] == [second["id"], first["id"]]
    assert body["history"][1]["status"] == "warning"
    assert body["history"][1]["evidence_ids"] == [ev]
    assert body["history"][1]["superseded_by"] == second["id"]
    y2024 = next(a for a in body["annual_status"] if a["year"] == 2024)
    assert y2024["status"] == "trustworthy" and y2024["determined"] is False

    rows = audit_rows(rt, "annual_status.determine")
    assert [r.object_id for r in rows] == [str(first["id"]), str(second["id"])]
    assert rows[1].details["supersedes"] == [first["id"]]
    assert rows[0].subject_person_id == body["basic"]["person_id"]


def test_other_department_may_not_determine(client, users, frozen_clock, edu):
    post_records(client, edu, [employment(1)])
    url = f"/api/v1/persons/{pid(1)}/annual-status"
    body = {"year": 2025, "status": "trustworthy", "group_code": "teacher", "basis": "年度考核合格"}
    scjg = users.api_key(SCJG)
    r = client.post(url, headers=scjg, json=body)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "not_responsible"
    # A group the department is responsible for, but the person is not in it.
    r = client.post(url, headers=scjg, json={**body, "group_code": "licensed_pharmacist"})
    assert r.status_code == 403
    users.add("officer2", "reviewer")
    r = client.post(url, headers=users.headers("officer2"), json=body)
    assert r.status_code == 403  # the credit office reads; the supervising department decides
    users.add("edu_rep", "reporter", department_code=EDU)
    r = client.post(url, headers=users.headers("edu_rep"), json=body)
    assert r.status_code == 201, r.text


def test_eva_001_record_counts_as_determination(client, frozen_clock, officer, edu):
    post_records(client, edu, [
        employment(1),
        evaluation(1, 2024, "严重失信", "安县教认〔2025〕1号", "2025-01-20"),
        evaluation(1, 2025, "警示", "安县教认〔2026〕1号", "2026-01-15"),
    ])
    url = f"/api/v1/persons/{pid(1)}/annual-status"
    # An API determination decided later (the frozen clock: 2026-11-23) wins for 2025.
    r = client.post(url, headers=edu, json={"year": 2025, "status": "trustworthy",
                                            "group_code": "teacher", "basis": "复核"})
    assert r.status_code == 201
    body = client.get(f"/api/v1/persons/{pid(1)}/archive", headers=officer).json()
    by_year = {a["year"]: a for a in body["annual_status"]}
    assert by_year[2024]["determined"] is True
    assert by_year[2024]["status"] == "serious_dishonesty"
    assert by_year[2024]["source"] == "record" and by_year[2024]["record_id"]
    assert by_year[2025]["status"] == "trustworthy" and by_year[2025]["source"] == "determination"
    assert by_year[2026]["determined"] is False
    assert [(h["year"], h["status"]) for h in body["history"]] == [
        (2025, "trustworthy"), (2025, "warning"), (2024, "serious_dishonesty")]
    assert len(body["sections"]["evaluations"]) == 2
