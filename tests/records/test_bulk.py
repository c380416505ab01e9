"""The bulk writer behind ingestion (COPY on PostgreSQL, executemany on SQLite): the same
rows as the ORM would write, ids in row order, nothing left behind by a failed batch."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, insert, select, text

from chengxin import bulk, clock
from chengxin.accounts.principal import cli_principal
from chengxin.exchange.models import ChangeLog
from chengxin.records.ingest import ingest
from chengxin.records.models import (
    CreditRecord,
    GroupMembership,
    RecordState,
    RecordVersion,
)
from chengxin.rights.models import Notice
from chengxin.sanctions.models import ListEntry, ListEvent
from tests.records.factories import EDU, employment, pid, teacher_penalty

_COUNTED = (CreditRecord, RecordVersion, RecordState, ChangeLog, Notice, ListEntry, ListEvent,
            GroupMembership)


def _black(n: int) -> dict:
    return teacher_penalty(n, item_code="BLK-001", document_no=f"安县教黑〔2026〕{n}号",
                           group_code=None, attributes={
                               "dishonest_conduct": "拒不履行", "listing_authority": "县教育局",
                               "listing_basis": "认定文书", "listed_on": "2026-03-01"})


def _counts(rt) -> dict[str, int]:
    with rt.uow() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in _COUNTED}


def test_ids_follow_row_order_and_values_read_back_as_the_orm_wrote_them(rt):
    now = clock.now()
    rows = [(i, 1, {"n": i, "名": "张三"}, f"{i:064x}", "created", "test", "tester", now)
            for i in range(3)]
    with rt.uow() as s:
        rid = ingest(s, actor=cli_principal("t"), department_code=EDU,
                     rows=[teacher_penalty(1)], source="api").results[0].record_id
        rows = [(rid, 10 + i, *r[2:]) for i, r in enumerate(rows)]
        ids = bulk.insert_rows(s, RecordVersion, ("record_id", "version", "payload",
                                                  "content_hash", "reason", "source", "actor",
                                                  "created_at"), rows)
        # The ORM's own insert of the same row, for comparison of what is stored.
        orm_id = s.scalar(insert(RecordVersion).returning(RecordVersion.id), {
            "record_id": rid, "version": 20, "payload": {"n": 0, "名": "张三"},
            "content_hash": f"{0:064x}", "reason": "created", "source": "test",
            "actor": "tester", "created_at": now})
    assert ids == sorted(ids) and len(set(ids)) == 3
    with rt.uow() as s:
        got = {v.id: v for v in s.scalars(select(RecordVersion).where(
            RecordVersion.id.in_([*ids, orm_id])))}
        for i, vid in enumerate(ids):
            assert (got[vid].version, got[vid].payload, got[vid].content_hash) == (
                10 + i, {"n": i, "名": "张三"}, f"{i:064x}")
            assert got[vid].created_at == now
        assert got[ids[0]].payload == got[orm_id].payload
        if rt.engine.dialect.name == "sqlite":  # the very same stored text as the ORM's
            raw = dict(s.execute(text(
                "SELECT id, created_at || '|' || payload FROM record_versions "
                "WHERE id IN (:a, :b)"), {"a": ids[0], "b": orm_id}).all())
            assert raw[ids[0]] == raw[orm_id]


def test_batch_writes_every_row_it_should(rt):
    rows = [teacher_penalty(1), employment(2), _black(3), teacher_penalty(4)]
    with rt.uow() as s:
        result = ingest(s, actor=cli_principal("t"), department_code=EDU, rows=rows,
                        source="api")
    assert [r.status for r in result.results] == ["created"] * 4
    ids = [r.record_id for r in result.results]
    with rt.uow() as s:
        recs = {r.id: r for r in s.scalars(select(CreditRecord).where(CreditRecord.id.in_(ids)))}
        assert [recs[i].document_no for i in ids] == [r["document_no"] for r in rows]
        versions = s.execute(select(RecordVersion.id, RecordVersion.record_id,
                                    RecordVersion.payload).where(
            RecordVersion.record_id.in_(ids)).order_by(RecordVersion.id)).all()
        assert [v.record_id for v in versions] == ids  # versions in row order
        assert [v.payload["document_no"] for v in versions] == [r["document_no"] for r in rows]
        states = s.scalars(select(RecordState.record_id).where(RecordState.record_id.in_(ids)))
        assert sorted(states) == sorted(ids)
        feed = s.execute(select(ChangeLog.kind, ChangeLog.ref_id).order_by(ChangeLog.seq)).all()
        assert [ref for kind, ref in feed if kind == "version"][-4:] == [v.id for v in versions]
        notices = s.execute(select(Notice.kind, Notice.object_id, Notice.deliveries)
                            .where(Notice.kind.in_(("negative_record",
                                                    "black_list_prior_notice")))).all()
        negative = {o for k, o, _ in notices if k == "negative_record"}
        assert negative >= {str(ids[0]), str(ids[2]), str(ids[3])}
        assert str(ids[1]) not in negative  # employment is not negative
        assert all(d == [{"channel": "inbox", "status": "sent"}] for _, _, d in notices)
        entry = s.scalars(select(ListEntry).where(ListEntry.record_id == ids[2])).one()
        assert (entry.list_type, entry.status) == ("black", "proposed")
        assert any(k == "black_list_prior_notice" and o == str(entry.id) for k, o, _ in notices)
        event = s.scalars(select(ListEvent).where(ListEvent.entry_id == entry.id)).one()
        assert ("list_event", event.id) in feed
        member = s.scalars(select(GroupMembership).where(GroupMembership.record_id == ids[1])).one()
        assert (member.employer, member.position, member.started_on) == (
            "安阳县第一中学", "语文教师", dt.date(2010, 9, 1))


def test_membership_update_keeps_facts_not_sent(rt):
    with rt.uow() as s:
        first = ingest(s, actor=cli_principal("t"), department_code=EDU,
                       rows=[employment(5)], source="api").results[0].record_id
    # A penalty of the same teacher names no employer: the known one stays.
    with rt.uow() as s:
        moved = employment(5, document_no="安县教从业〔2026〕新5号")
        moved["attributes"]["employer"] = "安阳县第二中学"
        result = ingest(s, actor=cli_principal("t"), department_code=EDU,
                        rows=[teacher_penalty(5), moved], source="api")
    assert [r.status for r in result.results] == ["created", "created"]
    with rt.uow() as s:  # a penalty alone for the known membership
        ingest(s, actor=cli_principal("t"), department_code=EDU,
               rows=[teacher_penalty(5, document_no="安县教罚〔2026〕新5号")], source="api")
    with rt.uow() as s:
        member = s.scalars(select(GroupMembership)).one()
        assert (member.employer, member.position, member.record_id) == (
            "安阳县第二中学", "语文教师", first)


def test_an_error_mid_batch_leaves_nothing_written(rt, monkeypatch):
    before = _counts(rt)

    def boom(*_a, **_kw):
        raise RuntimeError("list sync failed")

    monkeypatch.setattr("chengxin.sanctions.lists.sync_from_records", boom)
    with pytest.raises(RuntimeError), rt.uow() as s:
        ingest(s, actor=cli_principal("t"), department_code=EDU,
               rows=[teacher_penalty(n) for n in range(1, 30)] + [_black(40)], source="api")
    assert _counts(rt) == before
    monkeypatch.undo()
    # The ids that rollback gave back (SQLite) or skipped (PostgreSQL) do not get in the way.
    with rt.uow() as s:
        result = ingest(s, actor=cli_principal("t"), department_code=EDU,
                        rows=[teacher_penalty(1)], source="api")
    assert result.results[0].status == "created"


def test_where_in_covers_long_lists(rt):
    with rt.uow() as s:
        ingest(s, actor=cli_principal("t"), department_code=EDU,
               rows=[teacher_penalty(n) for n in range(1, 4)], source="api")
        docs = [f"安县教罚〔2026〕{n}号" for n in range(1, 2000)]
        found = [d for where in bulk.where_in(s, CreditRecord.document_no, docs)
                 for d in s.scalars(select(CreditRecord.document_no).where(where))]
    assert sorted(found) == sorted(docs[:3])
    assert pid(1)  # factories stay importable for the ids above
