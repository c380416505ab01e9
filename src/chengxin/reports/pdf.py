"""The report as PDF with Chinese text: HTML through WeasyPrint with Noto CJK fonts."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html"]))


def qr_data_uri(text: str) -> str:
    svg = segno.make(text, error="m").svg_inline(scale=3)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def render_pdf(doc: dict[str, Any], verify_link: str) -> bytes:
    from weasyprint import HTML  # imported here: heavy, and only the PDF path needs it

    html = _env.get_template("report.html").render(r=doc, qr=qr_data_uri(verify_link),
                                                   verify_link=verify_link)
    return HTML(string=html).write_pdf()
