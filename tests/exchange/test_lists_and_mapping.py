"""List import (失信被执行人) and catalog mapping (目录对接)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from chengxin.exchange.api import mount
from chengxin.exchange.mapping import MappingError, load_mapping, parse_mapping
from chengxin.records.models import CreditRecord
from chengxin.sanctions.models import ListEntry
from tests.conftest import audit_rows
from tests.records.factories import EDU, pid


@pytest.fixture
def feed_client(client):
    mount(client.app)
    return client


def entry(n: int, **kw) -> dict:
    e = {"name": "赵六", "id_number": pid(n), "case_no": f"（2026）豫0522执{n}号",
         "court": "安阳县人民法院", "filing_date": "2026-01-05", "obligation": "支付货款10万元",
         "performance": "全部未履行", "dishonest_situation": "有履行能力而拒不履行生效法律文书确定义务",
         "enforcement_basis_unit": "安阳县人民法院", "enforcement_basis_no": "（2025）豫0522民初1号",
         "published_on": "2026-02-01", "status": "listed"}
    e.update(kw)
    return e


def body(entries):
    return {"list": "court_dishonest_debtors", "source": "最高人民法院失信被执行人名单", "entries": entries}


def test_list_import_resend_removal_and_minors(rt, feed_client, users):
    users.add("xyadm", "admin", department_code="410522-xyb")
    h = users.headers("xyadm")
    minor = pid(7, born=dt.date(2010, 3, 1))
    entries = [entry(1), entry(2), entry(3, id_number=minor)]
    r = feed_client.post("/api/v1/exchange/lists", json=body(entries), headers=h)
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["status"] for x in res] == ["created", "created", "rejected"]
    assert res[2]["errors"][0]["code"] == "minor" and res[2]["errors"][0]["row"] == 3
    with rt.uow() as s:
        recs = list(s.scalars(select(CreditRecord).where(CreditRecord.item_code == "BLK-002")))
        assert {r.document_no for r in recs} == {"（2026）豫0522执1号", "（2026）豫0522执2号"}
        assert all(r.department_code == "410522-fy" and r.source.startswith("list:") for r in recs)
        assert len(list(s.scalars(select(ListEntry)))) == 2
    # the same list again: nothing changes
    r = feed_client.post("/api/v1/exchange/lists", json=body(entries[:2]), headers=h)
    assert [x["status"] for x in r.json()["results"]] == ["unchanged", "unchanged"]
    # removal: the record is deleted, its list entry ended by decision
    r = feed_client.post("/api/v1/exchange/lists",
                         json=body([entry(1, status="removed"), entry(9, status="removed")]), headers=h)
    assert [x["status"] for x in r.json()["results"]] == ["updated", "unchanged"]
    with rt.uow() as s:
        rec = s.scalar(select(CreditRecord).where(CreditRecord.document_no == "（2026）豫0522执1号"))
        assert rec.status == "deleted"
        en = s.scalar(select(ListEntry).where(ListEntry.record_id == rec.id))
        assert en.status == "removed" and en.end_reason == "decision"
    r = feed_client.post("/api/v1/exchange/lists", json=body([entry(1, status="removed")]), headers=h)
    assert r.json()["results"][0]["status"] == "unchanged"
    assert len(audit_rows(rt, "exchange.list_import")) == 4


def test_list_import_errors_and_permissions(feed_client, users):
    assert feed_client.post("/api/v1/exchange/lists", json=body([entry(1)]),
                            headers=users.api_key(EDU)).status_code == 403
    h = users.api_key("410522-xyb")
    r = feed_client.post("/api/v1/exchange/lists", content=b"{not json", headers=h)
    assert r.status_code == 422
    r = feed_client.post("/api/v1/exchange/lists", json={"list": "x", "entries": []}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "list"
    r = feed_client.post("/api/v1/exchange/lists",
                         json=body([entry(1, id_number="123"), "x"]), headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "batch_rejected"
    r = feed_client.post("/api/v1/exchange/lists", json=body([entry(1, published_on="2026-13-01"),
                                                              entry(2)]), headers=h)
    assert r.status_code == 200 and r.json()["results"][0]["errors"][0]["field"] == "published_on"


def test_catalog_mapping_file_is_valid_and_used(rt):
    from chengxin.reference.models import CatalogItem

    with rt.uow() as s:
        known = set(s.scalars(select(CatalogItem.code)))
    m = load_mapping(rt.settings.reference_dir, known)
    assert m.map_code("PEN-002", "410000-xyb") == "HN-XZCF-ZRR-YB"
    assert m.map_code("PEN-002", "410500-xyb") == "PEN-002"  # no mapping: code kept
    with pytest.raises(MappingError, match="twice"):
        parse_mapping({"version": 1, "default": [{"local": "A", "upper": "X"},
                                                 {"local": "A", "upper": "Y"}]})
    with pytest.raises(MappingError, match="not in our catalog"):
        parse_mapping({"version": 1, "default": [{"local": "NOPE", "upper": "X"}]}, known)


def test_feed_maps_item_codes_for_the_province(rt, feed_client, users):
    from chengxin.accounts.principal import cli_principal
    from chengxin.records.ingest import ingest
    from tests.records.factories import teacher_penalty

    with rt.uow() as s:
        ingest(s, actor=cli_principal("t"), department_code=EDU, rows=[teacher_penalty(1)], source="api")
    page = feed_client.get("/api/v1/exchange/changes", headers=users.api_key("410000-xyb")).json()
    v = next(i for i in page["items"] if i["kind"] == "record_version")
    assert v["item_code"] == "HN-XZCF-ZRR-YB" and v["source_item_code"] == "PEN-002"
