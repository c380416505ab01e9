"""The chengxin command as an operator uses it, in a fresh working folder."""

from __future__ import annotations

import os
import stat

import pytest
from typer.testing import CliRunner

from chengxin.cli import app
from tests.conftest import PASSWORD


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in list(os.environ):
        if var.startswith("CHENGXIN_") and var != "CHENGXIN_TEST_DATABASE_URL":
            monkeypatch.delenv(var)
    return tmp_path


def test_init_creates_sqlite_and_private_key_file(workdir):
    runner = CliRunner()
    r = runner.invoke(app, ["init"])
    assert r.exit_code == 0, r.output
    assert (workdir / "chengxin.db").exists()
    key_file = workdir / "chengxin-keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # Running again migrates nothing new and keeps the same keys.
    before = key_file.read_bytes()
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert key_file.read_bytes() == before


def test_users_add_reads_password_from_stdin(rt, settings, monkeypatch):
    monkeypatch.setenv("CHENGXIN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CHENGXIN_KEY_FILE", str(settings.key_file))
    runner = CliRunner()
    r = runner.invoke(app, ["users", "add", "ops", "--role", "admin"], input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    assert PASSWORD not in r.output
    bad_role = runner.invoke(app, ["users", "add", "badrole", "--role", "king"], input=PASSWORD + "\n")
    assert bad_role.exit_code == 2 and "未知角色" in bad_role.output
    weak = runner.invoke(app, ["users", "add", "weakpw", "--role", "admin"], input="short\n")
    assert weak.exit_code == 2 and "密码" in weak.output
    bad_id = runner.invoke(app, ["users", "add", "badid", "--role", "individual",
                                 "--id-number", "123", "--name", "某人"], input=PASSWORD + "\n")
    assert bad_id.exit_code == 2 and "Traceback" not in bad_id.output


def test_apikeys_add_prints_key_once(rt, settings, monkeypatch):
    monkeypatch.setenv("CHENGXIN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CHENGXIN_KEY_FILE", str(settings.key_file))
    runner = CliRunner()
    r = runner.invoke(app, ["apikeys", "add", "--department", "410522-jyj"])
    assert r.exit_code == 0, r.output
    assert "cxk_" in r.output
    bad = runner.invoke(app, ["apikeys", "add", "--department", "none"])
    assert bad.exit_code == 2 and "部门" in bad.output


def test_bad_configuration_is_a_clear_error(workdir, monkeypatch):
    monkeypatch.setenv("CHENGXIN_DATABASE_URL", "mysql://nope")
    r = CliRunner().invoke(app, ["init"])
    assert r.exit_code == 2
    assert "CHENGXIN_DATABASE_URL" in r.output and "Traceback" not in r.output


def test_missing_key_file_is_a_clear_error(workdir):
    r = CliRunner().invoke(app, ["audit", "verify"])
    assert r.exit_code == 2 and "chengxin init" in r.output
