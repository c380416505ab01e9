"""Display periods end by the job, and every read already hides what is over."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event, select

from chengxin.accounts.principal import cli_principal
from chengxin.disclosure.expiry import run_expiry
from chengxin.disclosure.rules import effective_status, is_public
from chengxin.records.models import CreditRecord, RecordState
from tests.records.factories import EDU, teacher_penalty


def test_expire_ends_periods_set_based(client, users, rt, frozen_clock):
    key = users.api_key(EDU)
    rows = [teacher_penalty(i, decision_date="2026-01-10") for i in range(1, 6)]
    client.post("/api/v1/records", headers=key, json=rows)
    with rt.uow() as s:
        until = s.scalar(select(CreditRecord.display_until))
    assert until == dt.date(2027, 1, 10)  # general: 12 months under 国办发〔2025〕22号
    statements = []
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    frozen_clock.set(dt.datetime(2027, 1, 11, 2, tzinfo=dt.UTC))
    event.listen(rt.engine, "before_cursor_execute", listener)
    with rt.uow() as s:
        result = run_expiry(s, actor=cli_principal("cron"))
    event.remove(rt.engine, "before_cursor_execute", listener)
    assert result["records_expired"] == 5
    writes = [q for q in statements if q.lstrip().upper().startswith(("UPDATE", "INSERT"))]
    assert len(writes) <= 7  # 6 statements + the audit entry, whatever the row count
    with rt.uow() as s:
        assert {r.status for r in s.scalars(select(CreditRecord))} == {"expired"}
        assert len([x for x in s.scalars(select(RecordState)) if x.status == "expired"]) == 5
    with rt.uow() as s:
        again = run_expiry(s, actor=cli_principal("cron"))
    assert again["records_expired"] == 0


def test_reads_hide_expired_without_the_job():
    today = dt.date(2027, 2, 1)
    assert effective_status("active", dt.date(2027, 1, 10), today) == "expired"
    assert effective_status("active", dt.date(2027, 3, 10), today) == "active"
    assert effective_status("repaired", dt.date(2027, 1, 10), today) == "repaired"
    common = {"visibility": "public", "severity": "serious", "decision_date": dt.date(2026, 1, 1)}
    assert is_public(status="active", display_until=dt.date(2027, 3, 1), birth=dt.date(1980, 1, 1),
                     today=today, **common)
    assert not is_public(status="active", display_until=dt.date(2027, 1, 10),
                         birth=dt.date(1980, 1, 1), today=today, **common)
    # Under 14 now: never public, whatever the item.
    assert not is_public(status="active", display_until=dt.date(2027, 3, 1),
                         birth=dt.date(2014, 1, 1), today=today, **common)
    # A minor at the time, light dishonesty: never disclosed.
    light = dict(common, severity="general")
    assert not is_public(status="active", display_until=dt.date(2027, 3, 1),
                         birth=dt.date(2009, 1, 1), today=today, **light)
    assert not is_public(status="repaired", display_until=dt.date(2027, 3, 1),
                         birth=dt.date(1980, 1, 1), today=today, **common)
