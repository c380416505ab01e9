"""The check's reads run on the driver connection (sanctions/repository.py): the values
must be what the ORM would have loaded — dates as dates, the person's first day in UTC
whatever the database session's time zone."""

from __future__ import annotations

import asyncio
import datetime as dt

import psycopg
import pytest
from sqlalchemy import select, text

from chengxin import clock
from chengxin.records.models import CreditRecord, GroupMembership
from chengxin.sanctions.policy import RecordFact
from chengxin.sanctions.repository import PersonRef, facts_for, persons_by_hash, read_async
from chengxin.subjects.models import Person
from chengxin.subjects.service import ID_DOMAIN
from tests.records.factories import EDU, pid, teacher_penalty


def test_the_reads_give_what_the_orm_loads(client, users, rt):
    # 23:30 UTC is already the next day east of UTC: the person's first day stays the
    # UTC one, as the ORM's UTC datetimes give it.
    with clock.frozen(dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)):
        r = client.post("/api/v1/records", headers=users.api_key(EDU), json=[teacher_penalty(8)])
    assert r.status_code < 300, r.text
    digest = rt.blind.digest(pid(8), domain=ID_DOMAIN)
    with rt.uow() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SET LOCAL TIME ZONE 'Pacific/Kiritimati'"))  # UTC+14
        person = s.scalars(select(Person).where(Person.id_hash == digest)).one()
        ref = persons_by_hash(s, [digest, "0" * 64])
        assert ref == {digest: PersonRef(person.id, person.name, person.birth_date,
                                         dt.date(2026, 3, 1))}
        assert isinstance(ref[digest].birth_date, dt.date)
        record = s.scalars(select(CreditRecord).where(CreditRecord.person_id == person.id)).one()
        started = s.scalars(select(GroupMembership.started_on)
                            .where(GroupMembership.person_id == person.id)).all()
        facts = facts_for(s, [ref[digest]])[person.id]
    assert facts.known
    assert facts.records == [RecordFact(record.id, "general", "negative", record.status,
                                        record.decision_date, record.display_until,
                                        facts.records[0].age_at_decision)]
    assert type(facts.records[0].decision_date) is dt.date
    assert facts.records[0].decision_date == dt.date(2026, 3, 1)
    assert facts.known_since == min([record.decision_date, dt.date(2026, 3, 1),
                                     *(d for d in started if d is not None)])
    assert facts.lists == [] and facts.annual == {}


def test_packed_facts_unpack_to_the_same_facts():
    """The fast path keeps facts as bytes (repository.pack): every field comes back with
    its type, missing dates included."""
    from chengxin.sanctions.policy import CheckFacts, ListFact
    from chengxin.sanctions.repository import pack, unpack

    person = PersonRef(7, "张三", dt.date(1990, 5, 1), dt.date(2026, 1, 2))
    facts = CheckFacts(
        known=True, known_since=dt.date(2020, 2, 29),
        records=[RecordFact(11, "serious", "negative", "under_objection", dt.date(2024, 1, 31),
                            None, 33),
                 RecordFact(12, None, "positive", "active", dt.date(2025, 6, 1),
                            dt.date(2030, 6, 1), 35)],
        lists=[ListFact(3, "black", "严重失信主体名单", "active", dt.date(2025, 1, 1),
                        dt.date(2025, 1, 2), None, None, "依据", under_objection=True),
               ListFact(4, "red", "守信激励名单", "ended", dt.date(2021, 1, 1), None,
                        dt.date(2022, 1, 1), dt.date(2022, 1, 1), "")],
        annual={2024: "warning", 2025: "trustworthy"})
    assert unpack(pack(person, facts)) == (person, facts)
    back = unpack(pack(person, facts))[1]
    assert type(back.records[0].decision_date) is dt.date and back.lists[0].under_objection
    empty = CheckFacts(known=True, known_since=dt.date(2026, 1, 2))
    assert unpack(pack(person, empty)) == (person, empty)


def _driver_url(rt) -> str:
    return rt.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _lists_and_statuses(rt, person_id: int, record_id: int) -> None:
    """Facts of every kind for one person: list entries with and without their dates
    and record, yearly statuses where the later decision of a year counts."""
    from chengxin.archives.models import AnnualStatus
    from chengxin.sanctions.models import ListEntry

    now = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    common = {"person_id": person_id, "department_code": EDU, "decision_document": "文书",
              "proposed_by": "测试", "source": "test", "created_at": now, "updated_at": now}
    with rt.uow() as s:
        s.add_all([
            ListEntry(list_type="black", list_name="严重失信主体名单", record_id=record_id,
                      basis="依据 \"引号\"", listed_on=dt.date(2025, 1, 1),
                      effective_from=dt.date(2025, 1, 2), status="active", **common),
            ListEntry(list_type="red", list_name="守信激励名单", basis="", status="ended",
                      listed_on=dt.date(2021, 1, 1), effective_until=dt.date(2022, 1, 1),
                      ended_on=dt.date(2022, 1, 1), **common)])
        for year, status, at in ((2024, "warning", now),
                                 (2025, "trustworthy", now - dt.timedelta(days=1)),
                                 (2025, "serious_dishonesty", now)):
            s.add(AnnualStatus(person_id=person_id, year=year, status=status,
                               department_code=EDU, basis="年度", evidence_ids=[],
                               decided_at=at, decided_by="测试"))


def test_pipelined_reads_give_what_the_reads_give(client, users, rt):
    """PostgreSQL's read batches send the five reads as one statement on an asynchronous
    connection, the fact reads keyed by blind index through a join to persons, their rows
    as JSON (read_async): the same persons and facts as persons_by_hash + facts_for, with
    every kind of fact and missing dates, for known and unknown numbers alike, and no
    transaction left open after."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("pipeline mode is PostgreSQL's")
    for n in (21, 22, 23):
        r = client.post("/api/v1/records", headers=users.api_key(EDU),
                        json=[teacher_penalty(n)] * (n - 20))
        assert r.status_code < 300, r.text
    digests = [rt.blind.digest(pid(n), domain=ID_DOMAIN) for n in (21, 22, 23, 24)]
    with rt.uow() as s:
        first = persons_by_hash(s, digests[:1])[digests[0]]
        record_id = s.scalar(select(CreditRecord.id).where(CreditRecord.person_id == first.id))
    _lists_and_statuses(rt, first.id, record_id)
    with rt.uow() as s:
        persons = persons_by_hash(s, digests)
        facts = facts_for(s, list(persons.values()))
    assert len(persons) == 3 and sum(len(f.records) for f in facts.values()) >= 3
    mine = facts[first.id]
    assert [e.list_type for e in mine.lists] == ["black", "red"]
    assert mine.lists[1].effective_from is None and mine.lists[1].ended_on is not None
    assert mine.annual == {2024: "warning", 2025: "serious_dishonesty"}  # the later one

    async def read():
        async with await psycopg.AsyncConnection.connect(_driver_url(rt),
                                                         autocommit=True) as conn:
            await conn.execute("SET TIME ZONE 'Pacific/Kiritimati'")  # UTC+14
            got = await read_async(conn, digests + digests[:1])  # a repeat is read once
            return got, conn.info.transaction_status

    got, status = asyncio.run(read())
    assert got == (persons, facts)
    assert status == psycopg.pq.TransactionStatus.IDLE


def test_the_read_batches_keep_one_plan_and_the_same_answers(client, users, rt):
    """PostgreSQL: the check's read connection (fastpath._LoopConnection with its setup)
    keeps one plan for the reads once psycopg has prepared them, instead of PostgreSQL planning
    each run again; the answers stay those of persons_by_hash + facts_for on every run,
    before and after the plan is kept, for a batch of one key and of several."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("prepared statements and plan caching are PostgreSQL's")
    from chengxin.sanctions import fastpath

    for n in (31, 32):
        r = client.post("/api/v1/records", headers=users.api_key(EDU), json=[teacher_penalty(n)])
        assert r.status_code < 300, r.text
    digests = [rt.blind.digest(pid(n), domain=ID_DOMAIN) for n in (31, 32, 33)]
    with rt.uow() as s:
        persons = persons_by_hash(s, digests)
        facts = facts_for(s, list(persons.values()))
    assert len(persons) == 2
    engine = fastpath.engine_of(rt)
    assert fastpath._GENERIC_PLANS in engine._read_conn.setup

    async def read():
        held = fastpath._LoopConnection(_driver_url(rt), engine._read_conn.setup)
        try:
            conn = await held.get()
            answers = [await read_async(conn, digests[:1] if i % 2 else digests)
                       for i in range(8)]
            mode = (await (await conn.execute("SHOW plan_cache_mode")).fetchone())[0]
            plans = await (await conn.execute(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%id_hash = ANY%'")).fetchall()
            return answers, mode, plans
        finally:
            held.close()

    answers, mode, plans = asyncio.run(read())
    one = digests[0]
    for i, got in enumerate(answers):
        if i % 2:
            assert got == ({one: persons[one]}, {persons[one].id: facts[persons[one].id]})
        else:
            assert got == (persons, facts)
    assert mode == "force_generic_plan"
    assert len(plans) == 1  # the five reads' one statement, prepared on its fifth run
    assert all(generic >= 1 and custom == 0 for generic, custom in plans), plans
