"""Reading uploaded CSV/XLSX tables and mapping them to API rows (pure, no database)."""

from __future__ import annotations

import datetime as dt
import pathlib

import openpyxl
import pytest

from chengxin.records.columns import (
    CellError,
    columns_for,
    convert_row,
    map_header,
    row_to_record,
)
from chengxin.records.files import FileFormatError, open_table

PENALTY_FIELDS = [
    {"name": "violation_type", "label": "违法行为类型", "type": "string", "required": True,
     "max_length": 100},
    {"name": "punishment_type", "label": "处罚类别", "type": "enum", "required": True,
     "choices": ["警告", "罚款", "没收违法所得", "其他"]},
    {"name": "punishment_content", "label": "处罚内容", "type": "text", "required": True},
    {"name": "fine_amount", "label": "罚款金额(万元)", "type": "number"},
]
PEN_002 = {"code": "PEN-002", "name": "行政处罚信息（一般失信，自然人）",
           "subject_types": ["person"], "severity": "general", "list": None,
           "legal_basis_required": True, "fields": PENALTY_FIELDS}
ITEMS = {"PEN-002": PEN_002}
ID = "11010519491231002X"
HEADERS = ["主体名称*", "身份证号码", "决定文书号", "决定日期", "信息内容", "法律依据",
           "违法行为类型", "处罚类别", "处罚内容", "罚款金额(万元)"]
ROW = ["张三", ID, "京公罚〔2024〕1号", "2024-03-05", "超速行驶", "道路交通安全法第九十九条",
       "超速", "罚款", "罚款 200 元", "0.02"]


def _csv(tmp_path: pathlib.Path, name: str, encoding: str, lines: list[list[str]]) -> pathlib.Path:
    path = tmp_path / name
    path.write_bytes("\r\n".join(",".join(line) for line in lines).encode(encoding) + b"\r\n")
    return path


@pytest.mark.parametrize("encoding,expected", [
    ("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8"), ("gb18030", "gb18030")])
def test_csv_encodings_read_to_identical_rows(tmp_path, encoding, expected):
    path = _csv(tmp_path, "处罚.csv", encoding, [HEADERS, ROW])
    table = open_table(path)
    assert table.format == "csv" and table.encoding == expected
    assert table.headers == HEADERS
    assert list(table.rows()) == [(1, ROW)]


def test_csv_row_numbers_skip_header_and_count_blank_lines(tmp_path):
    other = ["李四", "110105194912310037", *ROW[2:]]
    path = _csv(tmp_path, "a.csv", "utf-8", [HEADERS, ROW, [""] * 3, [], other])
    rows = list(open_table(path).rows())
    # spreadsheet lines 2 and 5 -> data rows 1 and 4; the blank lines 3-4 are counted
    assert [(n, cells[0]) for n, cells in rows] == [(1, "张三"), (4, "李四")]


def test_csv_cells_are_stripped_and_padded(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("主体名称,身份证号码,决定文书号\n"
                    "\u3000王五 , １１０１０５１９４９１２３１００２ｘ\n",
                    encoding="utf-8")
    table = open_table(path)
    [(n, cells)] = list(table.rows())
    assert n == 1 and cells == ["王五", "１１０１０５１９４９１２３１００２ｘ", ""]
    hm = map_header(table.headers, ITEMS, "PEN-002")
    record = row_to_record(hm.cells(cells), hm, "PEN-002")
    assert record["id_number"] == ID  # full-width digits/letters made half-width, x upper-cased


def test_xlsx_rows_dates_and_types(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADERS)
    ws.append(["张三", ID, "文书1", dt.date(2024, 3, 5), "内容", "依据",
               "超速", "罚款", "罚款", 0.02])
    ws.append([])
    ws.append(["赵六", ID, 123.0, dt.datetime(2024, 1, 2, 0, 0), "内容", "依据",
               "超速", "警告", "警告", 3.0])
    path = tmp_path / "上传.xlsx"
    wb.save(path)
    table = open_table(path)
    assert table.format == "xlsx" and table.encoding is None and table.headers == HEADERS
    rows = list(table.rows())
    assert [n for n, _ in rows] == [1, 3]
    hm = map_header(table.headers, ITEMS, "PEN-002")
    assert hm.errors == []
    first = row_to_record(hm.cells(rows[0][1]), hm, "PEN-002")
    assert first == {
        "subject_type": "person", "item_code": "PEN-002", "subject_name": "张三", "id_number": ID,
        "document_no": "文书1", "decision_date": "2024-03-05", "content": "内容",
        "legal_basis": "依据",
        "attributes": {"violation_type": "超速", "punishment_type": "罚款",
                       "punishment_content": "罚款", "fine_amount": 0.02}}
    second = row_to_record(hm.cells(rows[1][1]), hm, "PEN-002")
    assert second["document_no"] == "123"          # not "123.0"
    assert second["decision_date"] == "2024-01-02"
    assert second["attributes"]["fine_amount"] == 3


def test_xlsx_id_number_typed_as_number_is_refused(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["主体名称", "身份证号码", "决定日期"])
    ws.append(["张三", 110105194912310037, 45356])  # Excel keeps 15 digits: precision lost
    path = tmp_path / "num.xlsx"
    wb.save(path)
    table = open_table(path)
    hm = map_header(table.headers, ITEMS, "PEN-002")
    [(n, cells)] = list(table.rows())
    record, problems = convert_row(hm.cells(cells), hm, "PEN-002", row=n)
    assert "id_number" not in record
    assert record["decision_date"] == "2024-03-05"  # Excel serial number converted
    assert problems == [{"row": 1, "field": "id_number", "code": "cell",
                         "message": "身份证号码被 Excel 存成了数字，超过 15 位的数字已丢失；"
                                    "请把该列设为文本格式后重新填写"}]
    with pytest.raises(CellError) as info:
        row_to_record(hm.cells(cells), hm, "PEN-002", row=n)
    assert info.value.errors == problems


def test_scientific_notation_id_from_csv_is_refused(tmp_path):
    lines = [["主体名称", "身份证号码"], ["张三", "1.10105E+17"]]
    path = _csv(tmp_path, "sci.csv", "gb18030", lines)
    table = open_table(path)
    hm = map_header(table.headers, ITEMS, "PEN-002")
    _, problems = convert_row(hm.cells(next(table.rows())[1]), hm, "PEN-002")
    assert [p["field"] for p in problems] == ["id_number"]


def test_xlsx_blank_leading_line_keeps_spreadsheet_numbering(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A2"], ws["B2"] = "主体名称", "身份证号码"
    ws["A4"], ws["B4"] = "张三", ID
    path = tmp_path / "offset.xlsx"
    wb.save(path)
    table = open_table(path)
    assert table.header_line == 2
    assert list(table.rows()) == [(2, ["张三", ID])]  # spreadsheet line 4 = header_line + 2


def test_header_errors_name_the_column():
    hm = map_header(["主体名称", "身份证号码", "罚金", "决定日期"], ITEMS, "PEN-002")
    messages = {e["field"]: e["message"] for e in hm.errors}
    assert messages["罚金"] == "无法识别的列“罚金”，请使用模板中的列名"
    assert messages["决定文书号"] == "缺少必填列“决定文书号”"
    assert messages["处罚类别"] == "缺少必填列“处罚类别”"
    assert all(e["row"] == 0 for e in hm.errors)


def test_header_tolerates_markers_spaces_and_api_names():
    headers = [" 主体名称（必填）", "\u3000id_number*", "决定文书号＊", "decision_date", "信息内容",
               "法律依据", "attributes.violation_type", "处罚类别", "处罚内容", "错误说明"]
    hm = map_header(headers, ITEMS, "PEN-002")
    assert hm.errors == []
    assert [c.field if c else None for c in hm.columns][:4] == [
        "subject_name", "id_number", "document_no", "decision_date"]
    assert hm.columns[-1] is None  # 错误说明 from an error report is ignored


def test_duplicate_column_is_an_error():
    hm = map_header(["主体名称", "subject_name"], ITEMS, "PEN-002")
    assert any(e["code"] == "duplicate_column" and "重复" in e["message"] for e in hm.errors)


def test_organisation_row_with_responsible_persons():
    pen5 = {**PEN_002, "code": "PEN-005", "subject_types": ["organization"]}
    headers = [c.header for c in columns_for(pen5)]
    hm = map_header(headers, {"PEN-005": pen5}, "PEN-005")
    values = dict.fromkeys(headers, "")
    values.update({"主体类型": "法人", "主体名称": "某公司",
                   "统一社会信用代码": "91350100m000100y43",
                   "主要负责人姓名": "王五", "主要负责人身份证号码": ID, "罚款金额(万元)": "1,000"})
    record = row_to_record(values, hm, "PEN-005")
    assert record["subject_type"] == "organization"
    assert record["uscc"] == "91350100M000100Y43"
    assert record["responsible_persons"] == [{"id_number": ID, "name": "王五", "role": "principal"}]
    assert record["attributes"] == {"fine_amount": "1000"}


def test_unknown_subject_type_reported():
    hm = map_header(["主体类型", "主体名称"], ITEMS, "PEN-002")
    record, problems = convert_row({"主体类型": "单位", "主体名称": "x"}, hm, "PEN-002", row=7)
    assert "subject_type" not in record
    assert problems[0]["row"] == 7 and "自然人" in problems[0]["message"]


@pytest.mark.parametrize("name,data,fragment", [
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xlsx"),
    ("garbage.csv", bytes([0xFF, 0x80, 0xFE, 0x81, 0x30]) * 50, "字符编码"),
    ("bin.csv", b"abc\x00\x01\x02", "不是文本"),
    ("empty.csv", b"", "文件为空"),
    ("blank.csv", b"\r\n,,\r\n\r\n", "表头"),
    ("broken.xlsx", b"PK\x03\x04 not really a zip", "损坏"),
    ("report.pdf", b"%PDF-1.4", "不支持的文件类型"),
])
def test_bad_files_refused(tmp_path, name, data, fragment):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(FileFormatError) as info:
        open_table(path)
    assert fragment in info.value.message


def test_filename_overrides_stored_path(tmp_path):
    path = tmp_path / "upload-1234"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 10)
    with pytest.raises(FileFormatError):
        open_table(path, filename="处罚.xls")
    csv_path = _csv(tmp_path, "upload-5678", "utf-8", [["主体名称"], ["张三"]])
    assert open_table(csv_path, filename="处罚.CSV").format == "csv"


def test_tab_separated_text(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("主体名称\t身份证号码\n张三\t" + ID + "\n", encoding="gb18030")
    assert list(open_table(path).rows()) == [(1, ["张三", ID])]


def test_large_xlsx_streams_with_the_same_rows(tmp_path, monkeypatch):
    """Above STREAM_ABOVE_BYTES workbooks are read by openpyxl's streaming reader (flat
    memory); the rows must be exactly what the in-memory calamine reader gives."""
    import datetime as _dt

    import openpyxl as _openpyxl

    from chengxin.records import files as files_mod

    path = tmp_path / "big.xlsx"
    wb = _openpyxl.Workbook()
    ws = wb.active
    ws.title = "填报"
    ws.append(["主体名称", "身份证号码", "决定日期", "罚款金额(万元)"])
    ws.append(["张三", "11010519491231002X", _dt.date(2026, 4, 1), 2.5])
    ws.append([None, None, None, None])
    ws.append(["李四", "360426199101010071", "2026-03-01", 3])
    wb.save(path)
    small = list(files_mod.open_table(path).rows())
    monkeypatch.setattr(files_mod, "STREAM_ABOVE_BYTES", 0)
    table = files_mod.open_table(path)
    assert isinstance(files_mod._xlsx_lines(path), files_mod._XlsxStreamLines)
    streamed = list(table.rows())
    assert [n for n, _ in streamed] == [n for n, _ in small] == [1, 3]
    from chengxin.records.columns import cell_text

    for (_, a), (_, b) in zip(small, streamed, strict=True):
        # The two readers type cells differently (3.0 vs 3, date vs datetime); what the
        # import makes of them is the same.
        assert [cell_text(x)[:10] for x in a] == [cell_text(x)[:10] for x in b]
