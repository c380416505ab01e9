"""The credit archive in the layout of the Anyang form (seed 002 附件): the 信用档案 cover
and the 信用信息记录表, as XLSX and as PDF."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

from chengxin import clock
from chengxin.identity import scrub_text

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html"]))
STATUS_SENTENCE = {
    "trustworthy": "根据法律法规，依法认定{name}为守信人员",
    "warning": "经查实，{name}存在{facts}，根据法律法规，依法认定{name}存在警示行为",
    "serious_dishonesty": "经查实，{name}存在{facts}，根据法律法规，依法认定{name}存在严重失信行为",
}


def form_data(archive: dict[str, Any], *, year: int, group_code: str | None) -> dict[str, Any]:
    """The form's fields from an archive (chengxin.archives.service.get_archive)."""
    basic = archive["basic"]
    members = archive["memberships"]
    member = next((m for m in members if m["group_code"] == group_code), None) if group_code \
        else (members[-1] if members else None)
    sections = archive["sections"]
    rewards = [f"{r['decision_date']} {r['item_name']}：{r['content'] or ''}"
               for r in sections.get("rewards", []) if int(r["decision_date"][:4]) == year]
    punishments = [f"{r['decision_date']} {r['item_name']}：{r['content'] or ''}（{r['document_no']}）"
                   for key in ("punishments", "violations") for r in sections.get(key, [])
                   if int(r["decision_date"][:4]) == year and r["status"] != "deleted"]
    employment = next((r for r in sections.get("employment", [])
                       if r["item_code"] == "EMP-001"), None)
    annual = next((a for a in archive["annual_status"] if a["year"] == year),
                  {"status": "trustworthy", "determined": False})
    facts = annual.get("basis") or "相关行为"
    status_text = STATUS_SENTENCE[annual["status"]].format(name=basic["name"], facts=facts)
    if not annual.get("determined"):
        status_text += "（无证据证明存在警示或严重失信行为，一般认定为守信人员）"
    evidence = annual.get("evidence_ids") or []
    return {
        "group_name": member["group_name"] if member else "从业人员",
        "year": year,
        "name": basic["name"],
        "sex": basic["sex_label"],
        "id_number": basic["id_number_masked"],
        "employer": (member or {}).get("employer") or "",
        "position": (member or {}).get("position") or "",
        "started_on": (member or {}).get("started_on") or "",
        "duties": scrub_text(((employment or {}).get("attributes") or {}).get("duties") or ""),
        "rewards_punishments": "；".join(scrub_text(x) for x in rewards + punishments) or "无",
        "status": status_text,
        "department": (annual.get("department_name") or (member or {}).get("department_name")
                       or ""),
        "remarks": f"证明材料编号：{', '.join(map(str, evidence))}" if evidence else "",
        "filled_on": clock.today().isoformat(),
    }


_THIN = Side(style="thin", color="000000")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def to_xlsx(form: dict[str, Any]) -> bytes:
    wb = Workbook()
    cover = wb.active
    cover.title = "封面"
    cover.column_dimensions["A"].width = 60
    lines = [(f"{form['group_name']}信用档案", 22), (f"（{form['year']} 年度）", 14), ("", 12),
             (f"姓　　名：{form['name']}", 14), (f"单　　位：{form['employer']}", 14),
             (f"填表日期：{form['filled_on']}", 14)]
    for i, (text, size) in enumerate(lines, start=2):
        cell = cover.cell(row=i * 2, column=1, value=text)
        cell.font = Font(size=size, bold=i == 2)
        cell.alignment = Alignment(horizontal="center")
    ws = wb.create_sheet("信用信息记录表")
    for col, width in zip("ABCDEF", (12, 18, 12, 18, 12, 18), strict=True):
        ws.column_dimensions[col].width = width
    ws.merge_cells("A1:F1")
    ws["A1"] = f"{form['group_name']}信用信息记录表"
    ws["A1"].font = Font(size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")
    rows = [
        [("姓名", 1), (form["name"], 1), ("性别", 1), (form["sex"], 1), ("政治面貌", 1), ("", 1)],
        [("学历", 1), ("", 1), ("职称", 1), ("", 1), ("职务", 1), (form["position"], 1)],
        [("身份证号", 1), (form["id_number"], 2), ("联系电话", 1), ("", 2)],
        [("工作单位", 1), (form["employer"], 2), ("从业起始时间", 1), (form["started_on"], 2)],
        [("工作职责", 1), (form["duties"], 5)],
        [("奖惩情况", 1), (form["rewards_punishments"], 5)],
        [("信用状况", 1), (form["status"], 3), ("主管单位（盖章）", 1),
         (f"{form['department']}\n年　月　日", 1)],
        [("备注", 1), (form["remarks"], 5)],
    ]
    for r, cells in enumerate(rows, start=2):
        col = 1
        for text, span in cells:
            cell = ws.cell(row=r, column=col, value=text)
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            if span > 1:
                ws.merge_cells(start_row=r, start_column=col, end_row=r, end_column=col + span - 1)
            for c in range(col, col + span):
                ws.cell(row=r, column=c).border = _BOX
            col += span
        ws.row_dimensions[r].height = 60 if r >= 6 else 24
    notes = ws.cell(row=len(rows) + 3, column=1,
                    value="填表说明：1.“信用状况”是指主管部门年度内对从业人员信用行为认定状况；原则上如无证据"
                          "证明从业人员存在警示行为或者严重失信行为，一般认定为守信人员。2.认定存在警示行为、"
                          "严重失信行为的，应当将相关证明材料附在信用档案中。")
    ws.merge_cells(start_row=len(rows) + 3, start_column=1, end_row=len(rows) + 3, end_column=6)
    notes.alignment = Alignment(wrap_text=True)
    ws.row_dimensions[len(rows) + 3].height = 60
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_pdf(form: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    return HTML(string=_env.get_template("archive_form.html").render(f=form)).write_pdf()
