"""Reports: content by audience, signature, PDF with Chinese text, public verification."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from chengxin.reports.signing import verify as verify_signature
from tests.records.factories import EDU, employment, pid, teacher_penalty
from tests.rights.helpers import PERSON, person_with_records

NEEDS_POPPLER = pytest.mark.skipif(shutil.which("pdftoppm") is None,
                                   reason="poppler-utils not installed (scripts/setup.sh installs it)")


def test_own_report_sections_marks_and_signature(client, users, frozen_clock):
    rows = [teacher_penalty(PERSON), employment(PERSON, subject_name="张四"),
            teacher_penalty(PERSON, document_no="安县教罚〔2026〕第二号", item_code="PEN-001",
                            decision_date="2026-02-01")]
    me, key, (rid, _, minor_rid) = person_with_records(client, users, rows)
    client.post("/api/v1/me/objections", headers=me, json={"record_id": rid, "reason": "不实"})
    r = client.get("/api/v1/me/report", headers=me)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["title"] == "个人公共信用信息报告" and rep["report_no"].startswith("CX20261123")
    assert rep["identity"]["name"] == "张四"
    assert rep["identity"]["id_number_masked"] == pid(PERSON)[:4] + "*" * 10 + pid(PERSON)[-4:]
    neg = {n["record_id"]: n for n in rep["negative"]}
    assert neg[rid]["status"] == "under_objection" and neg[rid]["status_label"] == "异议处理中"
    assert minor_rid in neg  # the person sees even internal, minor items about them
    assert rep["objections"][0]["record_id"] == rid
    assert rep["summary"]["negative"] == 2
    assert pid(PERSON) not in r.text
    keys = client.get("/api/v1/public/keys").json()["keys"][0]
    doc = {k: v for k, v in rep.items() if k not in ("verification_code", "verify_url")}
    assert verify_signature(keys["public_key"], doc)
    doc["summary"]["negative"] = 0
    assert not verify_signature(keys["public_key"], doc)  # any change breaks it


def test_public_verification(client, users, frozen_clock):
    me, _, _ = person_with_records(client, users)
    rep = client.get("/api/v1/me/report", headers=me).json()
    ok = client.get("/api/v1/public/verify",
                    params={"report_no": rep["report_no"], "code": rep["verification_code"]}).json()
    assert ok["genuine"] is True and ok["subject"]["name_masked"] == "张*"
    assert ok["issued_at"].startswith("2026-11-23")
    wrong = client.get("/api/v1/public/verify",
                       params={"report_no": rep["report_no"], "code": "AAAAAAAA"}).json()
    missing = client.get("/api/v1/public/verify",
                         params={"report_no": "CX000", "code": "AAAAAAAA"}).json()
    assert wrong == missing == {"genuine": False, "message": "未找到与该报告编号和核验码相符的报告"}


@NEEDS_POPPLER
def test_pdf_has_chinese_text_and_renders(client, users, frozen_clock, tmp_path):
    me, _, _ = person_with_records(client, users)
    rep = client.get("/api/v1/me/report", headers=me).json()
    r = client.get(f"/api/v1/reports/{rep['report_no']}.pdf", headers=me)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    path = tmp_path / "report.pdf"
    path.write_bytes(r.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "个人公共信用信息报告" in text and rep["report_no"] in text
    assert "有偿补课" in text and "张四" in text
    assert pid(PERSON) not in text
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png"))
    assert png.stat().st_size > 5000  # a real page with content, not a blank
    # Only the person (or whom it was issued to) may fetch it.
    users.add("nosy", "third_party", organization="某公司")
    assert client.get(f"/api/v1/reports/{rep['report_no']}.pdf",
                      headers=users.headers("nosy")).status_code == 404


def test_third_party_needs_valid_authorisation(client, users, frozen_clock):
    me, _, _ = person_with_records(client, users)
    users.add("bank-hr", "third_party", organization="某银行人力资源部")
    bank = users.headers("bank-hr")
    body = {"id_number": pid(PERSON), "authorization_code": "WRONGCODE1", "purpose": "入职审查"}
    assert client.post("/api/v1/reports", headers=bank, json=body).status_code == 403
    grant = client.post("/api/v1/me/authorizations", headers=me, json={
        "grantee": "某银行人力资源部", "purpose": "入职审查", "scope": "report", "valid_days": 7})
    assert grant.status_code in (200, 201), grant.text
    body["authorization_code"] = grant.json()["code"]
    rep = client.post("/api/v1/reports", headers=bank, json=body)
    assert rep.status_code == 200, rep.text
    data = rep.json()
    assert data["audience"] == "third_party" and data["objections"] == []
    client.delete(f"/api/v1/me/authorizations/{grant.json()['authorization_id']}", headers=me)
    assert client.post("/api/v1/reports", headers=bank, json=body).status_code == 403
