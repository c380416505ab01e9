"""The one migration history runs from empty to head (and back) on the test backend."""

from __future__ import annotations

from sqlalchemy import inspect, text

from chengxin.db import Base
from chengxin.migrate import current_revision, downgrade, head_revision, upgrade
from chengxin.models_registry import _accounts  # noqa: F401 - registers tables
from tests.conftest import BACKEND


def test_empty_to_head_and_back(rt):
    engine = rt.engine
    # Start truly empty: drop everything the template put there.
    downgrade(engine, "base")
    names = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert names == set()
    assert current_revision(engine) is None

    upgrade(engine)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    # Every table the models declare exists, with every column.
    for table in Base.metadata.sorted_tables:
        assert table.name in tables
        cols = {c["name"] for c in inspect(engine).get_columns(table.name)}
        assert cols == {c.name for c in table.columns}, table.name


def test_audit_log_refuses_update_and_delete_in_the_database(rt):
    import pytest
    from sqlalchemy.exc import DBAPIError

    from chengxin.accounts.principal import cli_principal
    from chengxin.audit.service import record

    with rt.uow() as s:
        record(s, cli_principal(), "test.event")
    for stmt in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), rt.engine.begin() as conn:
            conn.execute(text(stmt))
    if BACKEND == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), rt.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))
