"""The error workbook: rejected rows only, red cells, 错误说明, safe text, re-uploadable."""

from __future__ import annotations

import io

import openpyxl
import pytest

from chengxin.records.columns import map_header, row_to_record
from chengxin.records.error_report import RED_FILL, REUPLOAD_NOTE, csv_safe, write_error_report
from chengxin.records.files import open_table

PEN_005 = {"code": "PEN-005", "name": "行政处罚信息（严重失信，法人和非法人组织）",
           "subject_types": ["organization"], "severity": "serious", "list": None,
           "legal_basis_required": True,
           "fields": [{"name": "punishment_type", "label": "处罚类别", "type": "enum",
                       "required": True,
                       "choices": ["警告", "罚款"]},
                      {"name": "fine_amount", "label": "罚款金额(万元)", "type": "number"}]}
ITEMS = {"PEN-005": PEN_005}
HEADERS = ["主体名称*", "统一社会信用代码*", "决定文书号*", "决定日期*", "信息内容*", "法律依据*",
           "法定代表人姓名", "法定代表人身份证号码", "主要负责人姓名", "主要负责人身份证号码",
           "处罚类别*",
           "罚款金额(万元)"]
GOOD = ["甲公司", "91350100M000100Y43", "罚1", "2024-01-02", "内容", "依据",
        "", "", "", "", "罚款", "1"]
BAD = ["乙公司", "91350100M000100Y4", "罚2", "2024-01-02", "=HYPERLINK(\"x\")", "依据",
       "", "", "王五", "110105194912310000", "罚钱", "-3"]
ERRORS = {2: [
    {"row": 2, "field": "uscc", "message": "统一社会信用代码应为 18 位", "code": "format"},
    {"row": 2, "field": "responsible_persons.0.id_number", "message": "校验位错误",
     "code": "checksum"},
    {"row": 2, "field": "attributes.punishment_type", "message": "处罚类别应为以下之一: 警告、罚款",
     "code": "type"},
    {"row": 2, "field": "row", "message": "与已有记录重复", "code": "duplicate"},
]}


def _report(**kw) -> openpyxl.worksheet.worksheet.Worksheet:
    data = write_error_report(HEADERS, [(1, GOOD), (2, BAD)], ERRORS, **kw)
    return openpyxl.load_workbook(io.BytesIO(data))["填报"]


def _is_red(cell) -> bool:
    return cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb == RED_FILL.fgColor.rgb


def test_only_rejected_rows_with_original_values_and_explanation():
    ws = _report(items_by_code=ITEMS, item_code="PEN-005")
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == [*HEADERS, "错误说明"]
    assert len(rows) == 2  # header + the one rejected row
    line = list(rows[1])
    assert line[:2] == ["乙公司", "91350100M000100Y4"]
    assert line[9] == "110105194912310000"
    assert line[11] == "-3"  # a plain negative number is not touched
    assert line[-1] == ("原第 2 行：统一社会信用代码应为 18 位；主要负责人身份证号码：校验位错误；"
                        "处罚类别应为以下之一: 警告、罚款；与已有记录重复")
    assert REUPLOAD_NOTE in ws.cell(row=1, column=len(HEADERS) + 1).comment.text


def test_bad_cells_are_red_and_others_are_not():
    ws = _report(items_by_code=ITEMS, item_code="PEN-005")
    red = {HEADERS[c.column - 1] for c in ws[2][:len(HEADERS)] if _is_red(c)}
    # responsible_persons.0 is the 主要负责人 here: the 法定代表人 columns are empty in this row
    assert red == {"统一社会信用代码*", "主要负责人身份证号码", "处罚类别*"}


def test_without_catalog_attribute_errors_still_explained():
    ws = _report()
    red = {HEADERS[c.column - 1] for c in ws[2][:len(HEADERS)] if _is_red(c)}
    assert red == {"统一社会信用代码*", "主要负责人身份证号码"}
    assert "处罚类别应为以下之一" in ws.cell(row=2, column=len(HEADERS) + 1).value


def test_formula_injection_neutralised_in_report():
    ws = _report(items_by_code=ITEMS, item_code="PEN-005")
    cell = ws.cell(row=2, column=5)
    assert cell.value == "'=HYPERLINK(\"x\")" and cell.data_type == "s"


@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"), ("+86 123", "'+86 123"), ("-cmd", "'-cmd"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("-12.5", "-12.5"), ("-3", "-3"),
    ("正常文本", "正常文本"), ("", ""),
])
def test_csv_safe(value, expected):
    assert csv_safe(value) == expected


def test_report_can_be_fixed_and_uploaded_again(tmp_path):
    path = tmp_path / "错误报告.xlsx"
    path.write_bytes(write_error_report(HEADERS, [(1, GOOD), (2, BAD)], ERRORS,
                                        items_by_code=ITEMS, item_code="PEN-005"))
    table = open_table(path)
    assert table.headers[-1] == "错误说明"
    hm = map_header(table.headers, ITEMS, "PEN-005")
    assert hm.errors == []
    [(n, cells)] = list(table.rows())
    assert n == 1
    record = row_to_record(hm.cells(cells), hm, "PEN-005")
    assert record["content"] == "=HYPERLINK(\"x\")"  # the protective quote is taken off again
    assert "错误说明" not in str(record)
    # a second round: the old 错误说明 column is dropped, not duplicated
    again = openpyxl.load_workbook(io.BytesIO(write_error_report(
        table.headers, table.rows(), {1: [{"row": 1, "field": "uscc", "message": "仍然错误"}]},
        header_map=hm)))["填报"]
    assert [c.value for c in again[1]] == [*HEADERS, "错误说明"]
    assert _is_red(again.cell(row=2, column=2))
