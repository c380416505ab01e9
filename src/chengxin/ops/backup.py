"""Portable, consistent backups and their restore (`chengxin backup` / `chengxin restore`).

A backup is one zip file:

    manifest.json          format, format_version, alembic_revision, created_at,
                           source dialect, audit head, and per table (in dependency order)
                           its columns with their portable kind, row count, part name and
                           the sha256 of the part
    tables/<table>.jsonl   one JSON object per row, ordered by primary key

Every table is read inside ONE snapshot (PostgreSQL: REPEATABLE READ READ ONLY; SQLite: a
deferred read transaction in WAL mode, which never blocks the running server's writers),
so a transaction of the server is either wholly in the backup or wholly out of it. Rows
are streamed (yield_per) and written straight into the zip: memory stays flat.

Values are written in a database-neutral form (datetimes as ISO 8601 in UTC, dates as
ISO dates, JSON as JSON, decimals as strings, bytes as base64), so a SQLite backup can be
restored into PostgreSQL and the other way round. Ciphertexts are copied as they are: the
key file is NOT part of the backup and must be kept safe separately — without it the
encrypted ID and phone numbers cannot be read, and with it anyone holding the backup
could. Files under storage_dir (evidence, uploads) are not in the database and are backed
up with the file system.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import MetaData, Table, create_engine, event, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

FORMAT = "chengxin-backup"
FORMAT_VERSION = 1
KEY_NOTICE = "密钥文件不包含在备份中，请另行安全保管"
_BATCH = 1000
_SKIP_TABLES = {"alembic_version"}


class BackupError(Exception):
    """A backup or restore that must not go ahead; the message is for the operator."""


# ---------------------------------------------------------------------------- values


def column_kind(col: sa.Column) -> str:
    t = col.type
    if isinstance(t, sa.JSON):
        return "json"
    if isinstance(t, sa.DateTime):
        return "datetime"
    if isinstance(t, sa.Date):
        return "date"
    if isinstance(t, sa.Time):
        return "time"
    if isinstance(t, sa.Boolean):
        return "bool"
    if isinstance(t, sa.Integer):
        return "int"
    if isinstance(t, sa.Float):
        return "float"
    if isinstance(t, sa.Numeric):
        return "decimal"
    if isinstance(t, sa.LargeBinary):
        return "bytes"
    return "text"


def encode_value(kind: str, value: Any) -> Any:
    """A column value as JSON. Naive datetimes are UTC (how SQLite holds them here)."""
    if value is None:
        return None
    if kind == "datetime":
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if kind in ("date", "time"):
        return value.isoformat()
    if kind == "decimal":
        return str(value)
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "bool":
        return bool(value)
    return value


def decode_value(kind: str, value: Any, col: sa.Column) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        parsed = dt.datetime.fromisoformat(value).astimezone(dt.UTC)
        # A column without time zone (and every SQLite column) takes naive UTC.
        if not getattr(col.type, "timezone", False):
            parsed = parsed.replace(tzinfo=None)
        return parsed
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "time":
        return dt.time.fromisoformat(value)
    if kind == "decimal":
        return decimal.Decimal(value)
    if kind == "bytes":
        return base64.b64decode(value)
    return value


def _dumps(row: dict[str, Any]) -> bytes:
    return (json.dumps(row, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
            .encode() + b"\n")


# ------------------------------------------------------------------------- schema


def reflect_tables(conn: Connection) -> list[Table]:
    """The database's own tables in dependency order (parents first)."""
    meta = MetaData()
    meta.reflect(conn)
    return [t for t in meta.sorted_tables if t.name not in _SKIP_TABLES]


def _order_by(table: Table) -> list[sa.Column]:
    return list(table.primary_key.columns) or list(table.columns)


def _revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


# ------------------------------------------------------------------------- snapshot


def _sqlite_reader(url: str) -> Engine:
    """A separate engine for the snapshot: the app's engine begins with BEGIN IMMEDIATE,
    which would hold the write lock (and stall the server) for the whole backup."""

    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA query_only=1")
        cur.close()

    engine = create_engine(url, poolclass=NullPool)
    event.listen(engine, "connect", _connect)
    return engine


class _Snapshot:
    """One read-only connection whose every query sees the same committed state."""

    def __init__(self, url: str, engine: Engine | None) -> None:
        self.url = url
        self._own: Engine | None = None
        self._engine = engine

    def __enter__(self) -> Connection:
        if self.url.startswith("sqlite"):
            self._own = _sqlite_reader(self.url)
            self.conn = self._own.connect()
            self.conn.exec_driver_sql("BEGIN")  # deferred: WAL snapshot at the first read
            mode = self.conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            if str(mode).lower() != "wal":
                # Outside WAL a reader blocks writers; still consistent, but say so.
                self.warning = f"SQLite journal_mode={mode}: the backup blocks writers"
            return self.conn
        engine = self._engine or create_engine(self.url, poolclass=NullPool)
        if self._engine is None:
            self._own = engine
        self.conn = engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True)
        self.conn.begin()
        return self.conn

    def __exit__(self, *exc: object) -> None:
        try:
            self.conn.rollback()
        finally:
            self.conn.close()
            if self._own is not None:
                self._own.dispose()


# --------------------------------------------------------------------------- backup


@dataclass
class BackupResult:
    path: Path
    revision: str | None
    tables: dict[str, int]
    audit_head: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def _stream(conn: Connection, table: Table) -> Iterator[dict[str, Any]]:
    stmt = select(table).order_by(*_order_by(table))
    result = conn.execution_options(yield_per=_BATCH).execute(stmt)
    for row in result:
        yield row._asdict()


def create_backup(database_url: str, path: Path, *, engine: Engine | None = None,
                  key_ids: list[str] | None = None,
                  on_table: Callable[[str, int], None] | None = None) -> BackupResult:
    """Write a backup of the whole database to `path` (atomically, mode 0600)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    warnings: list[str] = []
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            snap = _Snapshot(database_url, engine)
            with snap as conn:
                created_at = dt.datetime.now(dt.UTC)
                revision = _revision(conn)
                if revision is None:
                    raise BackupError("数据库尚未初始化（无 Alembic 版本），无可备份内容")
                entries = []
                for table in reflect_tables(conn):
                    kinds = {c.name: column_kind(c) for c in table.columns}
                    part = f"tables/{table.name}.jsonl"
                    digest, count = hashlib.sha256(), 0
                    with zf.open(part, "w", force_zip64=True) as fh:
                        for row in _stream(conn, table):
                            line = _dumps({k: encode_value(kinds[k], v) for k, v in row.items()})
                            digest.update(line)
                            fh.write(line)
                            count += 1
                    entries.append({"name": table.name, "part": part, "rows": count,
                                    "sha256": digest.hexdigest(),
                                    "columns": [{"name": k, "kind": v} for k, v in kinds.items()]})
                    if on_table:
                        on_table(table.name, count)
                head = None
                if any(e["name"] == "audit_log" for e in entries):
                    last = conn.execute(text(
                        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")).first()
                    head = {"seq": last[0], "hash": last[1]} if last else None
                warnings.extend([snap.warning] if hasattr(snap, "warning") else [])
                dialect = conn.dialect.name
            manifest = {
                "format": FORMAT, "format_version": FORMAT_VERSION,
                "alembic_revision": revision,
                "created_at": created_at.isoformat(timespec="seconds"),
                "source_dialect": dialect, "audit_head": head,
                # Ids only, never keys: says which key file the ciphertexts need.
                "field_key_ids": key_ids or [],
                "key_file_included": False,
                "tables": entries,
            }
            zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupResult(path, revision, {e["name"]: e["rows"] for e in entries}, head, warnings)


# -------------------------------------------------------------------------- restore


def read_manifest(zf: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(zf.read("manifest.json"))
    except KeyError:
        raise BackupError("不是诚信平台的备份文件：缺少 manifest.json") from None
    except ValueError:
        raise BackupError("备份清单 manifest.json 已损坏") from None
    if manifest.get("format") != FORMAT:
        raise BackupError("不是诚信平台的备份文件")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"不支持的备份格式版本 {manifest.get('format_version')}"
                          f"（本程序支持 {FORMAT_VERSION}）")
    return manifest


def check_parts(zf: zipfile.ZipFile, manifest: dict[str, Any]) -> None:
    """Every part must hash to what the manifest says (a damaged file is refused whole)."""
    for entry in manifest["tables"]:
        digest = hashlib.sha256()
        try:
            with zf.open(entry["part"]) as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
        except KeyError:
            raise BackupError(f"备份文件已损坏：缺少 {entry['part']}") from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise BackupError(f"备份文件已损坏：{entry['part']} 无法读取 ({exc})") from None
        if digest.hexdigest() != entry["sha256"]:
            raise BackupError(f"备份文件已损坏：{entry['part']} 的 SHA-256 与清单不符")


def _check_revision(revision: str) -> None:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from chengxin.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    try:
        found = script.get_revision(revision)
    except CommandError:
        found = None
    if found is None:
        raise BackupError(f"备份来自更新的（或未知的）数据库版本 {revision}，"
                          "请先升级本程序再恢复")


def _user_tables(conn: Connection) -> list[str]:
    return [n for n in sa.inspect(conn).get_table_names() if n not in _SKIP_TABLES]


def _check_target_empty(engine: Engine, force: bool) -> None:
    with engine.connect() as conn:
        tables = _user_tables(conn)
        if tables and not force:
            raise BackupError(
                "目标数据库不是空库（已有数据表）。请恢复到新建的空数据库；"
                "若目标库只是已建表而没有任何数据，可加 --force")
        meta = MetaData()
        meta.reflect(conn, only=tables)
        for name in tables:
            if conn.execute(select(func.count()).select_from(meta.tables[name])).scalar():
                raise BackupError(f"目标数据库已有数据（表 {name} 非空），拒绝覆盖")
        if tables:
            current = _revision(conn)
            if current is None:
                raise BackupError("目标数据库有数据表但没有 Alembic 版本，拒绝恢复")


@dataclass
class RestoreResult:
    revision: str
    tables: dict[str, int]
    audit_entries: int
    upgraded_to: str | None


def _fix_sequences(conn: Connection, tables: list[Table]) -> None:
    if conn.dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY continues from max(rowid) by itself
    for table in tables:
        for col in table.primary_key.columns:
            seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": table.name, "c": col.name}).scalar()
            if seq:
                # Names come from reflection of our own schema, not from the backup file.
                top = f'SELECT COALESCE(max("{col.name}"), 0) + 1 FROM "{table.name}"'  # noqa: S608
                conn.execute(text(f"SELECT setval(:s, ({top}), false)"), {"s": seq})


def _rows(zf: zipfile.ZipFile, entry: dict[str, Any], table: Table) -> Iterator[list[dict]]:
    kinds = {c["name"]: c["kind"] for c in entry["columns"]}
    missing = set(kinds) - set(table.columns.keys())
    if missing:
        raise BackupError(f"表 {table.name} 缺少列 {sorted(missing)}：目标库结构与备份不符")
    batch: list[dict] = []
    with zf.open(entry["part"]) as fh:
        for line in fh:
            row = json.loads(line)
            batch.append({k: decode_value(kinds[k], v, table.c[k]) for k, v in row.items()})
            if len(batch) >= _BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def restore_backup(path: Path, engine: Engine, *, force: bool = False,
                   upgrade_to_head: bool = True,
                   on_table: Callable[[str, int], None] | None = None) -> RestoreResult:
    """Restore into an empty database: migrate to the backup's revision, insert every
    table in dependency order (audit rows as they are: the triggers allow INSERT), fix
    sequences, then check counts, the audit chain and its head against the manifest."""
    from chengxin import migrate
    from chengxin.audit.verify import verify_chain
    from chengxin.db import make_sessionmaker

    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BackupError(f"备份文件无法打开或已损坏：{exc}") from None
    with zf:
        manifest = read_manifest(zf)
        check_parts(zf, manifest)
        revision = manifest["alembic_revision"]
        _check_revision(revision)
        _check_target_empty(engine, force)
        migrate.upgrade(engine, revision)
        counts: dict[str, int] = {}
        with engine.begin() as conn:
            meta = MetaData()
            meta.reflect(conn)
            restored = []
            for entry in manifest["tables"]:
                table = meta.tables.get(entry["name"])
                if table is None:
                    raise BackupError(f"目标数据库在版本 {revision} 下没有表 {entry['name']}")
                n = 0
                for batch in _rows(zf, entry, table):
                    conn.execute(insert(table), batch)
                    n += len(batch)
                if n != entry["rows"]:
                    raise BackupError(
                        f"表 {table.name}: 读到 {n} 行，清单记载 {entry['rows']} 行")
                counts[table.name] = n
                restored.append(table)
                if on_table:
                    on_table(table.name, n)
            _fix_sequences(conn, restored)
            for table in restored:
                actual = conn.execute(select(func.count()).select_from(table)).scalar()
                if actual != counts[table.name]:
                    raise BackupError(
                        f"表 {table.name}: 恢复后 {actual} 行，清单记载 {counts[table.name]} 行")
    session = make_sessionmaker(engine)()
    try:
        result = verify_chain(session)
        head = manifest.get("audit_head")
        last = session.execute(
            text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")).first()
    finally:
        session.close()
    if not result.ok:
        raise BackupError("恢复后的审计日志哈希链校验失败："
                          f"序号 {result.first_bad_seq}: {result.problem}")
    if head and (last is None or (last[0], last[1]) != (head["seq"], head["hash"])):
        raise BackupError("恢复后的审计日志末条与备份清单记载的不一致")
    upgraded = None
    if upgrade_to_head:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine)
        after = migrate.current_revision(engine)
        upgraded = after if after != before else None
    return RestoreResult(revision, counts, result.entries, upgraded)
