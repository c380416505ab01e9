"""Pulling with a fake transport: verify, apply in order, idempotent, refuse tampering."""

from __future__ import annotations

import base64
import copy

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select

from chengxin.exchange.models import ExchangeSource
from chengxin.exchange.pull import KeyChanged, TamperedPage, pull
from chengxin.exchange.signing import encode_cursor, sign_page
from chengxin.records.models import CreditRecord, RecordVersion
from tests.conftest import audit_rows
from tests.records.factories import EDU, PENALTY_ATTRS, pid

SENDER = "410522-xyb"


def version_item(seq: int, n: int, content: str = "有偿补课，经查属实", version: int = 1) -> dict:
    return {"seq": seq, "kind": "record_version", "at": "2026-11-23T02:00:00.000000+00:00",
            "department_code": EDU,
            "record": {"platform_id": SENDER, "department_code": EDU,
                       "document_no": f"安县教罚〔2026〕{n}号", "derived_from": None},
            "item_code": "PEN-002", "source_item_code": "PEN-002", "version": version,
            "subject": {"type": "person", "name": "张三", "id_number": pid(n)},
            "payload": {"decision_date": "2026-03-01", "content": content,
                        "legal_basis": "《中小学教师违反职业道德行为处理办法》第四条",
                        "group_code": "teacher", "valid_until": None,
                        "attributes": dict(PENALTY_ATTRS), "responsible_persons": []}}


def state_item(seq: int, n: int, status: str) -> dict:
    return {"seq": seq, "kind": "record_state", "at": "2026-11-23T02:00:00.000000+00:00",
            "department_code": EDU,
            "record": {"platform_id": SENDER, "department_code": EDU,
                       "document_no": f"安县教罚〔2026〕{n}号", "derived_from": None},
            "status": status, "reason": "信用修复", "since": "2026-11-23T02:00:00.000000+00:00"}


class FakePlatform:
    """Serves pages of a fixed item list, signed; `tamper` alters a page after signing."""

    def __init__(self, items: list[dict], page_size: int = 3) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.items = items
        self.page_size = page_size
        self.tamper_seq: int | None = None
        self.requests = 0

    def public(self) -> str:
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.urlsafe_b64encode(raw).decode()

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if request.url.path.endswith("/public-key"):
            return httpx.Response(200, json={"platform_id": SENDER, "key_id": "s1",
                                             "public_key": self.public(), "algorithm": "Ed25519"})
        assert request.headers["authorization"] == "Bearer cx_test"
        after = request.url.params.get("after")
        seq = 0 if not after else int(base64.urlsafe_b64decode(after + "==").decode()[3:])
        rest = [i for i in self.items if i["seq"] > seq]
        chunk = rest[:self.page_size]
        page = {"after": after, "items": copy.deepcopy(chunk),
                "next_cursor": encode_cursor(chunk[-1]["seq"] if chunk else seq),
                "has_more": len(rest) > self.page_size, "platform": {"id": SENDER, "key_id": "s1"},
                "receiver": "410500-xyb", "generated_at": "2026-11-23T02:00:00+00:00"}
        page["signature"] = sign_page(self.key, page)
        if self.tamper_seq is not None and any(i["seq"] == self.tamper_seq for i in chunk):
            for i in page["items"]:
                if i["seq"] == self.tamper_seq:
                    i["subject"]["name"] = "李四"  # altered in transit
        return httpx.Response(200, content=orjson.dumps(page),
                              headers={"content-type": "application/json"})

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))


def _count(rt) -> int:
    with rt.uow() as s:
        return s.scalar(select(func.count()).select_from(CreditRecord)
                        .where(CreditRecord.source == f"exchange:{SENDER}"))


def _cursor(rt) -> str | None:
    with rt.uow() as s:
        return s.scalar(select(ExchangeSource.last_cursor))


def test_pull_applies_in_order_and_is_idempotent(rt):
    items = [version_item(i, i) for i in range(1, 6)] + [
        version_item(7, 1, content="更正后的事实", version=2), state_item(8, 2, "repaired")]
    fake = FakePlatform(items)
    res = pull(rt, "http://county.test/", "cx_test", http=fake.client())
    assert res.pages == 3 and res.items == 7 and res.totals.applied == 7
    assert _count(rt) == 5
    with rt.uow() as s:
        recs = {r.document_no: r for r in s.scalars(select(CreditRecord))}
        r1 = recs["安县教罚〔2026〕1号"]
        assert r1.version == 2 and r1.department_code == EDU
        v2 = s.scalar(select(RecordVersion).where(RecordVersion.record_id == r1.id,
                                                  RecordVersion.version == 2))
        assert v2.payload["content"] == "更正后的事实" and v2.source == f"exchange:{SENDER}"
        assert recs["安县教罚〔2026〕2号"].status == "repaired"
    assert _cursor(rt) == encode_cursor(8)
    assert len(audit_rows(rt, "exchange.pull")) == 3

    # Nothing new: one empty page, nothing changes.
    res = pull(rt, "http://county.test", "cx_test", http=fake.client())
    assert res.items == 0 and _count(rt) == 5
    # A page applied again from scratch (cursor lost): unchanged, no new versions.
    with rt.uow() as s:
        s.scalar(select(ExchangeSource)).last_cursor = encode_cursor(6)
    res = pull(rt, "http://county.test", "cx_test", http=fake.client())
    assert res.totals.unchanged == 2 and res.totals.applied == 0
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(RecordVersion)) == 6


def test_tampered_page_is_refused_nothing_applied(rt):
    fake = FakePlatform([version_item(i, i) for i in range(1, 8)])
    fake.tamper_seq = 5  # the second page
    with pytest.raises(TamperedPage, match="签名校验失败"):
        pull(rt, "http://county.test", "cx_test", http=fake.client())
    # the first page was good and stays applied; nothing of the tampered one
    assert _count(rt) == 3 and _cursor(rt) == encode_cursor(3)
    fake.tamper_seq = None
    pull(rt, "http://county.test", "cx_test", http=fake.client())
    assert _count(rt) == 7


def test_replayed_page_is_refused(rt):
    fake = FakePlatform([version_item(i, i) for i in range(1, 3)])
    pull(rt, "http://county.test", "cx_test", http=fake.client())
    replay = fake.handler  # serve the first page again whatever the cursor

    def old_page(request: httpx.Request) -> httpx.Response:
        if "after" in str(request.url):
            request = httpx.Request("GET", "http://county.test/api/v1/exchange/changes",
                                    headers=request.headers)
        return replay(request)

    with pytest.raises(TamperedPage, match="重放"):
        pull(rt, "http://county.test", "cx_test",
             http=httpx.Client(transport=httpx.MockTransport(old_page)))


def test_changed_key_is_refused_unless_trusted(rt):
    fake = FakePlatform([version_item(1, 1)])
    pull(rt, "http://county.test", "cx_test", http=fake.client())
    other = FakePlatform([version_item(1, 1), version_item(2, 2)])
    with pytest.raises(KeyChanged):
        pull(rt, "http://county.test", "cx_test", http=other.client())
    assert _count(rt) == 1
    pull(rt, "http://county.test", "cx_test", http=other.client(), trust_new_key=True)
    assert _count(rt) == 2
    assert audit_rows(rt, "exchange.source_key_changed")
