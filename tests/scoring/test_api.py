"""Score routes: own score for the individual, audited staff reads, admin recomputation."""

from __future__ import annotations

import pytest

from chengxin.scoring.api import router as scoring_router
from tests.conftest import audit_rows
from tests.records.factories import EDU, pid, teacher_penalty


@pytest.fixture
def app(rt):  # type: ignore[no-untyped-def]
    from chengxin.app import create_app

    app = create_app(runtime=rt)
    if not any(getattr(r, "path", None) == "/api/v1/me/score" for r in app.routes):
        app.include_router(scoring_router)
    return app


def _post(client, users, rows):
    r = client.post("/api/v1/records", headers=users.api_key(EDU), json=rows)
    assert r.status_code == 200, r.text
    return [x["record_id"] for x in r.json()["results"]]


def test_individual_sees_own_explained_score_only(client, users, rt, frozen_clock):
    row1, row2 = teacher_penalty(1), teacher_penalty(2)
    [rid1, _] = _post(client, users, [row1, row2])
    users.add("person1", "individual", id_number=pid(1), name=row1["subject_name"])
    users.add("admin1", "admin")
    r = client.post("/api/v1/scores/recompute", headers=users.headers("admin1"))
    assert r.status_code == 200, r.text
    assert r.json()["persons"] >= 2 and r.json()["by_rule"]["GENERAL"] == 2

    r = client.get("/api/v1/me/score", headers=users.headers("person1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["score"] == 950.0 and body["grade"] == "A" and body["grade_label"] == "较好"
    assert [i["record_id"] for i in body["items"]] == [rid1]
    assert body["items"][0]["rule_code"] == "GENERAL"
    assert body["decides_alone"] is False and "个人信息保护法" in body["notice"]
    assert pid(1) not in r.text and pid(2) not in r.text
    [entry] = audit_rows(rt, "score.read")
    assert entry.details["self"] is True and entry.subject_person_id is not None

    # The individual can neither read another person's score nor recompute.
    h = users.headers("person1")
    assert client.get(f"/api/v1/persons/{pid(2)}/score", headers=h).status_code == 403
    assert client.post("/api/v1/scores/recompute", headers=h).status_code == 403


def test_staff_read_is_audited_and_id_number_checked(client, users, rt, frozen_clock):
    [rid] = _post(client, users, [teacher_penalty(3)])
    users.add("rev1", "reviewer")
    h = users.headers("rev1")
    # Not computed yet: computed on first read, from the same rules.
    r = client.get(f"/api/v1/persons/{pid(3).lower()}/score", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["score"] == 950.0 and body["items"][0]["record_id"] == rid
    [entry] = audit_rows(rt, "score.read")
    assert entry.subject_person_id == body["person_id"] and entry.details["self"] is False
    assert pid(3) not in str(entry.details)

    bad = pid(3)[:-1] + ("0" if pid(3)[-1] != "0" else "1")
    r = client.get(f"/api/v1/persons/{bad}/score", headers=h)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "id_number"
    assert bad not in r.text
    r = client.get(f"/api/v1/persons/{pid(9)}/score", headers=h)
    assert r.status_code == 404
    # Only the admin recomputes (reference.reload): a reviewer may read, not recompute.
    assert client.post("/api/v1/scores/recompute", headers=h).status_code == 403


def test_me_score_needs_an_individual(client, users):
    users.add("admin2", "admin")
    r = client.get("/api/v1/me/score", headers=users.headers("admin2"))
    assert r.status_code == 403
    assert client.get("/api/v1/me/score").status_code == 401
