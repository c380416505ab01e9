"""Shared by the ops tests: fill a database through the API, dump it, make databases."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

from chengxin.config import Settings
from chengxin.db import make_engine
from chengxin.ops.backup import column_kind, encode_value, reflect_tables
from tests.conftest import PG_URL
from tests.records.factories import EDU, pid, teacher_penalty
from tests.rights.helpers import PERSON, person_with_records


def fill(client, users) -> dict:
    """Records, a list entry, a held row, an objection and their audit entries."""
    black = {"subject_type": "person", "subject_name": "张四", "id_number": pid(PERSON),
             "item_code": "BLK-001", "document_no": "安县信认〔2026〕41号",
             "decision_date": "2026-06-01", "content": "拒不履行", "legal_basis": "依据",
             "attributes": {"dishonest_conduct": "拒不履行", "listing_authority": "县教育局",
                            "listing_basis": "认定书", "listed_on": "2026-06-01"}}
    me, key, (rid, _bid) = person_with_records(client, users, [teacher_penalty(PERSON), black])
    r = client.post("/api/v1/me/objections", headers=me,
                    json={"record_id": rid, "reason": "我没有有偿补课", "evidence": []})
    assert r.status_code == 201, r.text
    rows = [teacher_penalty(n) for n in range(1, 6)]
    rows.append(teacher_penalty(7, id_number=pid(1), subject_name="张叁",
                                document_no="安县教罚〔2026〕99号"))  # name mismatch: held
    r = client.post("/api/v1/records", headers=key, json=rows)
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]][-1] == "held"
    return {"key": key, "me": me}


def dump(engine: Engine) -> dict[str, list[dict]]:
    """Every table, every row, in the portable encoding (comparable across backends)."""
    out = {}
    with engine.connect() as conn:
        for t in reflect_tables(conn):
            kinds = {c.name: column_kind(c) for c in t.columns}
            order = list(t.primary_key.columns) or list(t.columns)
            out[t.name] = [{k: encode_value(kinds[k], v) for k, v in r._asdict().items()}
                           for r in conn.execute(select(t).order_by(*order))]
    return out


def pk_of(engine: Engine) -> dict[str, list[str]]:
    meta = MetaData()
    meta.reflect(engine)
    return {t.name: [c.name for c in t.primary_key.columns] for t in meta.tables.values()}


def pg_settings_url(url: str) -> str:
    return Settings(database_url=url).database_url


@contextlib.contextmanager
def empty_database(backend: str, tmp_path) -> Iterator[str]:
    """A brand-new empty database: a new SQLite file, or a new PostgreSQL database on
    PG_URL's server (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'restore-{uuid.uuid4().hex[:8]}.db'}"
        return
    import psycopg

    base = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"chengxin_test_restore_{uuid.uuid4().hex[:10]}"
    admin = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_settings_url(base.rsplit("/", 1)[0] + "/" + name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def engine_for(url: str) -> Engine:
    return make_engine(url)


__all__ = ["EDU", "dump", "empty_database", "engine_for", "fill", "pk_of"]
