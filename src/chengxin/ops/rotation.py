"""Field-key rotation (`chengxin keys rotate`).

1. A new field key is added to the key file and becomes current; old keys stay for
   reading (the key id in each ciphertext says which key sealed it).
2. Every ciphertext column is walked by primary-key ranges, a batch per transaction;
   rows already under the current key are skipped (`FieldCipher.needs_rotation`), so an
   interrupted run resumes where it stopped (`--resume`, no new key). Each row is
   written back only if it still holds the ciphertext that was read (compare-and-set),
   so a concurrent write by the server is never lost.
3. `--retire-old` removes the other keys from the key file, only once a scan shows no
   ciphertext still names them.

Running servers hold the keys they loaded at start-up: restart them after step 1 (or
add the key first with `--prepare`, restart, then rotate) so that they can read rows
re-encrypted under the new key, and once more so that they write under it.

The blind index key is NOT rotated here: `*_hash` columns (persons.id_hash,
persons.phone_hash) are deterministic HMACs used for look-ups, and a new key changes
every digest, so rotating it means recomputing every `*_hash` column from the decrypted
values in one maintenance window (servers stopped, or reading both digests meanwhile).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Column, MetaData, Table, and_, bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine

from chengxin.accounts.principal import Principal, cli_principal
from chengxin.audit.service import record
from chengxin.config import Settings
from chengxin.db import Base, make_sessionmaker, unit_of_work
from chengxin.identity.crypto import FieldCipher
from chengxin.keys import _b64, load_keys, write_key_file


@dataclass(frozen=True)
class CipherColumn:
    table: str
    column: str
    context: str  # the associated data it was sealed with
    pk: str = "id"


# Every column holding field ciphertext. `check_registry()` fails when a `*_enc` column
# appears in the models without being listed here, so a new one cannot be forgotten.
CIPHER_COLUMNS: tuple[CipherColumn, ...] = (
    CipherColumn("persons", "id_enc", "person.id_number"),
    CipherColumn("persons", "phone_enc", "person.phone"),
    CipherColumn("held_rows", "row_enc", "held_row"),
    CipherColumn("users", "totp_secret_enc", "user.totp"),
)


class RotationError(Exception):
    pass


def check_registry() -> None:
    import chengxin.models_registry  # noqa: F401

    known = {(c.table, c.column) for c in CIPHER_COLUMNS}
    found = {(t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns
             if c.name.endswith("_enc")}
    missing = found - known
    if missing:
        raise RotationError(
            f"未登记的密文列 {sorted(missing)}：请加入 ops/rotation.py 的 CIPHER_COLUMNS")


# ------------------------------------------------------------------------ key file


def _read_key_file(settings: Settings) -> dict:
    if settings.field_key:
        raise RotationError("字段密钥来自环境变量 CHENGXIN_FIELD_KEY，无法在密钥文件中轮换；"
                            "请改用密钥文件")
    try:
        return json.loads(Path(settings.key_file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RotationError(f"无法读取密钥文件 {settings.key_file}") from exc


def _new_key_id(existing: dict) -> str:
    base = "k" + dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    kid, n = base, 1
    while kid in existing:
        n += 1
        kid = f"{base}-{n}"
    return kid


def add_field_key(settings: Settings, *, make_current: bool = True) -> tuple[str, str]:
    """Add a field key (or promote the one added by --prepare). Returns (old, new) ids."""
    data = _read_key_file(settings)
    keys = data.setdefault("field_keys", {})
    old = data.get("field_key_current", "")
    prepared = data.get("field_key_prepared")
    if prepared and prepared in keys:
        kid = prepared
    else:
        kid = _new_key_id(keys)
        keys[kid] = _b64(secrets.token_bytes(32))
    if make_current:
        data["field_key_current"] = kid
        data.pop("field_key_prepared", None)
    else:
        data["field_key_prepared"] = kid
    write_key_file(Path(settings.key_file), data)
    return old, kid


def retire_keys(settings: Settings, keep: str) -> list[str]:
    data = _read_key_file(settings)
    if data.get("field_key_current") != keep:
        raise RotationError("密钥文件的当前密钥已变化，拒绝删除旧密钥")
    gone = [k for k in data["field_keys"] if k not in (keep, data.get("field_key_prepared"))]
    for k in gone:
        del data["field_keys"][k]
    write_key_file(Path(settings.key_file), data)
    return gone


def cipher_for(settings: Settings) -> FieldCipher:
    keys = load_keys(settings)
    cipher = FieldCipher(keys.field_keys, keys.field_key_current)
    cipher.self_test()
    return cipher


# ---------------------------------------------------------------------- re-encrypt


@dataclass
class RotationReport:
    old_key: str | None
    new_key: str
    scanned: dict[str, int] = field(default_factory=dict)
    rotated: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0  # rows changed by someone else meanwhile: left for --resume
    retired: list[str] = field(default_factory=list)
    remaining: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"old_key": self.old_key, "new_key": self.new_key, "scanned": self.scanned,
                "rotated": self.rotated, "conflicts": self.conflicts,
                "retired": self.retired, "remaining": self.remaining}


def _table(bind: Engine | Connection, spec: CipherColumn) -> tuple[Table, Column, Column]:
    meta = MetaData()
    t = Table(spec.table, meta, autoload_with=bind)
    return t, t.c[spec.pk], t.c[spec.column]


def reencrypt(engine: Engine, cipher: FieldCipher, *, batch: int = 2000,
              report: RotationReport | None = None,
              after_batch: Callable[[str, int], None] | None = None) -> RotationReport:
    """Bring every ciphertext under the cipher's current key, batch by batch."""
    check_registry()
    report = report or RotationReport(None, cipher.current_key_id)
    sessions = make_sessionmaker(engine)
    for spec in CIPHER_COLUMNS:
        name = f"{spec.table}.{spec.column}"
        table, pk, col = _table(engine, spec)
        stmt = (update(table).where(and_(pk == bindparam("_pk"), col == bindparam("_old")))
                .values({col.name: bindparam("_new")}))
        last = None
        scanned = rotated = 0
        while True:
            with unit_of_work(sessions) as s:
                q = select(pk, col).where(col.is_not(None)).order_by(pk).limit(batch)
                if last is not None:
                    q = q.where(pk > last)
                rows = s.execute(q).all()
                if not rows:
                    break
                last = rows[-1][0]
                params = [
                    {"_pk": key, "_old": token,
                     "_new": cipher.encrypt(cipher.decrypt(token, context=spec.context),
                                            context=spec.context)}
                    for key, token in rows if cipher.needs_rotation(token)
                ]
                if params:
                    res = s.connection().execute(stmt, params)
                    sane = engine.dialect.supports_sane_multi_rowcount
                    done = res.rowcount if sane and res.rowcount >= 0 else len(params)
                    report.conflicts += len(params) - done
                    rotated += done
                scanned += len(rows)
            if after_batch:
                after_batch(name, scanned)
        report.scanned[name] = report.scanned.get(name, 0) + scanned
        report.rotated[name] = report.rotated.get(name, 0) + rotated
    return report


def count_not_current(engine: Engine, current: str) -> dict[str, int]:
    """Ciphertexts that name any key other than `current` (by their key-id prefix)."""
    out = {}
    prefix = f"v1.{current}.%"
    with engine.connect() as conn:
        for spec in CIPHER_COLUMNS:
            table, _, col = _table(conn, spec)
            out[f"{spec.table}.{spec.column}"] = conn.execute(
                select(func.count()).select_from(table)
                .where(col.is_not(None), col.not_like(prefix))).scalar() or 0
    return out


def rotate(settings: Settings, engine: Engine, *, resume: bool = False, retire_old: bool = False,
           batch: int = 2000, actor: Principal | None = None,
           after_batch: Callable[[str, int], None] | None = None) -> RotationReport:
    """`chengxin keys rotate`: new key (unless resuming), re-encrypt, optionally retire."""
    actor = actor or cli_principal("keys.rotate")
    check_registry()
    sessions = make_sessionmaker(engine)
    if resume:
        old, new = None, _read_key_file(settings).get("field_key_current", "")
    else:
        old, new = add_field_key(settings)
        with unit_of_work(sessions) as s:
            record(s, actor, "keys.add", object_type="field_key", object_id=new,
                   details={"previous": old, "current": new})
    report = RotationReport(old, new)
    reencrypt(engine, cipher_for(settings), batch=batch, report=report, after_batch=after_batch)
    report.remaining = count_not_current(engine, new)
    if retire_old:
        if any(report.remaining.values()):
            raise RotationError(f"仍有密文使用旧密钥 {report.remaining}，不能删除旧密钥")
        report.retired = retire_keys(settings, new)
    with unit_of_work(sessions) as s:
        record(s, actor, "keys.rotate", object_type="field_key", object_id=new,
               details={k: v for k, v in report.as_dict().items() if k != "old_key"}
               | {"resumed": resume})
    return report
