"""The error workbook handed back after an upload: only the rejected rows, values as
uploaded, bad cells in red, and a final 错误说明 column. The person fixes it and uploads
the same file again; map_header ignores 错误说明 and row_to_record strips the quote that
csv_safe adds, so nothing has to be cleaned by hand.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from chengxin.records.columns import (
    ERROR_HEADER,
    HeaderMap,
    cell_text,
    clean_header,
    column_for_error,
    map_header,
)
from chengxin.records.files import FILL_SHEET

RED_FILL = PatternFill("solid", fgColor="FFFF9999")
HEADER_FILL = PatternFill("solid", fgColor="FFDDEBF7")
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_NEGATIVE_NUMBER = re.compile(r"^-\d+(\.\d+)?$")
REUPLOAD_NOTE = ("本文件只包含未通过校验的行。请按“错误说明”修改标红的单元格后，"
                 "将本文件重新上传；“错误说明”列在上传时会被自动忽略，无需删除。")


def csv_safe(value: str) -> str:
    """Stop a spreadsheet from running cell text as a formula (CSV/formula injection):
    text starting with = + - @ tab or CR gets a leading ', except a plain negative number."""
    if value and value.startswith(_DANGEROUS) and not _NEGATIVE_NUMBER.match(value):
        return "'" + value
    return value


def write_error_report(table_headers: list[str], rows: Iterable[tuple[int, list[Any]]],
                       errors: dict[int, list[dict]], *, header_map: HeaderMap | None = None,
                       items_by_code: dict[str, dict] | None = None,
                       item_code: str | None = None) -> bytes:
    """XLSX bytes. Pass the upload's `header_map` (or `items_by_code` + `item_code`) so that
    attribute errors (attributes.x) find their labelled column; without the catalog only
    fixed columns can be marked, and the message still goes into 错误说明."""
    if header_map is None:
        header_map = map_header(table_headers, items_by_code or {}, item_code)
    wb = Workbook(write_only=True)  # rows go straight to disk-backed XML: memory stays flat
    ws = wb.create_sheet(FILL_SHEET)
    kept = [i for i, h in enumerate(table_headers) if clean_header(h) != ERROR_HEADER]
    for pos in range(len(kept) + 1):
        ws.column_dimensions[_letter(pos)].width = 18 if pos < len(kept) else 60
    ws.append(_header_cells(ws, [table_headers[i] for i in kept]))
    for number, values in rows:
        row_errors = errors.get(number)
        if row_errors:
            ws.append(_data_cells(ws, number, values, row_errors, header_map, kept))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _letter(pos: int) -> str:
    return get_column_letter(pos + 1)


def _header_cells(ws, headers: list[str]) -> list[WriteOnlyCell]:
    cells = []
    for header in headers:
        cell = WriteOnlyCell(ws, value=csv_safe(cell_text(header)))
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cells.append(cell)
    note = WriteOnlyCell(ws, value=ERROR_HEADER)
    note.font, note.fill = Font(bold=True, color="FFC00000"), HEADER_FILL
    note.comment = Comment(REUPLOAD_NOTE, "诚信平台", width=300, height=120)
    return [*cells, note]


def _data_cells(ws, number: int, values: list[Any], row_errors: list[dict],
                header_map: HeaderMap, kept: list[int]) -> list[WriteOnlyCell]:
    bad: set[int] = set()
    texts: list[str] = []
    for err in row_errors:
        index = column_for_error(str(err.get("field", "")), header_map, values)
        message = str(err.get("message", ""))
        if index is not None:
            bad.add(index)
            label = clean_header(header_map.headers[index])
            if not message.startswith(label):
                message = f"{label}：{message}"
        texts.append(message)
    cells = []
    for i in kept:
        cell = WriteOnlyCell(ws, value=csv_safe(cell_text(values[i] if i < len(values) else "")))
        if i in bad:
            cell.fill = RED_FILL
        cells.append(cell)
    return [*cells, WriteOnlyCell(ws, value=csv_safe(f"原第 {number} 行：" + "；".join(texts)))]
