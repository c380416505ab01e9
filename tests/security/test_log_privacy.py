"""No ID number or phone number in the logs (engineering.md: "Never log an ID number, a
phone number or a token").

A representative flow runs with every logger at DEBUG — collection with identifiers in
the content, a rejected row echoing fields, the check, a report, an objection, failed
sign-ins with an ID number typed as the login, an unhandled-error path — and the
captured text is searched for every identifier used. SQL parameters would be logged only
with SQLAlchemy's echo, which the platform never turns on: asserted too.
"""

from __future__ import annotations

import logging

from tests.conftest import PASSWORD
from tests.records.factories import EDU, pid, teacher_penalty

PERSON = 43
PHONE = "13912345678"
PHONE_SPACED = "139 1234 5678"
OTHER_ID = pid(77)
LOGGERS = ["", "chengxin", "uvicorn", "uvicorn.error", "uvicorn.access", "fastapi",
           "starlette", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "alembic",
           "httpx", "python_multipart", "hypothesis"]


def test_no_identifiers_in_logs(client, rt, users, frozen_clock, caplog):
    assert not rt.engine.echo and not rt.engine.pool.echo  # never echo SQL
    # ... and a logging config that turns sqlalchemy.engine up must not print parameters
    assert rt.engine.hide_parameters, "db.make_engine must pass hide_parameters=True"
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    id_number = pid(PERSON)
    key = users.api_key(EDU)

    # collection: identifiers in the structured fields and in the free text
    row = teacher_penalty(PERSON, content=f"当事人身份证 {id_number}，电话 {PHONE_SPACED}，有偿补课")
    bad = teacher_penalty(PERSON + 1, id_number=OTHER_ID[:-1] + "0",  # wrong check digit
                          subject_type="person", decision_date="2026-02-30",
                          document_no=f"文书 {PHONE}", legal_basis=None)
    r = client.post("/api/v1/records", headers=key, json=[row, bad])
    assert r.status_code == 200, r.text
    record_id = r.json()["results"][0]["record_id"]
    assert r.json()["results"][1]["status"] == "rejected"

    # the check, with a known and an unknown person
    for n in (id_number, OTHER_ID):
        assert client.post("/api/v1/check", headers=key,
                           json={"id_number": n, "scenario": "licensing"}).status_code == 200

    # the person: account, own report, objection; a third party's report with consent
    users.add("person43", "individual", id_number=id_number, name=row["subject_name"])
    me = users.headers("person43")
    assert client.get("/api/v1/me/report", headers=me).status_code == 200
    r = client.post("/api/v1/me/objections", headers=me,
                    json={"record_id": record_id, "reason": f"我的电话是 {PHONE}，号码 {id_number} 有误"})
    assert r.status_code in (200, 201), r.text
    grant = client.post("/api/v1/me/authorizations", headers=me, json={
        "grantee": "某银行", "purpose": "入职审查", "scope": "report", "valid_days": 7})
    users.add("bank", "third_party", organization="某银行")
    rep = client.post("/api/v1/reports", headers=users.headers("bank"), json={
        "id_number": id_number, "authorization_code": grant.json()["code"], "purpose": "入职审查"})
    assert rep.status_code == 200, rep.text
    client.post("/api/v1/reports", headers=users.headers("bank"), json={
        "id_number": OTHER_ID, "authorization_code": "WRONGCODE1", "purpose": "入职审查"})

    # failed sign-ins: an ID number or a phone typed as the login, and on the login page
    for login in (id_number, PHONE, OTHER_ID):
        assert client.post("/api/v1/auth/token",
                           json={"login": login, "password": "Wrong-Passw0rd!"}).status_code == 401
    client.post("/login", data={"login": id_number, "password": "x"})
    # validation errors that echo input
    client.post("/api/v1/users", headers=users.headers("person43"),
                json={"login": id_number, "password": PASSWORD, "role": "individual"})
    client.post("/api/v1/check", headers=key, json={"id_number": id_number + "9", "scenario": 1})
    client.get(f"/api/v1/persons/{id_number}/archive", headers=key)
    client.get("/api/v1/public/disclosures", params={"q": id_number})

    # httpx is the test client (its "HTTP Request: GET <url>" line is ours, not the
    # platform's); the server's own access log is uvicorn.access, not run in-process.
    records = [r for r in caplog.records if not r.name.startswith("httpx")]
    text = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.args!r} {r.exc_text or ''}"
                     for r in records)
    assert caplog.records, "nothing was logged at all: is capture working?"
    leaks = [v for v in (id_number, OTHER_ID, PHONE, PHONE_SPACED, id_number[6:14] + id_number[14:])
             if v in text]
    assert not leaks, [r.name + ": " + r.getMessage()[:200] for r in records
                       if any(v in r.getMessage() or v in repr(r.args) for v in leaks)]
