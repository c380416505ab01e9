"""One suite, two databases.

CHENGXIN_TEST_DATABASE_URL picks PostgreSQL (the schema is rebuilt by Alembic at the
start of the run); unset, each test gets its own SQLite file. Either way every test
starts from the migrated schema with the reference data loaded and nothing else.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, insert, select, text
from sqlalchemy.engine import Engine

from chengxin import clock
from chengxin.accounts.principal import cli_principal
from chengxin.accounts.service import create_user
from chengxin.config import Settings
from chengxin.db import make_engine
from chengxin.keys import new_key_material, write_key_file
from chengxin.migrate import upgrade
from chengxin.reference.loader import load_reference
from chengxin.runtime import Runtime, build_runtime

PG_URL = os.environ.get("CHENGXIN_TEST_DATABASE_URL", "")
BACKEND = "postgresql" if PG_URL.startswith("postgresql") else "sqlite"
PASSWORD = "Test-Passw0rd!"


def pytest_report_header(config: pytest.Config) -> str:
    return f"chengxin test database: {BACKEND}"


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    write_key_file(path, new_key_material())
    return path


def _settings(url: str, key_file: Path, tmp: Path) -> Settings:
    return Settings(database_url=url, key_file=key_file, storage_dir=tmp / "var",
                    token_key=None, field_key=None, blind_index_key=None)


def _tables_in_order(engine: Engine) -> list:
    meta = MetaData()
    meta.reflect(engine)
    return [t for t in meta.sorted_tables if t.name != "alembic_version"]


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory, key_file: Path) -> dict:
    """Migrate once and load reference data once; tests copy or restore from here."""
    tmp = tmp_path_factory.mktemp("template")
    if BACKEND == "sqlite":
        url = f"sqlite:///{tmp / 'template.db'}"
    else:
        url = PG_URL
        eng = make_engine(Settings(database_url=url, key_file=key_file).database_url)
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        eng.dispose()
    rt = build_runtime(_settings(url, key_file, tmp))
    upgrade(rt.engine)
    with rt.uow() as s:
        load_reference(s, rt.settings.reference_dir, actor=cli_principal("test"))
    snapshot = {}
    if BACKEND == "postgresql":
        tables = _tables_in_order(rt.engine)
        with rt.engine.connect() as conn:
            for t in tables:
                rows = [dict(r._mapping) for r in conn.execute(select(t))]
                if rows:
                    snapshot[t.name] = (t, rows)
    rt.dispose()
    return {"url": url, "snapshot": snapshot, "path": tmp / "template.db"}


def _restore_pg(engine: Engine, snapshot: dict) -> None:
    tables = _tables_in_order(engine)
    with engine.begin() as conn:
        # replica mode skips triggers, including the audit log's append-only guard,
        # which is exactly what a test reset (and only a test reset) may do.
        conn.execute(text("SET session_replication_role = replica"))
        names = ", ".join(f'"{t.name}"' for t in tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        for table, rows in snapshot.values():
            conn.execute(insert(table), rows)
            for col in table.primary_key.columns:
                if col.autoincrement is True or (col.autoincrement == "auto" and
                                                 col.type.python_type is int):
                    seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                       {"t": table.name, "c": col.name}).scalar()
                    if seq:
                        conn.execute(text(f"SELECT setval('{seq}', "
                                          f'(SELECT max("{col.name}") FROM "{table.name}"))'))
        conn.execute(text("SET session_replication_role = DEFAULT"))


@pytest.fixture
def settings(_template: dict, key_file: Path, tmp_path: Path) -> Settings:
    if BACKEND == "sqlite":
        db = tmp_path / "test.db"
        shutil.copyfile(_template["path"], db)
        url = f"sqlite:///{db}"
    else:
        url = _template["url"]
    return _settings(url, key_file, tmp_path)


@pytest.fixture
def rt(settings: Settings, _template: dict) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    if BACKEND == "postgresql":
        _restore_pg(runtime.engine, _template["snapshot"])
    yield runtime
    # An import a test started and did not wait for keeps running on its thread; on
    # PostgreSQL it met the next test's TRUNCATE of the template (a deadlock, seen once).
    for thread in threading.enumerate():
        if thread.name.startswith("import-"):
            thread.join(timeout=60)
    runtime.dispose()


@pytest.fixture
def frozen_clock() -> Iterator[clock.FrozenClock]:
    with clock.frozen(dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)) as c:
        yield c


@pytest.fixture
def app(rt: Runtime):  # type: ignore[no-untyped-def]
    from chengxin.app import create_app

    return create_app(runtime=rt)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


class Users:
    """Makes accounts and their bearer headers for tests."""

    def __init__(self, rt: Runtime, client: TestClient) -> None:
        self.rt = rt
        self.client = client

    def add(self, login: str, role: str, **kw: object) -> int:
        with self.rt.uow() as s:
            return create_user(s, actor=cli_principal("test"), login=login, password=PASSWORD,
                               role=role, **kw).id  # type: ignore[arg-type]

    def headers(self, login: str) -> dict[str, str]:
        r = self.client.post("/api/v1/auth/token", json={"login": login, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def api_key(self, department: str) -> dict[str, str]:
        from chengxin.accounts.service import create_api_key

        with self.rt.uow() as s:
            _, key = create_api_key(s, actor=cli_principal("test"), department_code=department)
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def users(rt: Runtime, client: TestClient) -> Users:
    return Users(rt, client)


def audit_rows(rt: Runtime, action: str | None = None) -> list:
    from chengxin.audit.models import AuditEntry

    with rt.uow() as s:
        stmt = select(AuditEntry).order_by(AuditEntry.seq)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        return list(s.scalars(stmt))
