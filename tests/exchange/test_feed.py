"""The signed change feed: who may pull, cursor, signature, what is shared."""

from __future__ import annotations

import base64

import orjson
import pytest
from sqlalchemy import select

from chengxin.accounts.principal import cli_principal
from chengxin.exchange.api import mount
from chengxin.exchange.signing import (
    SignatureError,
    canonical,
    decode_cursor,
    encode_cursor,
    verify_page,
)
from chengxin.records.ingest import ingest
from chengxin.records.models import CreditRecord
from chengxin.records.states import change_status
from tests.conftest import audit_rows
from tests.records.factories import EDU, SCJG, enterprise_penalty, pid, teacher_penalty


@pytest.fixture
def feed_client(client):
    mount(client.app)
    return client


def _submit(rt, dept, rows):
    with rt.uow() as s:
        return ingest(s, actor=cli_principal("t"), department_code=dept, rows=rows, source="api")


def test_cursor_round_trip_and_malformed():
    assert decode_cursor(encode_cursor(42)) == 42
    assert decode_cursor(None) == 0
    for bad in ("xyz", base64.urlsafe_b64encode(b"v2:3").decode(), "v1:3", "!!!"):
        with pytest.raises(ValueError):
            decode_cursor(bad)


def test_only_an_upper_platform_key_may_pull(feed_client, users):
    assert feed_client.get("/api/v1/exchange/changes").status_code == 401
    for dept in (EDU, "410522-xyb"):  # a department; our own (county) credit office
        r = feed_client.get("/api/v1/exchange/changes", headers=users.api_key(dept))
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "not_upper_platform"
    users.add("adm", "admin")
    assert feed_client.get("/api/v1/exchange/changes", headers=users.headers("adm")).status_code == 403
    assert feed_client.get("/api/v1/exchange/changes",
                           headers=users.api_key("410500-xyb")).status_code == 200


def test_bad_cursor_and_limit_are_422(feed_client, users):
    h = users.api_key("410500-xyb")
    r = feed_client.get("/api/v1/exchange/changes?after=bogus", headers=h)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "after"
    for limit in (0, 1001, "x"):
        r = feed_client.get(f"/api/v1/exchange/changes?limit={limit}", headers=h)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "limit"


def test_pages_in_order_signed_and_shareable_only(rt, feed_client, users):
    _submit(rt, EDU, [teacher_penalty(i) for i in range(1, 6)])
    # internal item (PEN-001, 简易程序): never shared upward
    _submit(rt, EDU, [teacher_penalty(9, item_code="PEN-001", document_no="简易-1")])
    _submit(rt, SCJG, [enterprise_penalty(1, rep=50)])
    h = users.api_key("410500-xyb")
    key = feed_client.get("/api/v1/exchange/public-key").json()
    assert key["algorithm"] == "Ed25519" and key["platform_id"] == "410522-xyb"

    items, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/exchange/changes?limit=2" + (f"&after={cursor}" if cursor else "")
        page = feed_client.get(url, headers=h).json()
        verify_page(key["public_key"], page)
        assert page["platform"] == {"id": "410522-xyb", "key_id": key["key_id"]}
        items += page["items"]
        cursor, pages = page["next_cursor"], pages + 1
        if not page["has_more"]:
            break
    assert pages >= 4
    seqs = [i["seq"] for i in items]
    assert seqs == sorted(seqs)
    versions = [i for i in items if i["kind"] == "record_version"]
    docs = {i["record"]["document_no"] for i in versions}
    assert "简易-1" not in docs
    assert {f"安县教罚〔2026〕{i}号" for i in range(1, 6)} <= docs
    v = next(i for i in versions if i["record"]["document_no"] == "安县教罚〔2026〕1号")
    assert v["subject"] == {"type": "person", "name": teacher_penalty(1)["subject_name"],
                            "id_number": pid(1)}
    assert v["item_code"] == "PEN-002" and v["version"] == 1
    assert v["record"]["platform_id"] == "410522-xyb" and v["record"]["derived_from"] is None
    org = next(i for i in versions if i["subject"]["type"] == "organization")
    assert org["payload"]["responsible_persons"][0]["id_number"] == pid(50)
    derived = [i for i in versions if i["record"]["derived_from"]]
    assert derived and derived[0]["subject"]["id_number"] == pid(50)
    # the last page at the end of the feed: empty, same cursor
    page = feed_client.get(f"/api/v1/exchange/changes?after={cursor}", headers=h).json()
    assert page["items"] == [] and page["next_cursor"] == cursor and not page["has_more"]
    reads = audit_rows(rt, "exchange.feed_read")
    assert len(reads) == pages + 1 and reads[0].details["items"] == 2


def test_tampered_page_fails_verification(rt, feed_client, users):
    _submit(rt, EDU, [teacher_penalty(1)])
    page = feed_client.get("/api/v1/exchange/changes", headers=users.api_key("410500-xyb")).json()
    pk = feed_client.get("/api/v1/exchange/public-key").json()["public_key"]
    verify_page(pk, orjson.loads(orjson.dumps(page)))
    page["items"][0]["payload"]["content"] = "改过的内容"
    with pytest.raises(SignatureError):
        verify_page(pk, page)
    assert b'"signature"' not in canonical(page)


def test_repaired_record_content_is_withheld_state_sent(rt, feed_client, users):
    _submit(rt, EDU, [teacher_penalty(1), teacher_penalty(2)])
    with rt.uow() as s:
        rid = s.scalar(select(CreditRecord.id).where(CreditRecord.document_no == "安县教罚〔2026〕2号"))
        change_status(s, [rid], "repaired", reason="信用修复", actor="t")
    page = feed_client.get("/api/v1/exchange/changes", headers=users.api_key("410500-xyb")).json()
    docs_v = [i["record"]["document_no"] for i in page["items"] if i["kind"] == "record_version"]
    assert docs_v == ["安县教罚〔2026〕1号"]
    states = [i for i in page["items"] if i["kind"] == "record_state"]
    assert [(s["record"]["document_no"], s["status"]) for s in states] == [
        ("安县教罚〔2026〕2号", "repaired")]
