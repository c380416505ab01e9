"""Upload templates: layout, help, drop-downs, and that they read back cleanly."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from chengxin.records.columns import map_header
from chengxin.records.files import open_table
from chengxin.records.templates import (
    CODE_SHEET,
    HELP_SHEET,
    REQUIRED_FILL,
    csv_template,
    xlsx_template,
)

PENALTY_FIELDS = [
    {"name": "violation_type", "label": "违法行为类型", "type": "string", "required": True,
     "max_length": 100},
    {"name": "punishment_type", "label": "处罚类别", "type": "enum", "required": True,
     "choices": ["警告", "罚款", "没收违法所得", "没收非法财物", "责令停产停业",
                 "暂扣或者吊销许可证",
                 "暂扣或者吊销执照", "行政拘留", "其他"]},
    {"name": "punishment_content", "label": "处罚内容", "type": "text", "required": True},
    {"name": "fine_amount", "label": "罚款金额(万元)", "type": "number"},
]
PEN_002 = {"code": "PEN-002", "name": "行政处罚信息（一般失信，自然人）",
           "subject_types": ["person"], "severity": "general", "list": None,
           "legal_basis_required": True, "fields": PENALTY_FIELDS}
PEN_005 = {**PEN_002, "code": "PEN-005", "name": "行政处罚信息（严重失信，法人和非法人组织）",
           "severity": "serious", "subject_types": ["organization"]}
GROUPS = [{"code": f"group_{i:02d}", "name": f"重点人群{i}"} for i in range(40)]


def _load(item) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(xlsx_template(item, GROUPS)))


def _headers(ws) -> list[str]:
    return [c.value for c in ws[1]]


@pytest.mark.parametrize("item", [PEN_002, PEN_005], ids=["PEN-002", "PEN-005"])
def test_xlsx_template_round_trip(tmp_path, item):
    path = tmp_path / f"{item['code']}.xlsx"
    path.write_bytes(xlsx_template(item, GROUPS))
    table = open_table(path)
    hm = map_header(table.headers, {item["code"]: item}, item["code"])
    assert hm.errors == []
    assert list(table.rows()) == []
    assert "处罚类别*" in table.headers and "罚款金额(万元)" in table.headers


@pytest.mark.parametrize("item", [PEN_002, PEN_005], ids=["PEN-002", "PEN-005"])
def test_csv_template_round_trip(tmp_path, item):
    data = csv_template(item)
    assert data.startswith(b"\xef\xbb\xbf")
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    table = open_table(path)
    assert table.encoding == "utf-8-sig"
    assert table.headers == next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert map_header(table.headers, {item["code"]: item}, item["code"]).errors == []


def test_person_template_layout_and_help():
    wb = _load(PEN_002)
    ws = wb["填报"]
    headers = _headers(ws)
    assert headers[:3] == ["主体类型", "主体名称*", "身份证号码*"]
    assert "统一社会信用代码" not in headers and "法定代表人姓名" not in headers
    col = headers.index("身份证号码*") + 1
    id_cell = ws.cell(row=1, column=col)
    assert id_cell.fill.fgColor.rgb == REQUIRED_FILL.fgColor.rgb
    assert "18 位" in id_cell.comment.text
    assert "YYYY-MM-DD" in ws.cell(row=1, column=headers.index("决定日期*") + 1).comment.text
    letter = openpyxl.utils.get_column_letter(col)
    assert ws.column_dimensions[letter].number_format == "@"
    assert ws.column_dimensions[letter].width >= 20
    help_ws = wb[HELP_SHEET]
    assert "PEN-002" in help_ws["A1"].value and "行政处罚信息" in help_ws["A1"].value
    help_rows = {r[0]: r for r in help_ws.iter_rows(min_row=5, values_only=True)}
    assert help_rows["处罚类别"][2] == "必填" and "罚款" in help_ws.cell(
        row=5 + list(help_rows).index("处罚类别"), column=4).value
    assert help_rows["有效期至"][2] == "选填"


def test_organisation_template_has_responsible_person_columns():
    headers = _headers(_load(PEN_005)["填报"])
    for name in ("统一社会信用代码*", "法定代表人姓名", "法定代表人身份证号码", "主要负责人姓名",
                 "主要负责人身份证号码"):
        assert name in headers
    assert "身份证号码" not in headers and "重点人群代码" not in headers


def _validation_for(ws, header: str):
    letter = openpyxl.utils.get_column_letter(_headers(ws).index(header) + 1)
    found = [dv for dv in ws.data_validations.dataValidation
             if str(dv.sqref).startswith(f"{letter}2:")]
    assert len(found) == 1, header
    return found[0]


def test_drop_downs_for_enum_subject_type_and_groups():
    wb = _load(PEN_002)
    ws = wb["填报"]
    enum_dv = _validation_for(ws, "处罚类别*")
    assert enum_dv.type == "list"
    assert enum_dv.formula1 == ('"警告,罚款,没收违法所得,没收非法财物,责令停产停业,'
                                '暂扣或者吊销许可证,暂扣或者吊销执照,行政拘留,其他"')
    assert _validation_for(ws, "主体类型").formula1 == '"自然人"'
    group_dv = _validation_for(ws, "重点人群代码")
    assert group_dv.formula1 == f"'{CODE_SHEET}'!$A$2:$A$41"  # 40 groups: too long to inline
    codes = wb[CODE_SHEET]
    assert codes.sheet_state == "hidden"
    assert (codes["A2"].value, codes["B2"].value) == ("group_00", "重点人群0")
    assert codes["A41"].value == "group_39"


def test_filled_template_reads_back(tmp_path):
    wb = _load(PEN_005)
    ws = wb["填报"]
    headers = _headers(ws)
    values = {"主体名称*": "某某有限公司", "统一社会信用代码*": "91350100M000100Y43",
              "决定文书号*": "罚字1号", "决定日期*": "2024-02-01", "信息内容*": "内容",
              "法律依据*": "依据", "法定代表人姓名": "张三",
              "法定代表人身份证号码": "11010519491231002X", "违法行为类型*": "无证经营",
              "处罚类别*": "罚款", "处罚内容*": "罚款一万元", "罚款金额(万元)": 1}
    ws.append([values.get(h) for h in headers])
    path = tmp_path / "filled.xlsx"
    wb.save(path)
    table = open_table(path)
    hm = map_header(table.headers, {"PEN-005": PEN_005}, "PEN-005")
    from chengxin.records.columns import row_to_record
    [(n, cells)] = list(table.rows())
    record = row_to_record(hm.cells(cells), hm, "PEN-005")
    assert n == 1
    assert record["subject_type"] == "organization"  # defaulted: the item has one subject type
    assert record["responsible_persons"] == [
        {"id_number": "11010519491231002X", "name": "张三", "role": "legal_representative"}]
    assert record["attributes"]["punishment_type"] == "罚款"
