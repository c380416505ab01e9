"""Signed audit checkpoints, verification against them, and the audit export.

Checkpoints (`chengxin audit checkpoint`, from cron): the chain's head (seq, hash) signed
with the platform's Ed25519 key. Before signing, the chain is verified from the previous
checkpoint on, so a checkpoint never vouches for an already-tampered tail. A rewrite of
the whole chain with recomputed hashes passes `verify_chain` but not
`verify_with_checkpoints`: the checkpointed seq no longer has the signed hash. A cut-off
tail is caught because the last checkpoint's seq no longer exists. Copies of the
checkpoints kept elsewhere (the export, the log shipper) also defend against someone
who deletes the checkpoints together with the log.

Export (`chengxin audit export`): JSON lines, one entry per line with every hashed field
and both hashes, so another system can re-verify with `chain_hash` (sha256 of
prev_hash + "\\n" + the canonical JSON of the hashed fields; see audit/service.py). The
application never deletes audit entries: 网络安全法 Art. 21 asks for at least six months,
and that is a minimum; archives are made by export, not by purging.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal
from chengxin.audit.checkpoint_models import AuditCheckpoint
from chengxin.audit.models import AuditEntry
from chengxin.audit.service import _HASHED_FIELDS, GENESIS, chain_hash, record
from chengxin.audit.verify import VerifyResult, verify_chain

_DOMAIN = b"chengxin-audit-checkpoint-v1\n"


def checkpoint_message(seq: int, head_hash: str, signed_at: dt.datetime, key_id: str) -> bytes:
    at = signed_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return _DOMAIN + f"{seq}\n{head_hash}\n{at}\n{key_id}".encode("ascii")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def public_key_from(value: Ed25519PublicKey | bytes | str) -> Ed25519PublicKey:
    if isinstance(value, Ed25519PublicKey):
        return value
    raw = base64.urlsafe_b64decode(value) if isinstance(value, str) else value
    return Ed25519PublicKey.from_public_bytes(raw)


# ----------------------------------------------------------------------- checkpoint


@dataclass
class CheckpointResult:
    created: bool
    seq: int | None
    head_hash: str | None
    problem: str | None = None


def _verify_from(session: Session, seq: int, head: str, batch: int = 5000) -> VerifyResult:
    """Verify the chain after a trusted (seq, hash): only what the last checkpoint did not cover."""
    expected, prev, count = seq + 1, head, 0
    stmt = (select(AuditEntry).where(AuditEntry.seq > seq).order_by(AuditEntry.seq)
            .execution_options(yield_per=batch))
    for row in session.scalars(stmt):
        if row.seq != expected:
            return VerifyResult(False, count, row.seq, f"missing entries before seq {row.seq}")
        if row.prev_hash != prev:
            return VerifyResult(False, count, row.seq, "link to the previous entry broken")
        if chain_hash(prev, {f: getattr(row, f) for f in _HASHED_FIELDS}) != row.hash:
            return VerifyResult(False, count, row.seq, "entry content altered")
        prev, expected, count = row.hash, expected + 1, count + 1
    return VerifyResult(True, count)


def create_checkpoint(session: Session, signing_key: Ed25519PrivateKey, key_id: str,
                      *, public_key: Ed25519PublicKey | None = None) -> CheckpointResult:
    """Sign the current head, unless nothing was appended since the last checkpoint."""
    head = session.execute(select(AuditEntry.seq, AuditEntry.hash)
                           .order_by(AuditEntry.seq.desc()).limit(1)).first()
    if head is None:
        return CheckpointResult(False, None, None, "审计日志为空")
    last = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc(),
                                                            AuditCheckpoint.id.desc()).limit(1)).first()
    if last is not None and last.seq == head.seq:
        return CheckpointResult(False, head.seq, head.hash)
    if last is None:
        check = verify_chain(session)
    else:
        # The previous checkpoint must still hold before we build on it.
        at = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == last.seq))
        if at != last.head_hash:
            return CheckpointResult(False, head.seq, head.hash,
                                    f"序号 {last.seq} 的哈希与上一个检查点不符，拒绝签署")
        check = _verify_from(session, last.seq, last.head_hash)
    if not check.ok:
        return CheckpointResult(False, head.seq, head.hash,
                                f"哈希链校验失败（序号 {check.first_bad_seq}: "
                                f"{check.problem}），拒绝签署")
    signed_at = clock.now()
    sig = signing_key.sign(checkpoint_message(head.seq, head.hash, signed_at, key_id))
    session.add(AuditCheckpoint(seq=head.seq, head_hash=head.hash, signed_at=signed_at,
                                signature=_b64(sig), key_id=key_id))
    session.flush()
    return CheckpointResult(True, head.seq, head.hash)


# ------------------------------------------------------------------------- verify


@dataclass
class CheckpointVerifyResult:
    ok: bool
    entries: int
    checkpoints: int
    first_bad_seq: int | None = None
    problem: str | None = None
    last_checkpoint_seq: int | None = None


def verify_with_checkpoints(
    session: Session,
    public_key: Ed25519PublicKey | bytes | str | Mapping[str, Ed25519PublicKey | bytes | str],
) -> CheckpointVerifyResult:
    """The chain check plus every signed checkpoint: detects a rewrite of the whole chain
    (checkpointed hash changed) and a truncated tail (checkpointed seq gone).

    `public_key` is the trusted verification key (from configuration or pinned
    out-of-band — never from the database being verified), or {key_id: key} when the
    signing key has been changed over time."""
    keys: dict[str, Ed25519PublicKey] | None
    if isinstance(public_key, Mapping):
        keys, single = {k: public_key_from(v) for k, v in public_key.items()}, None
    else:
        keys, single = None, public_key_from(public_key)
    chain = verify_chain(session)
    n_cp = session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0
    if not chain.ok:
        return CheckpointVerifyResult(False, chain.entries, n_cp, chain.first_bad_seq,
                                      chain.problem)
    last_seq = session.scalar(select(func.max(AuditEntry.seq))) or 0
    checked, prev_seq, prev_at = 0, 0, None
    stmt = select(AuditCheckpoint).order_by(AuditCheckpoint.seq, AuditCheckpoint.id)
    for cp in session.scalars(stmt.execution_options(yield_per=1000)):
        key = single if keys is None else keys.get(cp.key_id)
        if key is None:
            return CheckpointVerifyResult(False, chain.entries, n_cp, cp.seq,
                                          f"checkpoint at seq {cp.seq}: "
                                          f"unknown signing key {cp.key_id}")
        try:
            key.verify(base64.urlsafe_b64decode(cp.signature),
                       checkpoint_message(cp.seq, cp.head_hash, cp.signed_at, cp.key_id))
        except (InvalidSignature, ValueError):
            return CheckpointVerifyResult(False, chain.entries, n_cp, cp.seq,
                                          f"checkpoint at seq {cp.seq}: signature invalid")
        if cp.seq < prev_seq or (prev_at is not None and cp.signed_at < prev_at):
            return CheckpointVerifyResult(False, chain.entries, n_cp, cp.seq,
                                          f"checkpoint at seq {cp.seq}: out of order")
        if cp.seq > last_seq:
            return CheckpointVerifyResult(
                False, chain.entries, n_cp, cp.seq,
                f"log truncated: checkpoint at seq {cp.seq} but the log ends at {last_seq}")
        at = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == cp.seq))
        if at != cp.head_hash:
            return CheckpointVerifyResult(
                False, chain.entries, n_cp, cp.seq,
                f"chain rewritten: entry {cp.seq} no longer has the signed hash")
        checked, prev_seq, prev_at = checked + 1, cp.seq, cp.signed_at
    return CheckpointVerifyResult(True, chain.entries, checked,
                                  last_checkpoint_seq=prev_seq or None)


# ------------------------------------------------------------------------- export


def entry_as_json(row: AuditEntry) -> dict[str, Any]:
    out = {f: getattr(row, f) for f in _HASHED_FIELDS}
    out["at"] = row.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    out["prev_hash"] = row.prev_hash
    out["hash"] = row.hash
    return out


def since_start(day: dt.date) -> dt.datetime:
    """--since is a date in China time (what operators and auditors mean by a day)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=clock.CHINA)


def export_audit(session: Session, path: Path, *, since: dt.date | None = None,
                 actor: Principal | None = None, batch: int = 5000) -> dict[str, Any]:
    """Write entries (from `since`, China time) as JSON lines; atomically, mode 0600."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    stmt = select(AuditEntry).order_by(AuditEntry.seq)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since_start(since))
    count, first, last = 0, None, None
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            for row in session.scalars(stmt.execution_options(yield_per=batch)):
                fh.write(json.dumps(entry_as_json(row), ensure_ascii=False,
                                    sort_keys=True).encode() + b"\n")
                count += 1
                first = first or row.seq
                last = row.seq
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if actor is not None:
        record(session, actor, "audit.export", object_type="audit_log",
               details={"entries": count, "first_seq": first, "last_seq": last,
                        "since": since.isoformat() if since else None})
    return {"entries": count, "first_seq": first, "last_seq": last}


def verify_export(path: Path) -> VerifyResult:
    """Re-verify an export file without the database (what an external system does).
    A partial export (--since) starts from its first line's prev_hash."""
    prev: str | None = None
    expected: int | None = None
    count = 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            e = json.loads(line)
            if prev is None:
                prev = e["prev_hash"] if e["seq"] != 1 else GENESIS
                expected = e["seq"]
            if e["seq"] != expected:
                return VerifyResult(False, count, e["seq"],
                                    f"missing entries before seq {e['seq']}")
            if e["prev_hash"] != prev:
                return VerifyResult(False, count, e["seq"], "link to the previous entry broken")
            entry = {f: e[f] for f in _HASHED_FIELDS}
            entry["at"] = dt.datetime.fromisoformat(e["at"])
            if chain_hash(prev, entry) != e["hash"]:
                return VerifyResult(False, count, e["seq"], "entry content altered")
            prev, expected, count = e["hash"], e["seq"] + 1, count + 1
    return VerifyResult(True, count)
