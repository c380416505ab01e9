"""Rows as departments send them: valid by default, changed by keyword."""

from __future__ import annotations

import datetime as dt
from typing import Any

from chengxin.identity import make_id_number, make_uscc

EDU = "410522-jyj"  # 县教育局: teachers
SCJG = "410522-scjgj"  # 县市场监管局: enterprise legal representatives


def pid(n: int, born: dt.date = dt.date(1985, 6, 1)) -> str:
    return make_id_number("410522", born, n)


def uscc(n: int) -> str:
    return make_uscc("9", "1", "410522", f"{n:08d}")


PENALTY_ATTRS = {"violation_type": "师德失范", "punishment_type": "警告",
                 "punishment_content": "给予警告处分"}


def teacher_penalty(n: int, **kw: Any) -> dict[str, Any]:
    row = {
        "subject_type": "person", "subject_name": f"张{'三四五六七八九十'[n % 8]}",
        "id_number": pid(n), "item_code": "PEN-002", "document_no": f"安县教罚〔2026〕{n}号",
        "decision_date": "2026-03-01", "content": "有偿补课，经查属实",
        "legal_basis": "《中小学教师违反职业道德行为处理办法》第四条",
        "group_code": "teacher", "attributes": dict(PENALTY_ATTRS),
    }
    row.update(kw)
    return row


def employment(n: int, **kw: Any) -> dict[str, Any]:
    row = {
        "subject_type": "person", "subject_name": f"张{'三四五六七八九十'[n % 8]}",
        "id_number": pid(n), "item_code": "EMP-001", "document_no": f"安县教从业〔2026〕{n}号",
        "decision_date": "2026-01-10", "content": "在县第一中学任教", "group_code": "teacher",
        "attributes": {"employer": "安阳县第一中学", "employment_start": "2010-09-01",
                       "position": "语文教师"},
    }
    row.update(kw)
    return row


def enterprise_penalty(n: int, rep: int, **kw: Any) -> dict[str, Any]:
    row = {
        "subject_type": "organization", "subject_name": f"安阳县某食品有限公司{n}",
        "uscc": uscc(n), "item_code": "PEN-005", "document_no": f"安县市监罚〔2026〕{n}号",
        "decision_date": "2026-05-20", "content": "生产经营不符合食品安全标准的食品",
        "legal_basis": "《中华人民共和国食品安全法》第一百二十四条",
        "responsible_persons": [{"id_number": pid(rep), "name": "王法人", "role": "legal_representative"}],
        "attributes": {"violation_type": "食品安全", "punishment_type": "责令停产停业",
                       "punishment_content": "责令停产停业并罚款", "fine_amount": 50},
    }
    row.update(kw)
    return row
