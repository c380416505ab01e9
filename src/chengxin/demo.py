"""Synthetic demo data: accounts for every role, and a county's worth of records.

Runs only in demo mode and is idempotent: running `chengxin demo` twice adds nothing new
(accounts are skipped, records are re-sent unchanged). Names come from Faker's zh_CN
locale; ID numbers are made by the identity module, so they pass every check but belong
to nobody.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import select

from chengxin import clock
from chengxin.accounts.models import User
from chengxin.accounts.principal import Principal, Role, cli_principal
from chengxin.accounts.service import create_user
from chengxin.identity import make_id_number, make_uscc
from chengxin.records.ingest import ingest
from chengxin.runtime import Runtime
from chengxin.sanctions import lists
from chengxin.sanctions.models import ListEntry

DEMO_DEPARTMENT = "410522-jyj"  # 县教育局, responsible for teachers (seed 002)
DEMO_PASSWORD = "Chengxin-Demo-2026"  # demo mode only; printed at start
DEMO_PERSON_NAME = "李明"

# (role, login, password, department, note)
DEMO_ACCOUNTS = [
    ("admin", "admin", DEMO_PASSWORD, None, "信用办管理员"),
    ("reviewer", "reviewer", DEMO_PASSWORD, None, "信用办审核员 (异议、修复、名单复核)"),
    ("reporter", "jyj", DEMO_PASSWORD, DEMO_DEPARTMENT, "县教育局填报员 (教师)"),
    ("auditor", "auditor", DEMO_PASSWORD, None, "审计员 (只读审计日志)"),
    ("third_party", "hr-bank", DEMO_PASSWORD, None, "第三方 (某银行人力资源部)"),
    ("individual", "liming", DEMO_PASSWORD, None, "个人 李明 (有一条处罚记录)"),
]


def demo_person_id() -> str:
    return make_id_number("410522", dt.date(1990, 3, 15), 123)


def _actor(dept: str) -> Principal:
    return Principal(kind="system", role=Role.SYSTEM, id="demo", department_code=dept,
                     label=f"demo:{dept}")


def _people(rng: random.Random, n: int) -> list[tuple[str, str]]:
    from faker import Faker

    fake = Faker("zh_CN")
    fake.seed_instance(rng.randint(0, 10**6))
    out = []
    for i in range(n):
        born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 40))
        out.append((make_id_number("410522", born, 200 + i), fake.name()))
    return out


def _teacher_rows(rng: random.Random, people: list[tuple[str, str]]) -> list[dict[str, Any]]:
    schools = ["安阳县第一中学", "安阳县实验小学", "安阳县职业中专", "水冶镇中心小学", "白璧镇初级中学"]
    rows = []
    for i, (id18, name) in enumerate(people):
        rows.append({"subject_type": "person", "subject_name": name, "id_number": id18,
                     "item_code": "EMP-001", "document_no": f"安县教从〔2026〕{i + 1}号",
                     "decision_date": "2026-01-10", "content": "在校任教，从业信息登记",
                     "group_code": "teacher",
                     "attributes": {"employer": rng.choice(schools),
                                    "employment_start": f"{rng.randint(1995, 2020)}-09-01",
                                    "position": rng.choice(["语文教师", "数学教师", "班主任", "英语教师"])}})
        if i % 9 == 0:
            month = rng.randint(1, 10)
            rows.append({"subject_type": "person", "subject_name": name, "id_number": id18,
                         "item_code": "PEN-002", "document_no": f"安县教罚〔2026〕{i + 1}号",
                         "decision_date": f"2026-{month:02d}-15", "content": "违规有偿补课，经查属实",
                         "legal_basis": "《中小学教师违反职业道德行为处理办法》第四条",
                         "group_code": "teacher",
                         "attributes": {"violation_type": "师德失范", "punishment_type": "警告",
                                        "punishment_content": "给予警告处分"}})
        if i % 13 == 5:
            rows.append({"subject_type": "person", "subject_name": name, "id_number": id18,
                         "item_code": "HON-001", "document_no": f"安县教表〔2026〕{i + 1}号",
                         "decision_date": "2026-09-10", "content": "被评为县级优秀教师",
                         "group_code": "teacher",
                         "attributes": {"honour_name": "安阳县优秀教师", "awarding_body": "安阳县人民政府",
                                        "level": "县级", "awarded_on": "2026-09-10"}})
    return rows


def _market_rows(rng: random.Random, people: list[tuple[str, str]]) -> list[dict[str, Any]]:
    rows = []
    for i, (id18, name) in enumerate(people[:12]):
        rows.append({
            "subject_type": "organization", "subject_name": f"安阳县{name[0]}氏食品有限公司",
            "uscc": make_uscc("9", "1", "410522", f"{70000 + i:08d}"),
            "item_code": "PEN-005" if i % 3 == 0 else "PEN-004",
            "document_no": f"安县市监罚〔2026〕{i + 1}号", "decision_date": "2026-05-20",
            "content": "生产经营不符合食品安全标准的食品",
            "legal_basis": "《中华人民共和国食品安全法》第一百二十四条",
            "responsible_persons": [{"id_number": id18, "name": name, "role": "legal_representative"}],
            "attributes": {"violation_type": "食品安全", "punishment_type": "罚款",
                           "punishment_content": "没收违法所得并处罚款", "fine_amount": 5 + i}})
    return rows


def _black_rows(people: list[tuple[str, str]]) -> list[dict[str, Any]]:
    rows = []
    for i, (id18, name) in enumerate(people[:3]):
        rows.append({
            "subject_type": "person", "subject_name": name, "id_number": id18,
            "item_code": "BLK-001", "document_no": f"安县信认〔2026〕{i + 1}号",
            "decision_date": "2026-07-01", "content": "拒不履行法定义务，严重影响司法公信",
            "legal_basis": "《河南省社会信用条例》第二十八条",
            "attributes": {"dishonest_conduct": "拒不履行法定义务", "listing_authority": "安阳县人民法院",
                           "listing_basis": "认定决定书", "listed_on": "2026-07-01"}})
    return rows


def fill_demo(rt: Runtime, *, seed: int = 20261123) -> list[tuple[str, str, str, str]]:
    if not rt.settings.demo_mode:
        raise RuntimeError("demo data is only written in demo mode")
    rng = random.Random(seed)
    actor = cli_principal("demo")
    shown = []
    people = _people(rng, 120)
    me = (demo_person_id(), DEMO_PERSON_NAME)
    with rt.uow() as session:
        existing = set(session.scalars(select(User.login)))
        for role, login, password, dept, note in DEMO_ACCOUNTS:
            if login not in existing:
                create_user(
                    session, actor=actor, login=login, password=password, role=role,
                    department_code=dept,
                    id_number=me[0] if role == "individual" else None,
                    name=me[1] if role == "individual" else None,
                    organization="某银行人力资源部" if role == "third_party" else None,
                )
            shown.append((role, login, password, note))
    with rt.uow() as session:
        ingest(session, actor=_actor(DEMO_DEPARTMENT), department_code=DEMO_DEPARTMENT,
               rows=_teacher_rows(rng, [me, *people[:80]]), source="demo")
    with rt.uow() as session:
        ingest(session, actor=_actor("410522-scjgj"), department_code="410522-scjgj",
               rows=_market_rows(rng, people[80:]), source="demo")
    with rt.uow() as session:
        ingest(session, actor=_actor("410522-fy"), department_code="410522-fy",
               rows=_black_rows(people[100:]), source="demo")
    _approve_black_list(rt)
    return shown


def _approve_black_list(rt: Runtime) -> None:
    """The demo's reviewer approves the proposed black-list entries (maker–checker), as
    if the prior-notice period had passed, so the public portal has something to show."""
    checker = Principal(kind="user", role=Role.REVIEWER, id="demo-checker", label="demo-checker")
    with rt.uow() as session:
        for entry in session.scalars(select(ListEntry).where(ListEntry.status == "proposed")):
            lists.approve_listing(session, actor=checker, entry_id=entry.id, note="演示数据")
            entry.effective_from = min(entry.effective_from or clock.today(), clock.today())
