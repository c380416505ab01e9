"""Signed checkpoints catch what the plain chain check cannot; export re-verifies."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, text

from chengxin.accounts.principal import cli_principal
from chengxin.audit.checkpoint_models import AuditCheckpoint
from chengxin.audit.models import AuditEntry
from chengxin.audit.service import _HASHED_FIELDS, GENESIS, chain_hash, record
from chengxin.audit.verify import verify_chain
from chengxin.keys import public_key_b64, signer
from chengxin.ops.checkpoints import (
    create_checkpoint,
    export_audit,
    verify_export,
    verify_with_checkpoints,
)
from tests.conftest import BACKEND, audit_rows


def _write(rt, n, start=0):
    for i in range(start, start + n):
        with rt.uow() as s:
            record(s, cli_principal(), "test.event", object_type="thing", object_id=i,
                   details={"i": i})


def _checkpoint(rt):
    with rt.uow() as s:
        return create_checkpoint(s, signer(rt.keys), rt.keys.signing_key_id)


def _verify(rt, key=None):
    with rt.uow() as s:
        return verify_with_checkpoints(s, key or public_key_b64(rt.keys))


def _tamper(rt, fn):
    """Bypass the append-only triggers, as someone with database rights could."""
    with rt.engine.begin() as conn:
        if BACKEND == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        fn(conn)


def test_checkpoint_signs_head_and_verifies(rt):
    _write(rt, 5)
    res = _checkpoint(rt)
    head = audit_rows(rt)[-1]
    assert res.created and (res.seq, res.head_hash) == (head.seq, head.hash)
    again = _checkpoint(rt)  # nothing new: cron may run it as often as it likes
    assert not again.created
    _write(rt, 3, 5)
    assert _checkpoint(rt).created
    v = _verify(rt)
    assert v.ok and v.checkpoints == 2 and v.entries == len(audit_rows(rt))
    # Another key does not verify these signatures.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    other = Ed25519PrivateKey.generate().public_key()
    bad = _verify(rt, other)
    assert not bad.ok and "signature" in bad.problem
    assert _verify(rt, {rt.keys.signing_key_id: public_key_b64(rt.keys)}).ok


def test_whole_chain_rewrite_passes_plain_check_but_not_checkpoints(rt):
    _write(rt, 6)
    assert _checkpoint(rt).created

    def rewrite(conn):
        rows = conn.execute(select(AuditEntry.__table__).order_by(AuditEntry.seq)).all()
        prev = GENESIS
        for row in rows:
            entry = {f: getattr(row, f) for f in _HASHED_FIELDS}
            if entry["action"] == "test.event" and entry["details"].get("i") == 2:
                entry["action"] = "test.forged"
            if BACKEND == "sqlite":
                import datetime as dt
                entry["at"] = entry["at"].replace(tzinfo=dt.UTC)
            new = chain_hash(prev, entry)
            conn.execute(text("UPDATE audit_log SET action = :a, prev_hash = :p, hash = :h "
                              "WHERE seq = :s"),
                         {"a": entry["action"], "p": prev, "h": new, "s": row.seq})
            prev = new

    _tamper(rt, rewrite)
    with rt.uow() as s:
        assert verify_chain(s).ok  # internally consistent again
    v = _verify(rt)
    assert not v.ok and "rewritten" in v.problem


def test_truncated_tail_detected(rt):
    _write(rt, 6)
    assert _checkpoint(rt).created
    last = audit_rows(rt)[-1].seq
    _tamper(rt, lambda conn: conn.execute(text("DELETE FROM audit_log WHERE seq > :s"),
                                          {"s": last - 2}))
    with rt.uow() as s:
        assert verify_chain(s).ok  # a prefix of a valid chain is a valid chain
    v = _verify(rt)
    assert not v.ok and "truncated" in v.problem and v.first_bad_seq == last


def test_checkpoint_refuses_to_sign_a_tampered_chain(rt):
    _write(rt, 4)
    assert _checkpoint(rt).created
    _write(rt, 2, 4)
    last = audit_rows(rt)[-1].seq
    _tamper(rt, lambda conn: conn.execute(
        text("UPDATE audit_log SET outcome = 'denied' WHERE seq = :s"), {"s": last}))
    res = _checkpoint(rt)
    assert not res.created and "拒绝" in res.problem


def test_checkpoints_are_append_only(rt):
    _write(rt, 2)
    _checkpoint(rt)
    with pytest.raises(Exception, match="append-only"), rt.engine.begin() as conn:
        conn.execute(text("UPDATE audit_checkpoints SET seq = 1"))
    with pytest.raises(Exception, match="append-only"), rt.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_checkpoints"))
    with rt.uow() as s:
        assert len(s.scalars(select(AuditCheckpoint)).all()) == 1


def test_export_reverifies_outside_the_database(rt, tmp_path, frozen_clock):
    # A month after the real date: the database's first entries (written when the test
    # database was made, at the real time) must fall before `since` below, whatever the
    # day the suite runs (the fixture's fixed date failed once the real date passed it).
    frozen_clock.set(dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    _write(rt, 3)
    frozen_clock.advance(days=2)
    _write(rt, 4, 3)
    path = tmp_path / "audit.jsonl"
    with rt.uow() as s:
        res = export_audit(s, path, actor=cli_principal("t"))
    assert res["entries"] == len(audit_rows(rt)) - 1  # the export's own entry comes after
    assert verify_export(path).ok
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert {"seq", "at", "prev_hash", "hash", "details"} <= set(lines[0])
    assert audit_rows(rt, "audit.export")[-1].details["entries"] == res["entries"]
    # --since: only the later entries, still verifiable from their first prev_hash.
    part = tmp_path / "since.jsonl"
    since = (frozen_clock.now() + dt.timedelta(hours=8)).date()
    with rt.uow() as s:
        res2 = export_audit(s, part, since=since)
    assert 4 <= res2["entries"] < res["entries"] and verify_export(part).ok
    # A changed line is caught.
    lines[1]["outcome"] = "denied"
    forged = tmp_path / "forged.jsonl"
    forged.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    assert not verify_export(forged).ok


def test_cli_checkpoint_and_export(rt, settings, tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from chengxin import ops_cli

    _write(rt, 3)
    app = typer.Typer()
    audit = typer.Typer()
    app.add_typer(audit, name="audit")
    audit.command("checkpoint")(ops_cli.audit_checkpoint_cmd)
    audit.command("export")(ops_cli.audit_export_cmd)
    monkeypatch.setenv("CHENGXIN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CHENGXIN_KEY_FILE", str(settings.key_file))
    runner = CliRunner()
    r = runner.invoke(app, ["audit", "checkpoint"])
    assert r.exit_code == 0 and "已签署审计检查点" in r.output, r.output
    r = runner.invoke(app, ["audit", "checkpoint"])
    assert r.exit_code == 0 and "无需新检查点" in r.output, r.output
    out = tmp_path / "a.jsonl"
    r = runner.invoke(app, ["audit", "export", str(out), "--since", "2000-01-01"])
    assert r.exit_code == 0 and "已导出审计日志" in r.output, r.output
    assert verify_export(out).ok and (out.stat().st_mode & 0o777) == 0o600
