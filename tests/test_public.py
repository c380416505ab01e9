"""The public portal's data: only what may be public, masked, scrubbed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from chengxin.records.models import CreditRecord
from tests.records.factories import EDU, SCJG, enterprise_penalty, pid, teacher_penalty


def _black(n, born=dt.date(1985, 6, 1), **kw):
    row = {"subject_type": "person", "subject_name": "赵黑名", "id_number": pid(n, born),
           "item_code": "BLK-001", "document_no": f"安县信认〔2026〕{n}号",
           "decision_date": "2026-06-01",
           "content": f"拒不履行，联系电话 13812345678，身份证 {pid(n, born)}",
           "legal_basis": "依据", "attributes": {
               "dishonest_conduct": "拒不履行", "listing_authority": "县教育局",
               "listing_basis": "认定书", "listed_on": "2026-06-01"}}
    row.update(kw)
    return row


def test_disclosures_masked_scrubbed_and_filtered(client, users, rt, frozen_clock):
    edu, scjg = users.api_key(EDU), users.api_key(SCJG)
    client.post("/api/v1/records", headers=edu, json=[
        _black(1), _black(2, born=dt.date(2013, 1, 1)),  # a child: never public
        _black(3, document_no="安县信认〔2026〕已修复"),
        teacher_penalty(4, item_code="PEN-003")])          # authorized only
    client.post("/api/v1/records", headers=scjg, json=[enterprise_penalty(5, rep=6)])
    with rt.uow() as s:
        s.execute(update(CreditRecord).where(CreditRecord.document_no == "安县信认〔2026〕已修复")
                  .values(status="repaired"))
    r = client.get("/api/v1/public/disclosures")
    assert r.status_code == 200
    items = r.json()["items"]
    people = [i for i in items if i["subject"]["type"] == "person"]
    orgs = [i for i in items if i["subject"]["type"] == "organization"]
    assert [p["subject"]["id_number_masked"] for p in people] == [pid(1)[:4] + "*" * 10 + pid(1)[-4:]]
    assert people[0]["subject"]["name_masked"] == "赵**"
    assert "13812345678" not in r.text and pid(1) not in r.text and pid(2)[:10] not in r.text
    assert "138****5678" in people[0]["content"]
    assert len(orgs) == 1 and orgs[0]["subject"]["name"].startswith("安阳县某食品有限公司")
    # The legal representative's derived record is not public information about them.
    assert not any(pid(6)[-4:] in i["subject"].get("id_number_masked", "") for i in people)
    # Past the display period: gone at once, even though `expire` never ran.
    frozen_clock.set(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert client.get("/api/v1/public/disclosures").json()["items"] == []


def test_search_and_bad_query(client, users, frozen_clock):
    client.post("/api/v1/records", headers=users.api_key(EDU), json=[_black(1)])
    assert len(client.get("/api/v1/public/disclosures", params={"q": "赵黑名"}).json()["items"]) == 1
    assert client.get("/api/v1/public/disclosures", params={"q": "无此人"}).json()["items"] == []
    bad = client.get("/api/v1/public/disclosures", params={"limit": 0})
    assert bad.status_code == 422
    honors = client.get("/api/v1/public/honors").json()
    assert honors["items"] == []
