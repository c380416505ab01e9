"""查询使用登记: who read a person's data, unusual patterns, rate limit, retention."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, insert, select

from chengxin.accounts.principal import Principal, Role
from chengxin.errors import TooMany
from chengxin.rights import querylog
from chengxin.rights.models import QueryAlert, QueryLog
from chengxin.rights.policy import QueryLogPolicy
from chengxin.subjects.service import find_person
from tests.conftest import audit_rows
from tests.records.factories import EDU, pid
from tests.rights.test_authorizations import mounted_client

STAFF = Principal(kind="user", role=Role.REPORTER, id="7", department_code=EDU, label="zhang.clerk")
BANK = Principal(kind="user", role=Role.THIRD_PARTY, id="8", label="bank.teller",
                 organization="安县农村商业银行")


@pytest.fixture
def client(rt) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with mounted_client(rt) as c:
        yield c


def _persons(rt, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    from chengxin.subjects.service import resolve_person

    with rt.uow() as s:
        return [resolve_person(s, pid(100 + i), f"王{i}").person.id for i in range(n)]


def _small_policy(rt, **kw) -> None:  # type: ignore[no-untyped-def]
    base = dict(retention_months=60, alert_window_minutes=60, alert_distinct_persons=3,
                third_party_per_minute=30) | kw
    rt.caches[querylog._CACHE_KEY] = QueryLogPolicy(**base)


def test_staff_reads_show_the_department_not_the_login(client, users, rt, frozen_clock):
    users.add("person1", "individual", id_number=pid(1), name="张一")
    me = users.headers("person1")
    with rt.uow() as s:
        person = find_person(s, pid(1))
        for i in range(3):
            querylog.log_query(s, actor=STAFF, person_id=person.id, channel="staff",
                               what="archive", purpose=f"核查{i}")
            frozen_clock.advance(minutes=1)
    r = client.get("/api/v1/me/queries", headers=me, params={"limit": 2})
    assert r.status_code == 200, r.text
    page = r.json()
    assert [i["purpose"] for i in page["items"]] == ["核查2", "核查1"]  # newest first
    assert {i["who"] for i in page["items"]} == {"安阳县教育局"}
    assert {i["channel"] for i in page["items"]} == {"staff"}
    assert "zhang.clerk" not in r.text and page["next_before"]
    rest = client.get("/api/v1/me/queries", headers=me,
                      params={"limit": 2, "before": page["next_before"]}).json()
    assert [i["purpose"] for i in rest["items"]] == ["核查0"] and rest["next_before"] is None
    # The log row keeps the login for the office's own investigations.
    with rt.uow() as s:
        assert {q.actor for q in s.scalars(select(QueryLog))} == {"zhang.clerk"}
        assert {q.actor_key for q in s.scalars(select(QueryLog))} == {"user:7"}
    # Reading one's own log is audited, not logged as a query.
    assert len(audit_rows(rt, "query_log.read")) == 2
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(QueryLog)) == 3
    assert client.get("/api/v1/me/queries", headers=me, params={"limit": 0}).status_code == 422


def test_alert_once_per_window_when_one_actor_reads_many_persons(client, users, rt, frozen_clock):
    _small_policy(rt, alert_distinct_persons=3, alert_window_minutes=60)
    ids = _persons(rt, 6)
    with rt.uow() as s:
        for p in ids[:3]:  # three is the limit, not over it
            querylog.log_query(s, actor=STAFF, person_id=p, channel="staff", what="archive",
                               purpose="核查")
            querylog.log_query(s, actor=STAFF, person_id=p, channel="staff", what="record",
                               purpose="核查")
        assert s.scalars(select(QueryAlert)).all() == []
        for p in ids[3:]:  # the 4th, 5th and 6th distinct person
            querylog.log_query(s, actor=STAFF, person_id=p, channel="staff", what="archive",
                               purpose="核查")
        (alert,) = s.scalars(select(QueryAlert)).all()
        assert alert.actor_key == "user:7" and alert.distinct_persons == 4
    (entry,) = audit_rows(rt, "query.alert")
    assert entry.details["distinct_persons"] == 4
    # Staff see it; an individual may not.
    users.add("rev", "reviewer")
    users.add("person1", "individual", id_number=pid(1), name="张一")
    r = client.get("/api/v1/query-alerts", headers=users.headers("rev"))
    assert r.status_code == 200 and [a["actor_key"] for a in r.json()] == ["user:7"]
    assert client.get("/api/v1/query-alerts", headers=users.headers("person1")).status_code == 403
    # A new window: a new alert.
    frozen_clock.advance(minutes=61)
    with rt.uow() as s:
        for p in ids[:4]:
            querylog.log_query(s, actor=STAFF, person_id=p, channel="staff", what="archive",
                               purpose="核查")
        assert s.scalar(select(func.count()).select_from(QueryAlert)) == 2
    done = client.post(f"/api/v1/query-alerts/{r.json()[0]['id']}/resolve",
                       headers=users.headers("rev"))
    assert done.status_code == 200 and done.json()["resolved_at"]
    assert len(client.get("/api/v1/query-alerts", headers=users.headers("rev")).json()) == 1


def test_third_party_rate_limit(client, users, rt, frozen_clock):
    _small_policy(rt, third_party_per_minute=3, alert_distinct_persons=100)
    (p,) = _persons(rt, 1)
    with rt.uow() as s:
        for _ in range(3):
            querylog.log_query(s, actor=BANK, person_id=p, channel="third_party", what="report",
                               purpose="贷款")
    with rt.uow() as s, pytest.raises(TooMany):
        querylog.log_query(s, actor=BANK, person_id=p, channel="third_party", what="report",
                           purpose="贷款")
    # Staff reads are not limited this way; the third party may go on a minute later.
    with rt.uow() as s:
        querylog.log_query(s, actor=STAFF, person_id=p, channel="staff", what="archive",
                           purpose="核查")
    frozen_clock.advance(seconds=61)
    with rt.uow() as s:
        querylog.log_query(s, actor=BANK, person_id=p, channel="third_party", what="report",
                           purpose="贷款")
        assert s.scalar(select(func.count()).select_from(QueryLog)) == 5


def test_third_party_rate_limit_over_http(client, users, rt, frozen_clock):
    _small_policy(rt, third_party_per_minute=2, alert_distinct_persons=100)
    users.add("person1", "individual", id_number=pid(1), name="张一")
    users.add("bank1", "third_party", organization="安县农村商业银行")
    me, bank = users.headers("person1"), users.headers("bank1")
    code = client.post("/api/v1/me/authorizations", headers=me, json={
        "grantee": "安县农村商业银行", "purpose": "贷款", "scope": "report",
        "valid_days": 5}).json()["code"]
    body = {"id_number": pid(1), "authorization_code": code, "purpose": "贷款"}
    codes = [client.post("/api/v1/_probe/report", headers=bank, json=body).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]
    assert len(client.get("/api/v1/me/queries", headers=me).json()["items"]) == 2


def test_purge_deletes_only_old_rows_in_one_statement(rt, frozen_clock):
    (p,) = _persons(rt, 1)
    now = frozen_clock.now()
    rows = [dict(person_id=p, at=at, channel="staff", actor="x", actor_key="user:1",
                 organization="县教育局", purpose="核查", what="archive")
            for at in (now - dt.timedelta(days=365 * 6), now - dt.timedelta(days=365 * 5 + 10),
                       now - dt.timedelta(days=365 * 4), now)]
    with rt.uow() as s:
        s.execute(insert(QueryLog), rows)
    statements: list[str] = []

    def _seen(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "query_log" in statement.lower():
            statements.append(statement.split()[0].upper())

    event.listen(rt.engine, "before_cursor_execute", _seen)
    try:
        with rt.uow() as s:
            purged = querylog.purge_expired(s, actor=STAFF, today=dt.date(2026, 11, 23))
    finally:
        event.remove(rt.engine, "before_cursor_execute", _seen)
    assert purged == 2
    assert statements == ["DELETE"]
    with rt.uow() as s:
        left = sorted(q.at for q in s.scalars(select(QueryLog)))
    assert left == sorted([now - dt.timedelta(days=365 * 4), now])
    (entry,) = audit_rows(rt, "query_log.purge")
    assert entry.details["deleted"] == 2 and entry.details["before"] == "2021-11-23"
