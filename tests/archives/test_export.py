"""The archive printed in the Anyang form's layout: cover and 信用信息记录表."""

from __future__ import annotations

import io
import shutil
import subprocess

import openpyxl
import pytest

from tests.records.factories import EDU, employment, pid, teacher_penalty


@pytest.fixture
def teacher(client, users, frozen_clock):
    key = users.api_key(EDU)
    client.post("/api/v1/records", headers=key, json=[employment(5, subject_name="张八")])
    client.post("/api/v1/records", headers=key, json=[teacher_penalty(5, subject_name="张八")])
    users.add("office-archive", "reviewer")
    return users.headers("office-archive")


def test_xlsx_form(client, teacher):
    r = client.get(f"/api/v1/persons/{pid(5)}/archive.xlsx",
                   params={"year": 2026, "group": "teacher"}, headers=teacher)
    assert r.status_code == 200, r.text
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["封面", "信用信息记录表"]
    cover = [c.value for row in wb["封面"].iter_rows() for c in row if c.value]
    assert cover[0] == "教师信用档案" and "（2026 年度）" in cover
    ws = wb["信用信息记录表"]
    cells = {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value}
    values = list(cells.values())
    assert "张八" in values and "安阳县第一中学" in values and "2010-09-01" in values
    assert pid(5) not in values and pid(5)[:6] + "********" + pid(5)[-4:] in values
    reward_cell = next(v for v in values if isinstance(v, str) and "有偿补课" in v)
    assert "安县教罚" in reward_cell
    status = next(v for v in values if isinstance(v, str) and v.startswith("根据法律法规"))
    assert "守信人员" in status and "一般认定为守信人员" in status


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdf_form_renders_chinese(client, teacher, tmp_path):
    r = client.get(f"/api/v1/persons/{pid(5)}/archive.pdf", params={"year": 2026},
                   headers=teacher)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    path = tmp_path / "a.pdf"
    path.write_bytes(r.content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "教师信用档案" in text and "信用信息记录表" in text and "张八" in text
    assert "填表说明" in text
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(path), str(tmp_path / "p")], check=True)
    assert len(list(tmp_path.glob("p*.png"))) == 2  # the cover and the form


def test_export_refusals(client, users, teacher):
    assert client.get(f"/api/v1/persons/{pid(5)}/archive.doc", headers=teacher).status_code == 422
    assert client.get(f"/api/v1/persons/{pid(5)}/archive.xlsx",
                      headers=users.api_key(EDU)).status_code == 403
