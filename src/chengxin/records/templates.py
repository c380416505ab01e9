"""Downloadable upload templates for one catalog item (XLSX with help, or bare CSV).

Columns come from columns.columns_for(item), so a filled template always maps back with
columns.map_header. Required headers end with "*" (map_header strips the marker).
"""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from chengxin.records.columns import Column, columns_for
from chengxin.records.files import FILL_SHEET

CODE_SHEET = "代码表"
HELP_SHEET = "填表说明"
LAST_ROW = 1048576          # validations and text format cover the whole column
INLINE_LIMIT = 250          # Excel caps an inline list formula at 255 characters
REQUIRED_FILL = PatternFill("solid", fgColor="FFFFE699")
OPTIONAL_FILL = PatternFill("solid", fgColor="FFDDEBF7")
AUTHOR = "诚信平台"


def header_text(col: Column) -> str:
    return f"{col.header}*" if col.required else col.header


def _note(col: Column) -> str:
    need = "必填" if col.required else "选填"
    return f"{col.header}（{need}）\n{col.help}"


def xlsx_template(item: dict, groups: list[dict]) -> bytes:
    """groups: [{"code", "name"}, ...] offered in the 重点人群代码 drop-down."""
    cols = columns_for(item)
    wb = Workbook()
    ws = wb.active
    ws.title = FILL_SHEET
    _header(ws, cols)
    codes = _CodeSheet(wb)
    for index, col in enumerate(cols, start=1):
        letter = get_column_letter(index)
        if col.kind in ("id", "uscc", "string", "text"):
            # "@" keeps Excel from turning ID numbers into 4.10522E+17 or dropping zeros
            ws.column_dimensions[letter].number_format = "@"
        values = list(col.choices)
        if col.field == "group_code":
            values = [g["code"] for g in groups]
        if values:
            _validate(ws, letter, col, values, codes, groups if col.field == "group_code" else None)
    ws.freeze_panes = "A2"
    _help_sheet(wb.create_sheet(HELP_SHEET), item, cols)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _header(ws: Worksheet, cols: list[Column]) -> None:
    for index, col in enumerate(cols, start=1):
        cell = ws.cell(row=1, column=index, value=header_text(col))
        cell.font = Font(bold=True, color="FFC00000" if col.required else "FF000000")
        cell.fill = REQUIRED_FILL if col.required else OPTIONAL_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.comment = Comment(_note(col), AUTHOR, width=260, height=110)
        ws.column_dimensions[get_column_letter(index)].width = col.width
    ws.row_dimensions[1].height = 30


class _CodeSheet:
    """Hidden sheet holding drop-down lists too long for an inline formula."""

    def __init__(self, wb: Workbook) -> None:
        self.wb, self.ws, self.next_col = wb, None, 1

    def add(self, title: str, values: list[str], names: list[str] | None) -> str:
        if self.ws is None:
            self.ws = self.wb.create_sheet(CODE_SHEET)
            self.ws.sheet_state = "hidden"
        col = self.next_col
        self.next_col += 3 if names else 2  # code, name, blank separator
        self.ws.cell(row=1, column=col, value=title).font = Font(bold=True)
        if names:
            self.ws.cell(row=1, column=col + 1, value="名称").font = Font(bold=True)
        for r, value in enumerate(values, start=2):
            self.ws.cell(row=r, column=col, value=value)
            if names:
                self.ws.cell(row=r, column=col + 1, value=names[r - 2])
        letter = get_column_letter(col)
        return f"'{CODE_SHEET}'!${letter}$2:${letter}${len(values) + 1}"


def _validate(ws: Worksheet, letter: str, col: Column, values: list[str], codes: _CodeSheet,
              groups: list[dict] | None) -> None:
    inline = ",".join(values)
    if len(inline) <= INLINE_LIMIT and not any("," in v or '"' in v for v in values):
        formula = f'"{inline}"'
    else:
        names = [g.get("name", "") for g in groups] if groups else None
        formula = codes.add(col.header, values, names)
    dv = DataValidation(type="list", formula1=formula, allow_blank=True, showDropDown=False,
                        showErrorMessage=True, errorTitle="输入值无效",
                        error=f"{col.header}请从下拉列表中选择", promptTitle=col.header,
                        prompt=col.help[:250], showInputMessage=True)
    dv.add(f"{letter}2:{letter}{LAST_ROW}")
    ws.add_data_validation(dv)


def _help_sheet(ws: Worksheet, item: dict, cols: list[Column]) -> None:
    ws.append([f"信息项：{item['code']} {item['name']}"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([f"请在“{FILL_SHEET}”工作表第 2 行起每行填写一条记录，不要修改第 1 行列名；"
               "带 * 的列为必填；日期格式 YYYY-MM-DD；"
               "身份证号码和统一社会信用代码请保持文本格式。"])
    ws.append([])
    ws.append(["列名", "含义及格式", "是否必填", "可选值"])
    for c in ws[4]:
        c.font = Font(bold=True)
        c.fill = OPTIONAL_FILL
    for col in cols:
        need = "必填" if col.required else "选填"
        ws.append([col.header, col.help, need, "、".join(col.choices)])
    for letter, width in zip("ABCD", (22, 60, 10, 40), strict=True):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=5):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def csv_template(item: dict) -> bytes:
    """Header row only, UTF-8 with BOM so Excel opens the Chinese headers correctly."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([header_text(c) for c in columns_for(item)])
    return buf.getvalue().encode("utf-8-sig")
