from __future__ import annotations

from sqlalchemy import select

from chengxin.accounts.models import ApiKey


def test_api_key_shown_once_stored_hashed_and_bound_to_department(client, users, rt):
    users.add("keyadmin", "admin")
    h = users.headers("keyadmin")
    r = client.post("/api/v1/apikeys", headers=h, json={"department": "410522-jyj", "name": "教育局系统"})
    assert r.status_code == 201
    key = r.json()["key"]
    assert key.startswith("cxk_")
    with rt.uow() as s:
        row = s.scalar(select(ApiKey))
        assert row.key_hash != key and key not in row.key_hash
    listed = client.get("/api/v1/apikeys", headers=h).json()
    assert listed[0]["key"] is None and listed[0]["department"] == "410522-jyj"
    # The key works as a department system's credential.
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"})
    # A system key is not a person: self.read is for users, so it is refused, not unknown.
    assert me.status_code == 403
    # Revoked: unknown from then on.
    assert client.delete(f"/api/v1/apikeys/{row.id}", headers=h).json()["revoked"] is True
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_api_key_for_unknown_department_refused(client, users):
    users.add("keyadmin2", "admin")
    r = client.post("/api/v1/apikeys", headers=users.headers("keyadmin2"),
                    json={"department": "nope"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_department"


def test_forged_key_with_real_prefix_refused(client, users):
    headers = users.api_key("410522-jyj")
    key = headers["Authorization"].split()[1]
    forged = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
