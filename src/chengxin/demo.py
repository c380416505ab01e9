"""Synthetic demo data: accounts for every role and people with valid (made-up) IDs.

Runs only in demo mode and is idempotent: running `chengxin demo` twice adds nothing.
Names come from Faker's zh_CN locale; ID numbers are made by the identity module, so
they pass every check but belong to nobody.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from chengxin.accounts.models import User
from chengxin.accounts.principal import cli_principal
from chengxin.accounts.service import create_user
from chengxin.identity import make_id_number
from chengxin.runtime import Runtime

DEMO_DEPARTMENT = "410522-jyj"  # 县教育局, responsible for teachers (seed 002)

DEMO_PASSWORD = "Chengxin-Demo-2026"  # demo mode only; printed at start

# (role, login, password, department, note)
DEMO_ACCOUNTS = [
    ("admin", "admin", DEMO_PASSWORD, None, "信用办管理员"),
    ("reviewer", "reviewer", DEMO_PASSWORD, None, "信用办审核员 (异议、修复)"),
    ("reporter", "jyj", DEMO_PASSWORD, DEMO_DEPARTMENT, "县教育局填报员 (教师)"),
    ("auditor", "auditor", DEMO_PASSWORD, None, "审计员 (只读审计日志)"),
    ("third_party", "hr-bank", DEMO_PASSWORD, None, "第三方 (某银行人力资源部)"),
    ("individual", "liming", DEMO_PASSWORD, None, "个人 李明"),
]


def demo_person_id() -> str:
    return make_id_number("410522", dt.date(1990, 3, 15), 123)


def fill_demo(rt: Runtime, *, seed: int = 20261123) -> list[tuple[str, str, str, str]]:
    if not rt.settings.demo_mode:
        raise RuntimeError("demo data is only written in demo mode")
    random.seed(seed)
    actor = cli_principal("demo")
    shown = []
    with rt.uow() as session:
        existing = set(session.scalars(select(User.login)))
        for role, login, password, dept, note in DEMO_ACCOUNTS:
            if login not in existing:
                create_user(
                    session, actor=actor, login=login, password=password, role=role,
                    department_code=dept,
                    id_number=demo_person_id() if role == "individual" else None,
                    name="李明" if role == "individual" else None,
                    organization="某银行人力资源部" if role == "third_party" else None,
                )
            shown.append((role, login, password, note))
    return shown
