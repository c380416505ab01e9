"""Backup while the server writes, restore into an empty database, compare row by row."""

from __future__ import annotations

import json
import threading
import zipfile

import pytest
from sqlalchemy import func, select, text

from chengxin.accounts.principal import cli_principal
from chengxin.audit.service import record
from chengxin.audit.verify import verify_chain
from chengxin.db import make_sessionmaker
from chengxin.ops.backup import BackupError, create_backup, restore_backup
from tests.conftest import BACKEND
from tests.ops import dump, empty_database, engine_for, fill, pk_of
from tests.records.factories import EDU, teacher_penalty


def _restore(path, url):
    engine = engine_for(url)
    try:
        res = restore_backup(path, engine)
        return res, dump(engine)
    finally:
        engine.dispose()


def _chain_ok(url):
    engine = engine_for(url)
    try:
        with make_sessionmaker(engine)() as s:
            return verify_chain(s)
    finally:
        engine.dispose()


def test_backup_during_writes_restores_consistently(rt, client, users, tmp_path):
    fill(client, users)
    with rt.uow() as s:
        baseline = s.execute(text("SELECT max(seq) FROM audit_log")).scalar()
    key = users.api_key(EDU)
    stop, written, errors = threading.Event(), [0], []

    def writer():
        n = 200
        try:
            while not stop.is_set() and n < 400:
                r = client.post("/api/v1/records", headers=key,
                                json=[teacher_penalty(n, document_no=f"安县教罚〔2026〕W{n}号")])
                assert r.status_code == 200, r.text
                with rt.uow() as s:
                    record(s, cli_principal("writer"), "test.write", object_id=n)
                written[0] += 1
                n += 1
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=writer)
    t.start()
    try:
        while written[0] < 3:
            stop.wait(0.01)
        before = written[0]
        path = tmp_path / "b.zip"
        seen = []

        def mid_backup(table, _n):
            # Let the server commit more work while the snapshot is open.
            if not seen:
                target = written[0] + 2
                while written[0] < target and not errors:
                    stop.wait(0.01)
            seen.append(table)

        res = create_backup(rt.settings.database_url, path, engine=rt.engine, on_table=mid_backup)
        during = written[0] - before
    finally:
        stop.set()
        t.join()
    assert not errors, errors
    assert during >= 2  # commits happened while the backup was being read
    source = dump(rt.engine)

    manifest = json.loads(zipfile.ZipFile(path).read("manifest.json"))
    assert manifest["key_file_included"] is False
    assert manifest["alembic_revision"] == res.revision
    counts = {t["name"]: t["rows"] for t in manifest["tables"]}
    assert counts["audit_log"] == manifest["audit_head"]["seq"]

    with empty_database(BACKEND, tmp_path) as url:
        restored_res, restored = _restore(path, url)
        assert _chain_ok(url).ok
    assert restored_res.tables == counts
    assert {k: len(v) for k, v in restored.items()} == counts
    for name in ("persons", "credit_records", "list_entries", "objections", "held_rows"):
        assert counts[name] > 0, name
    # Same rows, same values: the source as of the snapshot (later writes only appended).
    pks = pk_of(rt.engine)
    for name, rows in restored.items():
        keyf = (lambda r, cols=pks[name]: tuple(r[c] for c in cols)) if pks[name] else \
            (lambda r: json.dumps(r, sort_keys=True))
        src = {keyf(r): r for r in source[name]}
        for row in rows:
            assert src.get(keyf(row)) == row, (name, row)
    # Atomic snapshot: each writer transaction is in whole or not at all.
    written_records = [r for r in restored["credit_records"] if "W" in r["document_no"]]
    ingests = [e for e in restored["audit_log"]
               if e["action"] == "records.ingest" and e["seq"] > baseline]
    assert len(written_records) == len(ingests)
    assert len(written_records) < written[0]  # the later writes are not in the snapshot
    assert counts["credit_records"] < len(source["credit_records"])


def test_full_round_trip_equal_and_sequences_continue(rt, client, users, tmp_path):
    fill(client, users)
    path = tmp_path / "b.zip"
    create_backup(rt.settings.database_url, path, engine=rt.engine)
    source = dump(rt.engine)
    with empty_database(BACKEND, tmp_path) as url:
        _, restored = _restore(path, url)
        assert restored == source
        # Sequences were moved past the restored ids: new rows get fresh ids.
        from chengxin.config import Settings
        from chengxin.runtime import build_runtime
        rt2 = build_runtime(Settings(database_url=url, key_file=rt.settings.key_file,
                                     storage_dir=tmp_path / "var2", token_key=None,
                                     field_key=None, blind_index_key=None))
        try:
            from fastapi.testclient import TestClient

            from chengxin.app import create_app
            with TestClient(create_app(runtime=rt2)) as c2:
                from tests.conftest import Users
                u2 = Users(rt2, c2)
                r = c2.post("/api/v1/records", headers=u2.api_key(EDU),
                            json=[teacher_penalty(300, document_no="安县教罚〔2026〕300号")])
                assert r.status_code == 200, r.text
                assert r.json()["results"][0]["status"] == "created", r.text
            with rt2.uow() as s:
                assert verify_chain(s).ok
        finally:
            rt2.dispose()


def test_restore_refuses_non_empty_corrupt_and_newer(rt, client, users, tmp_path):
    fill(client, users)
    path = tmp_path / "b.zip"
    create_backup(rt.settings.database_url, path, engine=rt.engine)
    # The source itself is not empty.
    with pytest.raises(BackupError, match="不是空库"):
        restore_backup(path, rt.engine)
    with pytest.raises(BackupError, match="已有数据"):
        restore_backup(path, rt.engine, force=True)
    # A damaged part.
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "tables/persons.jsonl":
                data = data.replace(b"\xe5\xbc\xa0", b"\xe6\x9d\x8e", 1)  # 张 -> 李
            dst.writestr(item, data)
    # A newer revision.
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(newer, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "manifest.json":
                m = json.loads(data)
                m["alembic_revision"] = "9999"
                data = json.dumps(m).encode()
            dst.writestr(item, data)
    with empty_database(BACKEND, tmp_path) as url:
        engine = engine_for(url)
        try:
            with pytest.raises(BackupError, match="SHA-256"):
                restore_backup(bad, engine)
            with pytest.raises(BackupError, match="更新的"):
                restore_backup(newer, engine)
            (tmp_path / "junk.zip").write_bytes(b"not a zip")
            with pytest.raises(BackupError, match="损坏"):
                restore_backup(tmp_path / "junk.zip", engine)
            # Nothing was created by the refused attempts.
            with engine.connect() as conn:
                from sqlalchemy import inspect
                assert inspect(conn).get_table_names() == []
        finally:
            engine.dispose()


@pytest.mark.skipif(BACKEND != "postgresql", reason="needs PostgreSQL")
def test_cross_backend_postgresql_to_sqlite_and_back(rt, client, users, tmp_path):
    fill(client, users)
    pg_backup = tmp_path / "pg.zip"
    create_backup(rt.settings.database_url, pg_backup, engine=rt.engine)
    source = dump(rt.engine)
    lite = f"sqlite:///{tmp_path / 'lite.db'}"
    _, in_sqlite = _restore(pg_backup, lite)
    assert in_sqlite == source
    assert _chain_ok(lite).ok
    lite_backup = tmp_path / "lite.zip"
    create_backup(lite, lite_backup)
    with empty_database("postgresql", tmp_path) as url:
        _, back_in_pg = _restore(lite_backup, url)
        assert back_in_pg == source
        assert _chain_ok(url).ok


def test_cli_backup_and_restore(rt, client, users, settings, tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from chengxin import ops_cli

    fill(client, users)
    app = typer.Typer()
    app.command("backup")(ops_cli.backup_cmd)
    app.command("restore")(ops_cli.restore_cmd)
    monkeypatch.setenv("CHENGXIN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CHENGXIN_KEY_FILE", str(settings.key_file))
    runner = CliRunner()
    path = tmp_path / "cli.zip"
    r = runner.invoke(app, ["backup", str(path)])
    assert r.exit_code == 0, r.output
    assert "密钥文件不包含在备份中，请另行安全保管" in r.output
    assert (path.stat().st_mode & 0o777) == 0o600
    refused = runner.invoke(app, ["restore", str(path)])
    assert refused.exit_code == 2 and "不是空库" in refused.output
    with empty_database(BACKEND, tmp_path) as url:
        monkeypatch.setenv("CHENGXIN_DATABASE_URL", url)
        ok = runner.invoke(app, ["restore", str(path)])
        assert ok.exit_code == 0, ok.output
        assert "哈希链校验通过" in ok.output
        engine = engine_for(url)
        try:
            with engine.connect() as conn:
                last = conn.execute(text(
                    "SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1")).scalar()
                assert last == "ops.restore"
                assert conn.execute(select(func.count()).select_from(text("persons"))).scalar() > 0
        finally:
            engine.dispose()
