"""The newcomer's command: demo data is written, idempotent, and every account signs in."""

from __future__ import annotations

import pytest

from chengxin.demo import DEMO_ACCOUNTS, fill_demo


def test_demo_fills_and_every_account_signs_in(rt, client):
    rt.settings.demo_mode = True
    shown = fill_demo(rt)
    assert {row[0] for row in shown} == {"admin", "reviewer", "reporter", "auditor",
                                         "individual", "third_party"}
    for _role, login, password, _note in shown:
        r = client.post("/api/v1/auth/token", json={"login": login, "password": password})
        assert r.status_code == 200, login
    # Idempotent: a second run adds no account and fails on nothing.
    assert fill_demo(rt) == shown
    admin = client.post("/api/v1/auth/token", json={"login": "admin", "password": shown[0][2]})
    listed = client.get("/api/v1/users", headers={
        "Authorization": f"Bearer {admin.json()['access_token']}"})
    assert listed.status_code == 200
    assert sorted(u["login"] for u in listed.json()) == sorted(a[1] for a in DEMO_ACCOUNTS)


def test_demo_data_fills_every_part(rt, client, frozen_clock):
    from sqlalchemy import func, select

    from chengxin.records.models import CreditRecord, HeldRow
    from chengxin.sanctions.models import ListEntry

    rt.settings.demo_mode = True
    fill_demo(rt)
    with rt.uow() as s:
        records = s.scalar(select(func.count()).select_from(CreditRecord))
        assert records > 100
        assert s.scalar(select(func.count()).select_from(HeldRow)) == 0  # every row was valid
        assert s.scalar(select(func.count()).select_from(ListEntry).where(
            ListEntry.status == "active", ListEntry.list_type == "black")) == 3
        derived = s.scalar(select(func.count()).select_from(CreditRecord).where(
            CreditRecord.derived_from.is_not(None)))
        assert derived >= 4  # serious enterprise penalties reached their representatives
    public = client.get("/api/v1/public/disclosures").json()["items"]
    assert any(i["subject"]["type"] == "person" for i in public)
    honours = client.get("/api/v1/public/honors").json()["items"]
    assert honours
    fill_demo(rt)  # again: nothing new
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(CreditRecord)) == records


def test_demo_refuses_outside_demo_mode(rt):
    rt.settings.demo_mode = False
    with pytest.raises(RuntimeError):
        fill_demo(rt)
