"""Applying a verified feed page from a lower platform, in its order, idempotently.

Versions go through the one ingestion path (`ingest`), so a re-applied version with the
same content is `unchanged` and a changed one becomes a new version here; consecutive
versions are ingested as one batch per department (a record appearing twice in a run
starts a new batch, so its versions still apply in order). States are applied with
`change_status` only when they differ from the local status; list events move the local
list entry to the sender's status. Records derived at the sender (落实到人) are not
applied: ingesting the organisation's record derives them here too, and their states
follow the origin's by cascade.

Department: the sender's department code when this platform knows it (same reference
data at every level of the province); otherwise the record is kept under the sending
platform's credit office with the document number prefixed by the sender's department
code ("<dept>/<document_no>"); if neither is known the item is refused and kept in
exchange_apply_errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal, Role
from chengxin.exchange.models import ExchangeApplyError, ExchangeSource
from chengxin.records.ingest import ingest
from chengxin.records.models import RECORD_STATUSES, CreditRecord
from chengxin.records.states import change_status
from chengxin.reference.models import CatalogItem, Department
from chengxin.sanctions.models import ENTRY_STATUSES, ListEntry

_ROW_FIELDS = ("decision_date", "content", "legal_basis", "group_code", "valid_until",
               "attributes")


@dataclass
class ApplyResult:
    applied: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: ApplyResult) -> None:
        self.applied += other.applied
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        self.rejected += other.rejected

    def as_dict(self) -> dict[str, int]:
        return {"applied": self.applied, "unchanged": self.unchanged,
                "skipped": self.skipped, "rejected": self.rejected}


def exchange_actor(sender: str) -> Principal:
    label = f"exchange:{sender}"[:64]
    return Principal(kind="system", role=Role.SYSTEM, id=label, label=label)


class _Applier:
    def __init__(self, session: Session, source: ExchangeSource, sender: str) -> None:
        self.s = session
        self.source = source
        self.sender = sender
        self.actor = exchange_actor(sender)
        self.tag = f"exchange:{sender}"[:64]
        self.depts = set(session.scalars(select(Department.code)))
        self.catalog = set(session.scalars(select(CatalogItem.code)))
        self.result = ApplyResult()
        self.batch: list[tuple[int, dict[str, Any]]] = []
        self.batch_dept: str | None = None
        self.batch_docs: set[str] = set()

    # -- keys -----------------------------------------------------------------------------
    def local_key(self, key: dict[str, Any] | None) -> tuple[str, str] | None:
        if not key or key.get("derived_from"):
            return None
        dept, doc = key.get("department_code"), key.get("document_no")
        if not isinstance(dept, str) or not isinstance(doc, str):
            return None
        if dept in self.depts:
            return dept, doc
        if self.sender in self.depts:
            return self.sender, f"{dept}/{doc}"[:100]
        return None

    def local_record(self, key: tuple[str, str]) -> tuple[int, str] | None:
        row = self.s.execute(select(CreditRecord.id, CreditRecord.status).where(
            CreditRecord.department_code == key[0], CreditRecord.document_no == key[1],
            CreditRecord.derived_from.is_(None))).first()
        return (row.id, row.status) if row else None

    def refuse(self, seq: int, kind: str, code: str, message: str) -> None:
        self.result.rejected += 1
        err = {"source_id": self.source.id, "seq": seq, "kind": kind[:16], "code": code[:64],
               "message": message[:500], "created_at": clock.now()}
        self.result.errors.append(err)
        self.s.execute(insert(ExchangeApplyError), [err])

    # -- versions -------------------------------------------------------------------------
    def version(self, item: dict[str, Any]) -> None:
        rec = item.get("record") or {}
        if rec.get("derived_from"):
            self.result.skipped += 1
            return
        key = self.local_key(rec)
        if key is None:
            self.refuse(item["seq"], "version", "unknown_department",
                        "发送方部门在本平台不存在，且本平台没有发送方信用办")
            return
        row = self._row(item, key[1])
        if row is None:
            self.refuse(item["seq"], "version", "bad_item", "变更条目格式不正确")
            return
        if self.batch_dept != key[0] or key[1] in self.batch_docs:
            self.flush()
        self.batch_dept = key[0]
        self.batch_docs.add(key[1])
        self.batch.append((item["seq"], row))

    def _row(self, item: dict[str, Any], document_no: str) -> dict[str, Any] | None:
        subject, payload = item.get("subject"), item.get("payload")
        if not isinstance(subject, dict) or not isinstance(payload, dict):
            return None
        code = item.get("item_code")
        if code not in self.catalog and item.get("source_item_code") in self.catalog:
            code = item.get("source_item_code")  # no mapping for us: the sender's own code
        row: dict[str, Any] = {"subject_type": subject.get("type"),
                               "subject_name": subject.get("name"), "item_code": code,
                               "document_no": document_no}
        if subject.get("type") == "person":
            row["id_number"] = subject.get("id_number")
        else:
            row["uscc"] = subject.get("uscc")
        for k in _ROW_FIELDS:
            if payload.get(k) not in (None, {}):
                row[k] = payload[k]
        resp = payload.get("responsible_persons") or []
        if resp:
            row["responsible_persons"] = [
                {"id_number": r.get("id_number"), "name": r.get("name"), "role": r.get("role")}
                for r in resp if isinstance(r, dict)]
        return row

    def flush(self) -> None:
        if not self.batch:
            return
        seqs = [s for s, _ in self.batch]
        out = ingest(self.s, actor=self.actor, department_code=self.batch_dept or "",
                     rows=[r for _, r in self.batch], source=self.tag, channel="exchange")
        for seq, res in zip(seqs, out.results, strict=True):
            if res.status in ("created", "updated"):
                self.result.applied += 1
            elif res.status == "unchanged":
                self.result.unchanged += 1
            elif res.status == "held":
                self.result.skipped += 1  # in this platform's review queue (name mismatch)
            else:
                fields = ", ".join(sorted({str(e.get("field")) for e in res.errors}))
                self.refuse(seq, "version", "row_rejected", f"本平台校验未通过: {fields}")
        self.batch, self.batch_dept, self.batch_docs = [], None, set()

    # -- states and list events -------------------------------------------------------------
    def state(self, item: dict[str, Any]) -> None:
        self.flush()
        status = item.get("status")
        key = self.local_key(item.get("record"))
        if key is None or status not in RECORD_STATUSES:
            self.result.skipped += 1  # derived (follows its origin) or not for us
            return
        local = self.local_record(key)
        if local is None:
            self.result.skipped += 1  # content never shared (internal, repaired, deleted)
            return
        if local[1] == status:
            self.result.unchanged += 1
            return
        reason = f"{item.get('reason') or ''}（{self.sender} 报送）"
        change_status(self.s, [local[0]], status, reason=reason, actor=self.actor.label)
        self.result.applied += 1

    def list_event(self, item: dict[str, Any]) -> None:
        from chengxin.sanctions.lists import event

        self.flush()
        entry = item.get("entry") or {}
        key = self.local_key(entry.get("record"))
        status = entry.get("status")
        local = self.local_record(key) if key else None
        if local is None or status not in ENTRY_STATUSES:
            self.result.skipped += 1
            return
        en = self.s.scalar(select(ListEntry).where(ListEntry.record_id == local[0],
                                                   ListEntry.list_type == entry.get("type")))
        if en is None:
            self.result.skipped += 1
            return
        if en.status == status:
            self.result.unchanged += 1
            return
        import datetime as dt

        def day(v: Any) -> dt.date | None:
            try:
                return dt.date.fromisoformat(v) if isinstance(v, str) else None
            except ValueError:
                return None

        if status == "active" and day(entry.get("effective_from")):
            en.effective_from = day(entry.get("effective_from"))
            en.approved_by = en.approved_by or self.actor.label
        if status in ("removed", "expired"):
            en.ended_on = day(entry.get("ended_on")) or clock.today()
            en.end_reason = (entry.get("end_reason") or "decision")[:16]
        event(self.s, en, f"exchange_{entry.get('event') or 'sync'}"[:24], status,
              self.actor.label, f"{self.sender} 报送")
        self.result.applied += 1


def apply_items(session: Session, source: ExchangeSource, sender: str,
                items: list[dict[str, Any]]) -> ApplyResult:
    a = _Applier(session, source, sender)
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("seq"), int):
            a.result.rejected += 1
            continue
        kind = item.get("kind")
        if kind == "record_version":
            a.version(item)
        elif kind == "record_state":
            a.state(item)
        elif kind == "list_event":
            a.list_event(item)
        else:
            a.result.skipped += 1  # a kind this version does not know: forward compatible
    a.flush()
    return a.result
