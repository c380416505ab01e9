"""Field-key rotation: k1 -> k2, everything still reads, look-ups work, k1 retired."""

from __future__ import annotations

import json
import shutil

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from chengxin.keys import load_keys
from chengxin.ops import rotation
from chengxin.ops.rotation import CIPHER_COLUMNS, RotationError, count_not_current, rotate
from chengxin.records.models import HeldRow
from chengxin.runtime import build_runtime
from chengxin.subjects.models import Person
from tests.conftest import audit_rows
from tests.ops import fill
from tests.records.factories import pid
from tests.rights.helpers import PERSON


@pytest.fixture
def own_keys(settings, tmp_path):
    """A private copy of the key file: the session's one is shared by every test."""
    path = tmp_path / "keys.json"
    shutil.copyfile(settings.key_file, path)
    return settings.model_copy(update={"key_file": path})


def _ciphertexts(rt):
    with rt.uow() as s:
        out = {}
        for p in s.scalars(select(Person)):
            out[("p", p.id)] = p.id_enc
            if p.phone_enc:
                out[("ph", p.id)] = p.phone_enc
        for h in s.scalars(select(HeldRow)):
            out[("h", h.id)] = h.row_enc
        return out


_CONTEXT = {"p": "person.id_number", "ph": "person.phone", "h": "held_row"}


def _plain(cipher, tokens):
    return {k: cipher.decrypt(v, context=_CONTEXT[k[0]]) for k, v in tokens.items()}


def test_registry_covers_every_enc_column():
    rotation.check_registry()
    assert {(c.table, c.column) for c in CIPHER_COLUMNS} >= {
        ("persons", "id_enc"), ("persons", "phone_enc"), ("held_rows", "row_enc")}


def test_rotate_reencrypts_everything_and_retires_old(rt, client, users, own_keys):
    fill(client, users)
    k1 = rt.cipher.current_key_id
    before = _ciphertexts(rt)
    plain = _plain(rt.cipher, before)
    assert any(k[0] == "h" for k in before) and len(before) >= 6

    report = rotate(own_keys, rt.engine, batch=2)
    k2 = report.new_key
    assert k2 != k1 and report.old_key == k1
    keys = load_keys(own_keys)
    assert keys.field_key_current == k2 and set(keys.field_keys) == {k1, k2}
    assert sum(report.rotated.values()) == len(before)
    assert not any(report.remaining.values())

    rt2 = build_runtime(own_keys)
    try:
        after = _ciphertexts(rt2)
        assert all(rt2.cipher.key_id_of(t) == k2 for t in after.values())
        assert all(after[k] != before[k] for k in before)
        assert _plain(rt2.cipher, after) == plain
        # Look-ups by ID number through the API still work (blind index untouched),
        # and decrypting paths read the re-encrypted rows.
        from chengxin.app import create_app
        from tests.conftest import Users
        with TestClient(create_app(runtime=rt2)) as c2:
            u2 = Users(rt2, c2)
            r = c2.post("/api/v1/check", headers=u2.api_key("410522-rsj"),
                        json={"id_number": pid(PERSON), "scenario": "awards"})
            assert r.status_code == 200, r.text
            assert r.json()["status"] != "unknown"
        # A second run finds nothing to do; retire-old then removes k1.
        again = rotate(own_keys, rt2.engine, resume=True, retire_old=True)
        assert sum(again.rotated.values()) == 0 and again.retired == [k1]
        assert set(load_keys(own_keys).field_keys) == {k2}
        assert set(json.loads(own_keys.key_file.read_text())["field_keys"]) == {k2}
        rt3 = build_runtime(own_keys)
        try:
            assert _plain(rt3.cipher, _ciphertexts(rt3)) == plain
        finally:
            rt3.dispose()
    finally:
        rt2.dispose()
    actions = [e.action for e in audit_rows(rt)]
    assert "keys.add" in actions and actions.count("keys.rotate") == 2
    last = audit_rows(rt, "keys.rotate")[-1]
    assert last.details["retired"] == [k1]
    secrets = json.loads(own_keys.key_file.read_text())["field_keys"].values()
    assert not any(v in json.dumps([e.details for e in audit_rows(rt)]) for v in secrets)


def test_interrupted_rotation_resumes(rt, client, users, own_keys):
    fill(client, users)
    before = _ciphertexts(rt)
    plain = _plain(rt.cipher, before)

    def crash(name, scanned):
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        rotate(own_keys, rt.engine, batch=2, after_batch=crash)
    k2 = load_keys(own_keys).field_key_current
    left = count_not_current(rt.engine, k2)
    assert 0 < sum(left.values()) < len(before)  # the first batch was committed
    done = len(before) - sum(left.values())
    assert done == 2

    # Retiring is refused while old ciphertexts remain.
    with pytest.raises(RotationError, match="旧密钥"):
        from unittest import mock
        with mock.patch.object(rotation, "reencrypt", lambda *a, **k: None):
            rotate(own_keys, rt.engine, resume=True, retire_old=True)
    assert len(load_keys(own_keys).field_keys) == 2

    report = rotate(own_keys, rt.engine, resume=True, batch=2)
    assert report.new_key == k2
    assert sum(report.rotated.values()) == len(before) - done  # already-rotated rows skipped
    rt2 = build_runtime(own_keys)
    try:
        after = _ciphertexts(rt2)
        assert all(rt2.cipher.key_id_of(t) == k2 for t in after.values())
        assert _plain(rt2.cipher, after) == plain
    finally:
        rt2.dispose()


def test_cli_rotate(rt, client, users, own_keys, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from chengxin import ops_cli

    fill(client, users)
    app = typer.Typer()
    app.add_typer(ops_cli.keys_app, name="keys")
    monkeypatch.setenv("CHENGXIN_DATABASE_URL", own_keys.database_url)
    monkeypatch.setenv("CHENGXIN_KEY_FILE", str(own_keys.key_file))
    runner = CliRunner()
    r = runner.invoke(app, ["keys", "rotate", "--prepare"])
    assert r.exit_code == 0, r.output
    prepared = json.loads(own_keys.key_file.read_text())["field_key_prepared"]
    r = runner.invoke(app, ["keys", "rotate", "--retire-old"])
    assert r.exit_code == 0, r.output
    assert "persons.id_enc" in r.output and "已删除旧密钥" in r.output
    assert set(load_keys(own_keys).field_keys) == {prepared}
