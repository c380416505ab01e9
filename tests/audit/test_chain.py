from __future__ import annotations

import pytest
from sqlalchemy import text

from chengxin.accounts.principal import cli_principal
from chengxin.audit.service import record
from chengxin.audit.verify import verify_chain
from tests.conftest import BACKEND, audit_rows


def _write(rt, n):
    for i in range(n):
        with rt.uow() as s:
            record(s, cli_principal(), "test.event", object_type="thing", object_id=i,
                   details={"i": i, "masked": "4105**********123X"})


def _tamper(rt, sql):
    """What an attacker with database rights could do: bypass the append-only trigger."""
    with rt.engine.begin() as conn:
        if BACKEND == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(sql))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
            conn.execute(text(sql))


def _verify(rt):
    with rt.uow() as s:
        return verify_chain(s)


def test_chain_verifies_and_links(rt):
    _write(rt, 5)
    rows = audit_rows(rt)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    result = _verify(rt)
    assert result.ok and result.entries == len(rows)


@pytest.mark.parametrize(("sql", "problem"), [
    ("UPDATE audit_log SET action = 'forged' WHERE seq = 3", "altered"),
    ("UPDATE audit_log SET details = '{\"i\": 99}' WHERE seq = 4", "altered"),
    ("DELETE FROM audit_log WHERE seq = 3", "missing"),
])
def test_alteration_and_removal_detected(rt, sql, problem):
    _write(rt, 6)
    _tamper(rt, sql)
    result = _verify(rt)
    assert not result.ok
    assert problem in result.problem
    assert result.first_bad_seq in (3, 4)


def test_reordering_detected(rt):
    _write(rt, 6)
    # Swap the content of two entries (keeping their seq): links no longer match.
    _tamper(rt, "UPDATE audit_log SET seq = 1000 WHERE seq = 3")
    _tamper(rt, "UPDATE audit_log SET seq = 3 WHERE seq = 4")
    _tamper(rt, "UPDATE audit_log SET seq = 4 WHERE seq = 1000")
    result = _verify(rt)
    assert not result.ok and result.first_bad_seq == 3


def test_rolled_back_change_leaves_no_entry(rt):
    before = len(audit_rows(rt))
    with pytest.raises(RuntimeError), rt.uow() as s:
        record(s, cli_principal(), "test.never")
        raise RuntimeError("boom")
    assert len(audit_rows(rt)) == before
    assert audit_rows(rt, "test.never") == []


def test_cli_verify_exits_nonzero_when_broken(rt, settings, monkeypatch):
    from typer.testing import CliRunner

    from chengxin.cli import app

    _write(rt, 3)
    monkeypatch.setenv("CHENGXIN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CHENGXIN_KEY_FILE", str(settings.key_file))
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "校验通过" in ok.output
    _tamper(rt, "UPDATE audit_log SET outcome = 'denied' WHERE seq = 2")
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "2" in broken.output


def test_auditor_reads_log_and_reading_is_audited(client, users):
    users.add("aud", "auditor")
    users.add("adm", "admin")
    h = users.headers("aud")
    r = client.get("/api/v1/audit", headers=h)
    assert r.status_code == 200
    actions = [e["action"] for e in r.json()["entries"]]
    assert "user.create" in actions and "auth.login" in actions
    assert client.get("/api/v1/audit/verify", headers=h).json()["ok"] is True
    # Admin is not the auditor (separation of duties), and the refusal is itself audited.
    denied = client.get("/api/v1/audit", headers=users.headers("adm"))
    assert denied.status_code == 403
    assert any(e.details.get("path") == "/api/v1/audit" for e in audit_rows(users.rt, "access.denied"))
    assert audit_rows(users.rt, "audit.read")


def test_no_interface_writes_or_deletes_audit_entries(client, users):
    users.add("aud2", "auditor")
    h = users.headers("aud2")
    for method in ("post", "put", "patch", "delete"):
        r = getattr(client, method)("/api/v1/audit", headers=h)
        assert r.status_code == 405, method
        assert r.json()["error"]["code"] == "method_not_allowed"
    assert client.delete("/api/v1/audit/1", headers=h).status_code in (404, 405)


def test_entries_hold_no_personal_data_in_clear(client, users, rt):
    users.add("adm3", "admin")
    r = client.post("/api/v1/users", headers=users.headers("adm3"), json={
        "login": "wangwu", "password": "Test-Passw0rd!", "role": "individual",
        "id_number": "360426199101010071", "name": "王五"})
    assert r.status_code == 201
    for entry in audit_rows(rt):
        blob = repr(entry.details) + (entry.object_id or "") + (entry.purpose or "")
        assert "360426199101010071" not in blob and "王五" not in blob
