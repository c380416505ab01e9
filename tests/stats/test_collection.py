"""GET /stats/collection and POST /stats/collection/nil-report."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from chengxin.reference.models import GroupDepartment
from chengxin.stats import service
from tests.archives.test_archive import app  # noqa: F401 - the app fixture
from tests.conftest import audit_rows
from tests.records.factories import EDU, SCJG, employment, pid, teacher_penalty

URL = "/api/v1/stats/collection"


def pair(body, dept=EDU, group="teacher"):
    [row] = [r for r in body["rows"] if r["department_code"] == dept and r["group_code"] == group]
    return row


def test_pairs_show_members_records_and_last_submission(client, users, rt, frozen_clock):
    users.add("officer", "reviewer")
    officer = users.headers("officer")
    body = client.get(URL, headers=officer).json()
    with rt.uow() as s:
        assert len(body["rows"]) == s.scalar(select(func.count()).select_from(GroupDepartment))
    before = pair(body)
    # Nothing ever submitted and 2025 is over (plus grace): late.
    assert before["members"] == 0 and before["last_submission"] is None
    assert before["late"] is True

    edu = users.api_key(EDU)
    r = client.post("/api/v1/records", headers=edu,
                    json=[employment(1), employment(2), teacher_penalty(1)])
    assert r.json()["accepted"] == 3
    row = pair(client.get(URL, headers=officer).json())
    assert row["department_name"] and row["group_name"] == "教师" and row["cadence"] == "yearly"
    assert row["members"] == 2
    assert row["records_in_period"] == 3
    assert dt.datetime.fromisoformat(row["last_submission"]) == frozen_clock.now()
    assert row["period_start"] == "2026-01-01" and row["period_end"] == "2026-12-31"
    assert row["due_date"] == "2027-01-10"
    assert row["late"] is False

    # Next year, within the grace after 2026: not late yet; after it: late.
    frozen_clock.set(dt.datetime(2027, 1, 9, 2, 0, tzinfo=dt.UTC))
    officer = users.headers("officer")
    row = pair(client.get(URL, headers=officer).json())
    assert row["records_in_period"] == 0 and row["members"] == 2 and row["late"] is False
    frozen_clock.set(dt.datetime(2028, 1, 15, 2, 0, tzinfo=dt.UTC))
    officer = users.headers("officer")
    row = pair(client.get(URL, headers=officer).json())
    assert row["late"] is True and row["previous_period_start"] == "2027-01-01"
    late = client.get(URL, headers=officer, params={"late_only": "true"}).json()
    assert all(r["late"] for r in late["rows"]) and pair(late)["late"] is True

    # 零报告: nothing to report, said explicitly, clears the flag.
    users.add("edu_rep", "reporter", department_code=EDU)
    rep = users.headers("edu_rep")
    r = client.post(URL + "/nil-report", headers=rep, json={"group_code": "teacher"})
    assert r.status_code == 201, r.text
    nil = r.json()
    assert nil["channel"] == "nil" and nil["rows"] == 0 and nil["period_start"] == "2028-01-01"
    row = pair(client.get(URL, headers=officer).json())
    assert row["late"] is False
    assert dt.datetime.fromisoformat(row["last_submission"]) == frozen_clock.now()
    assert audit_rows(rt, "collection.nil_report")[0].object_id == str(nil["id"])
    late = client.get(URL, headers=officer, params={"late_only": "true"}).json()
    assert not [r for r in late["rows"]
                if r["department_code"] == EDU and r["group_code"] == "teacher"]


def test_reporters_see_only_their_department(client, users, frozen_clock):
    client.post("/api/v1/records", headers=users.api_key(EDU), json=[employment(1)])
    users.add("scjg_rep", "reporter", department_code=SCJG)
    h = users.headers("scjg_rep")
    body = client.get(URL, headers=h).json()
    assert body["rows"] and {r["department_code"] for r in body["rows"]} == {SCJG}
    assert "licensed_pharmacist" in {r["group_code"] for r in body["rows"]}
    r = client.get(URL, headers=h, params={"department": EDU})
    assert r.status_code == 403
    # Nor may it file a nil report for a group it is not responsible for.
    r = client.post(URL + "/nil-report", headers=h, json={"group_code": "teacher"})
    assert r.status_code == 403
    r = client.post(URL + "/nil-report", headers=h, json={"group_code": "no-such-group"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "group_code"
    users.add("officer", "reviewer")
    officer = users.headers("officer")
    body = client.get(URL, headers=officer, params={"department": EDU}).json()
    assert {r["department_code"] for r in body["rows"]} == {EDU}
    assert pair(body)["members"] == 1
    users.add("person", "individual", id_number=pid(7), name="张十")
    assert client.get(URL, headers=users.headers("person")).status_code == 403


def test_late_rule_is_a_pure_function():
    today = dt.date(2026, 4, 5)  # quarterly: previous quarter Q1, grace ends 2026-04-10
    assert service.late(today, "quarterly", None) is False
    today = dt.date(2026, 4, 11)
    assert service.late(today, "quarterly", None) is True
    in_q1 = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    assert service.late(today, "quarterly", in_q1) is False
    in_q1 = dt.datetime(2025, 12, 31, 16, 30, tzinfo=dt.UTC)  # 2026-01-01 00:30 in China
    assert service.late(today, "quarterly", in_q1) is False
    in_q4 = dt.datetime(2025, 12, 31, 15, 30, tzinfo=dt.UTC)  # 2025-12-31 23:30 in China
    assert service.late(today, "quarterly", in_q4) is True
    assert service.previous_bounds(dt.date(2026, 3, 15), "monthly") == (
        dt.date(2026, 2, 1), dt.date(2026, 2, 28))
