"""Spreadsheet imports: encodings, XLSX, row errors, error report round trip, templates."""

from __future__ import annotations

import csv
import io
import time

import openpyxl
from sqlalchemy import func, select

from chengxin.records.models import CreditRecord
from tests.conftest import audit_rows
from tests.records.factories import EDU, pid

HEADERS = ["主体名称", "身份证号码", "决定文书号", "决定日期", "信息内容", "法律依据", "重点人群代码",
           "违法行为类型", "处罚类别", "处罚内容"]


def _row(n, **kw):
    values = {"主体名称": f"李{'一二三四五六七八九十'[n % 10]}", "身份证号码": pid(n),
              "决定文书号": f"安县教罚〔2026〕表{n}号", "决定日期": "2026-04-01",
              "信息内容": "有偿补课", "法律依据": "《中小学教师违反职业道德行为处理办法》",
              "重点人群代码": "teacher", "违法行为类型": "师德失范", "处罚类别": "警告",
              "处罚内容": "警告"}
    values.update(kw)
    return [values[h] for h in HEADERS]


def _csv(rows, encoding="utf-8"):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADERS)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def _upload(client, headers, name, data, item="PEN-002"):
    r = client.post("/api/v1/imports", headers=headers, data={"item_code": item},
                    files={"file": (name, data)})
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    for _ in range(200):
        p = client.get(f"/api/v1/imports/{job_id}", headers=headers).json()
        if p["status"] in ("done", "failed"):
            return p
        time.sleep(0.05)
    raise AssertionError("import did not finish")


def test_csv_in_three_encodings(client, users, rt, frozen_clock):
    key = users.api_key(EDU)
    for i, enc in enumerate(("utf-8", "utf-8-sig", "gb18030")):
        rows = [_row(10 * i + k) for k in range(1, 4)]
        p = _upload(client, key, f"f{i}.csv", _csv(rows, enc))
        assert p["status"] == "done" and p["percent"] == 100, p
        assert p["counts"]["created"] == 3 and p["counts"]["rejected"] == 0, (enc, p)
    with rt.uow() as s:
        names = set(s.scalars(select(CreditRecord.document_no)))
    assert len(names) == 9


def test_row_errors_and_error_report_round_trip(client, users, rt, frozen_clock, tmp_path):
    key = users.api_key(EDU)
    rows = [_row(1), _row(2, 身份证号码="123"), _row(3, 决定日期="2026-13-01"), _row(4)]
    p = _upload(client, key, "batch.csv", _csv(rows))
    assert p["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 2, "held": 0}
    errs = {(e["row"], e["field"]) for e in p["errors"]}
    assert errs == {(2, "id_number"), (3, "decision_date")}
    assert p["error_report"]
    report = client.get(p["error_report"], headers=key)
    assert report.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(report.content))
    ws = wb["填报"] if "填报" in wb.sheetnames else wb.active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    header = values[0]
    assert header[-1] == "错误说明" and len(values) == 3  # header + the two bad rows
    bad_id_cell = ws.cell(row=2, column=header.index("身份证号码") + 1)
    assert bad_id_cell.fill.fgColor.rgb not in (None, "00000000")
    # Fix the two rows in the report and upload it again: nothing doubled.
    ws.cell(row=2, column=header.index("身份证号码") + 1).value = pid(2)
    ws.cell(row=3, column=header.index("决定日期") + 1).value = "2026-03-01"
    fixed = tmp_path / "fixed.xlsx"
    wb.save(fixed)
    p2 = _upload(client, key, "fixed.xlsx", fixed.read_bytes())
    assert p2["counts"]["created"] == 2 and p2["counts"]["rejected"] == 0, p2
    again = _upload(client, key, "batch.csv", _csv(rows[:1] + rows[3:]))
    assert again["counts"]["unchanged"] == 2 and again["counts"]["created"] == 0
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(CreditRecord)) == 4
    assert audit_rows(rt, "import.finish")


def test_xlsx_upload_and_template(client, users, frozen_clock, tmp_path):
    key = users.api_key(EDU)
    t = client.get("/api/v1/imports/template", headers=key, params={"item_code": "PEN-002"})
    assert t.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(t.content))
    ws = wb["填报"]
    header = [c.value for c in ws[1]]
    assert any(h and h.startswith("身份证号码") for h in header)
    # Fill the downloaded template like a reporter would and upload it.
    labels = [h.rstrip("*") for h in header]
    data = dict(zip(HEADERS, _row(7), strict=True))
    for col, label in enumerate(labels, start=1):
        if label in data:
            ws.cell(row=2, column=col).value = data[label]
    path = tmp_path / "filled.xlsx"
    wb.save(path)
    p = _upload(client, key, "filled.xlsx", path.read_bytes())
    assert p["counts"]["created"] == 1, p
    csv_t = client.get("/api/v1/imports/template", headers=key,
                       params={"item_code": "PEN-002", "format": "csv"})
    assert csv_t.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8


def test_bad_files_are_refused_clearly(client, users):
    key = users.api_key(EDU)
    r = client.post("/api/v1/imports", headers=key, files={"file": ("old.xls", b"\xd0\xcf\x11\xe0junk")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "file_format"
    empty = client.post("/api/v1/imports", headers=key, files={"file": ("e.csv", b"")})
    assert empty.status_code == 422
    bad_header = _upload(client, key, "h.csv", "陌生列,另一列\n1,2\n".encode())
    assert bad_header["status"] == "failed" and "表头" in bad_header["message"]
    assert client.post("/api/v1/imports", headers=key, content=b"x").status_code == 415
    other = users.api_key("410522-scjgj")
    p = client.post("/api/v1/imports", headers=key, data={"item_code": "PEN-002"},
                    files={"file": ("a.csv", _csv([_row(1)]))}).json()
    assert client.get(f"/api/v1/imports/{p['job_id']}", headers=other).status_code == 403


def test_every_row_rejected_says_so(client, users, frozen_clock):
    key = users.api_key(EDU)
    p = _upload(client, key, "all-bad.csv", _csv([_row(1, 决定日期="x"), _row(2, 身份证号码="1")]))
    assert p["status"] == "done" and p["counts"]["rejected"] == 2
    assert "全部 2 行均未导入" in p["message"]
