"""A person with an account and records about them, for the rights flows."""

from __future__ import annotations

from tests.records.factories import EDU, pid, teacher_penalty

PERSON = 41
NAME = "张四"  # teacher_penalty(41) names 张 + "三四五六七八九十"[41 % 8]


def person_with_records(client, users, rows=None):
    key = users.api_key(EDU)
    rows = rows or [teacher_penalty(PERSON)]
    r = client.post("/api/v1/records", headers=key, json=rows)
    assert r.status_code == 200, r.text
    ids = [x["record_id"] for x in r.json()["results"]]
    users.add("person41", "individual", id_number=pid(PERSON), name=rows[0]["subject_name"])
    return users.headers("person41"), key, ids
