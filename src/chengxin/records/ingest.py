"""Set-based ingestion of a batch of rows: the one path for the API, files and exchange.

Per batch, not per row: persons, organisations and existing records are looked up with a
few IN queries, and new rows go in with multi-row INSERTs, so that a 10,000-row batch
costs a handful of round trips. Bad rows are rejected with per-field errors; good rows
are kept. A re-sent row with the same content changes nothing; with changed content it
becomes a new version of the record (never an overwrite).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Date, String, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from chengxin import bulk, clock
from chengxin.accounts.principal import Principal
from chengxin.audit.service import record as audit
from chengxin.exchange.changes import emit
from chengxin.identity import mask_id_number, parse_id_number
from chengxin.records.models import (
    CreditRecord,
    GroupMembership,
    HeldRow,
    RecordState,
    RecordVersion,
    Submission,
)
from chengxin.records.validation import NormalRow, RowContext, validate_row
from chengxin.reference import repository as reference
from chengxin.reference.cache import cached
from chengxin.rights.policy import policy_from
from chengxin.runtime import runtime_of
from chengxin.subjects.models import Organization, Person
from chengxin.subjects.service import ID_DOMAIN

IN_CHUNK = 900  # stays under every backend's bound-parameter limit
HELD_CONTEXT = "held_row"


@dataclass
class RowResult:
    row: int
    status: str  # created | updated | unchanged | rejected | held
    record_id: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "status": self.status,
                               "record_id": self.record_id, "errors": self.errors}
        return out


@dataclass
class IngestResult:
    results: list[RowResult]

    @property
    def counts(self) -> Counter[str]:
        return Counter(r.status for r in self.results)

    @property
    def accepted(self) -> int:
        c = self.counts
        return c["created"] + c["updated"] + c["unchanged"]


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def row_context(session: Session, department_code: str) -> RowContext:
    catalog = cached(session, "catalog_by_code",
                     lambda s: {c["code"]: c for c in reference.list_catalog(s)})
    groups = cached(session, "group_codes", lambda s: {g["code"] for g in reference.list_groups(s)})
    return RowContext(catalog=catalog, department_code=department_code,
                      department_groups=reference.department_groups(session, department_code),
                      known_groups=groups, today=clock.today())


def ingest(
    session: Session,
    *,
    actor: Principal,
    department_code: str,
    rows: Sequence[Any],
    source: str,
    channel: str = "api",
    first_row: int = 1,
    row_numbers: Sequence[int] | None = None,
    pre_errors: dict[int, list[dict[str, Any]]] | None = None,
) -> IngestResult:
    """Validate and store a batch. `row_numbers` (files) maps positions to file rows;
    `pre_errors` carries problems found while reading a file's cells."""
    ctx = row_context(session, department_code)
    numbers = list(row_numbers) if row_numbers is not None else [
        first_row + i for i in range(len(rows))]
    results: dict[int, RowResult] = {}
    valid: list[NormalRow] = []
    seen_docs: dict[str, int] = {}
    for raw, n in zip(rows, numbers, strict=True):
        norm, errors = validate_row(raw, n, ctx)
        pre = (pre_errors or {}).get(n, [])
        if pre:
            # A cell already refused while reading the file: no second error for it.
            seen = {p["field"] for p in pre}
            errors = pre + [e for e in errors if e["field"] not in seen]
        if norm is not None and not errors and norm.document_no in seen_docs:
            errors = [{"row": n, "field": "document_no", "code": "duplicate_in_batch",
                       "message": f"决定文书号与本批第 {seen_docs[norm.document_no]} 行重复"}]
        if errors or norm is None:
            results[n] = RowResult(n, "rejected", errors=errors)
            continue
        seen_docs[norm.document_no] = n
        valid.append(norm)

    batch = _Batch(session, actor, department_code, source, ctx)
    for norm in valid:
        results[norm.row] = RowResult(norm.row, "pending")
    batch.run(valid, results)
    if batch.new_records:
        from chengxin.sanctions.lists import sync_from_records

        _notify_negative(session, batch.new_records, ctx.catalog)
        sync_from_records(session, [rid for rid, _, _ in batch.new_records], actor=actor)

    ordered = [results[n] for n in numbers]
    _record_submissions(session, actor, department_code, channel, rows, ordered)
    outcome = IngestResult(ordered)
    audit(session, actor, "records.ingest", object_type="department", object_id=department_code,
          details={"source": source, "rows": len(ordered), **dict(outcome.counts)})
    return outcome


class _Batch:
    """The database half of one ingestion: subjects, holds, records, versions."""

    def __init__(self, session: Session, actor: Principal, department_code: str, source: str,
                 ctx: RowContext) -> None:
        self.s = session
        self.rt = runtime_of(session)
        self.actor = actor
        self.dept = department_code
        self.source = source
        self.ctx = ctx
        self.now = clock.now()
        self.actor_label = actor.name
        self.persons: dict[str, tuple[int, str]] = {}  # id18 -> (person id, known name)
        self.new_records: list[tuple[int, int | None, str]] = []  # (id, person id, item)
        self.policy = policy_from(str(self.rt.settings.reference_dir))
        self.orgs: dict[str, int] = {}
        self.digests: dict[str, str] = {}  # id18 -> blind index, for this batch only

    # -- subjects ---------------------------------------------------------------------
    def _digest(self, id18: str) -> str:
        # Each number is looked up, maybe inserted, and looked up again: one HMAC each,
        # kept only as long as this batch (which holds the clear numbers anyway).
        digest = self.digests.get(id18)
        if digest is None:
            digest = self.digests[id18] = self.rt.blind.digest(id18, domain=ID_DOMAIN)
        return digest

    def _load_persons(self, ids: set[str]) -> None:
        by_hash = {self._digest(i): i for i in ids}
        for where in bulk.where_in(self.s, Person.id_hash, list(by_hash)):
            q = select(Person.id, Person.id_hash, Person.name).where(where)
            for pid, h, name in self.s.execute(q):
                self.persons[by_hash[h]] = (pid, name)

    def _insert_persons(self, wanted: dict[str, str]) -> None:
        """Register persons not yet known (first name sent wins), race-safe."""
        if not wanted:
            return
        rows = []
        for id18, name in wanted.items():
            info = parse_id_number(id18)
            rows.append({
                "id_hash": self._digest(id18),
                "id_enc": self.rt.cipher.encrypt(id18, context=ID_DOMAIN),
                "id_masked": mask_id_number(id18, "staff"), "name": name,
                "birth_date": info.birth_date, "sex": info.sex,
                "region_code": info.region_code, "created_at": self.now,
            })
        for chunk in _chunks(rows, 500):
            self.s.execute(_insert_ignore(self.s, Person, "id_hash"), list(chunk))
        self._load_persons(set(wanted))

    def _resolve_orgs(self, rows: list[NormalRow]) -> None:
        names = {r.uscc: r.subject_name for r in rows if r.uscc}
        if not names:
            return
        new = [{"uscc": u, "name": n, "created_at": self.now} for u, n in names.items()]
        for chunk in _chunks(new, 500):
            self.s.execute(_insert_ignore(self.s, Organization, "uscc"), list(chunk))
        for where in bulk.where_in(self.s, Organization.uscc, list(names)):
            for oid, uscc in self.s.execute(
                    select(Organization.id, Organization.uscc).where(where)):
                self.orgs[uscc] = oid

    # -- the run -----------------------------------------------------------------------
    def run(self, rows: list[NormalRow], results: dict[int, RowResult]) -> None:
        if not rows:
            return
        ids = {r.id18 for r in rows if r.id18} | {p.id18 for r in rows for p in r.responsible}
        self._load_persons(ids)
        keep, new_names, held = self._split_mismatches(rows)
        self._insert_persons(new_names)
        for r, fields in held:
            self._hold(r, fields, results)
        self._resolve_orgs(keep)
        self._store(keep, results)

    def _split_mismatches(self, rows: list[NormalRow]
                          ) -> tuple[list[NormalRow], dict[str, str], list[tuple[NormalRow, list[str]]]]:
        """A name that differs from the one known for an ID number is held for review,
        never merged: it may be a typo, a changed name or a wrong number. Within a batch
        the first row that names a new number sets the name the others are compared to."""
        new_names: dict[str, str] = {}
        keep: list[NormalRow] = []
        held: list[tuple[NormalRow, list[str]]] = []
        for r in rows:
            pairs = ([(r.id18, r.subject_name, "subject_name")] if r.id18 else []) + [
                (p.id18, p.name, f"responsible_persons.{i}.name")
                for i, p in enumerate(r.responsible)]
            bad = []
            for id18, name, field_name in pairs:
                known = self.persons[id18][1] if id18 in self.persons else new_names.get(id18)
                if known is not None and known != name:
                    bad.append(field_name)
            if bad:
                held.append((r, bad))
                continue
            for id18, name, _ in pairs:
                if id18 not in self.persons:
                    new_names.setdefault(id18, name)
            keep.append(r)
        return keep, new_names, held

    def _hold(self, r: NormalRow, fields: list[str], results: dict[int, RowResult]) -> None:
        ids = ([r.id18] if r.id18 else []) + [p.id18 for p in r.responsible]
        person_id = next(self.persons[i][0] for i in ids if i in self.persons)
        blob = orjson.dumps(_row_blob(r)).decode()
        held = HeldRow(
            department_code=self.dept, document_no=r.document_no, person_id=person_id,
            sent_name=r.subject_name[:100],
            row_enc=self.rt.cipher.encrypt(blob, context=HELD_CONTEXT),
            status="pending", reason="姓名与已登记的身份证号码姓名不一致", source=self.source,
            created_at=self.now)
        self.s.add(held)
        self.s.flush()
        results[r.row] = RowResult(r.row, "held", errors=[
            {"row": r.row, "field": f, "code": "name_mismatch",
             "message": f"姓名与该身份证号码已登记的姓名不一致，已转人工核实 (编号 {held.id})"}
            for f in fields])

    def _payload(self, r: NormalRow) -> dict[str, Any]:
        subject: dict[str, Any]
        if r.id18:
            subject = {"person_id": self.persons[r.id18][0], "id_masked": mask_id_number(r.id18, "staff")}
        else:
            subject = {"organization_id": self.orgs[r.uscc or ""], "uscc": r.uscc}
        return {
            "subject_type": r.subject_type, "subject_name": r.subject_name, "subject": subject,
            "item_code": r.item_code, "document_no": r.document_no,
            "decision_date": r.decision_date.isoformat(), "content": r.content,
            "legal_basis": r.legal_basis, "group_code": r.group_code,
            "valid_until": r.valid_until.isoformat() if r.valid_until else None,
            "attributes": r.attributes,
            "responsible_persons": [
                {"person_id": self.persons[p.id18][0], "id_masked": mask_id_number(p.id18, "staff"),
                 "name": p.name, "role": p.role} for p in r.responsible],
        }

    def _columns(self, r: NormalRow, payload: dict[str, Any], digest: str) -> dict[str, Any]:
        item = self.ctx.catalog[r.item_code]
        display_until = self.policy.display_until(r.decision_date, item.get("severity"),
                                                  item.get("display_months"))
        return {
            "item_code": r.item_code, "subject_type": r.subject_type,
            "person_id": payload["subject"].get("person_id"),
            "organization_id": payload["subject"].get("organization_id"),
            "group_code": r.group_code, "decision_date": r.decision_date,
            "valid_until": r.valid_until,
            "display_until": display_until,
            "content_hash": digest, "updated_at": self.now,
        }

    def _store(self, rows: list[NormalRow], results: dict[int, RowResult]) -> None:
        existing: dict[str, Any] = {}
        docs = [r.document_no for r in rows]
        for where in bulk.where_in(self.s, CreditRecord.document_no, docs):
            q = select(CreditRecord.id, CreditRecord.document_no, CreditRecord.content_hash,
                       CreditRecord.version, CreditRecord.status).where(
                CreditRecord.department_code == self.dept, CreditRecord.derived_from.is_(None),
                where)
            for row in self.s.execute(q):
                existing[row.document_no] = row
        inserts, updates, touched = [], [], []
        for r in rows:
            payload = self._payload(r)
            digest = content_hash(payload)
            old = existing.get(r.document_no)
            if old is None:
                inserts.append((r, payload, digest))
            elif old.status == "deleted":
                results[r.row] = RowResult(r.row, "rejected", old.id, [{
                    "row": r.row, "field": "document_no", "code": "record_deleted",
                    "message": "该记录已按异议处理结果删除，不能再次报送；如有新的决定请使用新的文书号"}])
            elif old.content_hash == digest:
                results[r.row] = RowResult(r.row, "unchanged", old.id)
            else:
                updates.append((r, payload, digest, old))
        created = self._insert_records(inserts, results)
        changed = self._update_records(updates, results)
        touched = created + changed
        self._derive(touched)
        self._memberships([(r, rid) for r, rid, _ in touched])

    def _insert_records(self, inserts: list, results: dict[int, RowResult]) -> list:
        if not inserts:
            return []
        ids = self._new_records([
            {**self._columns(r, p, d), "department_code": self.dept, "document_no": r.document_no,
             "status": "active", "version": 1, "source": self.source, "created_at": self.now,
             "derived_from": None, "derived_role": None} for r, p, d in inserts])
        self._emit_versions([
            (rid, 1, p, d, "created", self.source, self.actor_label, self.now)
            for rid, (_, p, d) in zip(ids, inserts, strict=True)])
        self._states(ids, "active", "归集")
        for rid, (r, _, _) in zip(ids, inserts, strict=True):
            results[r.row] = RowResult(r.row, "created", rid)
        return [(r, rid, p) for rid, (r, p, _) in zip(ids, inserts, strict=True)]

    def _new_records(self, values: list[dict[str, Any]]) -> list[int]:
        """Insert new credit_records rows (dicts with every column but id)."""
        ids = bulk.insert_rows(self.s, CreditRecord, _RECORD_COLUMNS,
                               list(map(_record_tuple, values)))
        self.new_records.extend(
            (rid, v["person_id"], v["item_code"]) for rid, v in zip(ids, values, strict=True))
        return ids

    def _update_records(self, updates: list, results: dict[int, RowResult]) -> list:
        if not updates:
            return []
        self.s.execute(update(CreditRecord), [
            {"id": old.id, "version": old.version + 1, "source": self.source,
             **self._columns(r, p, d)} for r, p, d, old in updates])
        self._emit_versions([
            (old.id, old.version + 1, p, d, "resent", self.source, self.actor_label, self.now)
            for r, p, d, old in updates])
        for r, _, _, old in updates:
            results[r.row] = RowResult(r.row, "updated", old.id)
        return [(r, old.id, p) for r, p, _, old in updates]

    # -- 落实到人 ------------------------------------------------------------------------
    def _derive(self, touched: list) -> None:
        """An organisation's serious record is also recorded against its legal
        representative and the responsible persons named (落实到人), and follows it."""
        origins = [(r, rid, p) for r, rid, p in touched
                   if r.subject_type == "organization" and
                   self.ctx.catalog[r.item_code].get("severity") == "serious"]
        if not origins:
            return
        current: dict[tuple[int, int], Any] = {}
        origin_ids = [rid for _, rid, _ in origins]
        for where in bulk.where_in(self.s, CreditRecord.derived_from, origin_ids):
            q = select(CreditRecord.id, CreditRecord.derived_from, CreditRecord.person_id,
                       CreditRecord.content_hash, CreditRecord.version, CreditRecord.status
                       ).where(where)
            for row in self.s.execute(q):
                current[(row.derived_from, row.person_id)] = row
        inserts, updates, removals = [], [], []
        for r, rid, payload in origins:
            wanted = {p["person_id"]: p for p in payload["responsible_persons"]}
            for pid, person in wanted.items():
                dp = {**payload, "subject_type": "person", "subject_name": person["name"],
                      "subject": {"person_id": pid, "id_masked": person["id_masked"]},
                      "derived_from": rid, "derived_role": person["role"],
                      "responsible_persons": []}
                digest = content_hash(dp)
                old = current.get((rid, pid))
                cols = {**self._columns(r, dp, digest), "subject_type": "person",
                        "person_id": pid, "organization_id": None, "group_code": None}
                if old is None:
                    inserts.append({**cols, "department_code": self.dept,
                                    "document_no": r.document_no, "status": "active",
                                    "version": 1, "source": self.source,
                                    "created_at": self.now, "derived_from": rid,
                                    "derived_role": person["role"], "_payload": dp})
                elif old.content_hash != digest or old.status == "deleted":
                    updates.append((old, {**cols, "derived_role": person["role"]}, dp, digest))
            for (origin, pid), old in current.items():
                if origin == rid and pid not in wanted and old.status != "deleted":
                    removals.append(old.id)
        self._apply_derived(inserts, updates, removals)

    def _apply_derived(self, inserts: list, updates: list, removals: list) -> None:
        if inserts:
            payloads = [v.pop("_payload") for v in inserts]
            ids = self._new_records(inserts)
            self._versions(ids, [1] * len(ids), payloads, "created")
            self._states(ids, "active", "落实到人：由组织的严重失信记录生成")
        if updates:
            self.s.execute(update(CreditRecord), [
                {"id": old.id, "version": old.version + 1, "status": "active", **cols}
                for old, cols, _, _ in updates])
            self._versions([o.id for o, *_ in updates], [o.version + 1 for o, *_ in updates],
                           [dp for _, _, dp, _ in updates], "propagated")
            reopened = [o.id for o, *_ in updates if o.status == "deleted"]
            if reopened:
                self._states(reopened, "active", "落实到人：重新列为责任人")
        if removals:
            self.s.execute(update(CreditRecord), [
                {"id": rid, "status": "deleted", "updated_at": self.now} for rid in removals])
            self._states(removals, "deleted", "落实到人：更正后不再列为责任人")

    def _versions(self, ids: list[int], versions: list[int], payloads: list[dict],
                  reason: str) -> None:
        self._emit_versions([
            (rid, v, p, content_hash(p), reason, self.source, self.actor_label, self.now)
            for rid, v, p in zip(ids, versions, payloads, strict=True)])

    def _emit_versions(self, rows: list[tuple]) -> None:
        """Insert versions (tuples in _VERSION_COLUMNS order) and put them on the change
        feed (an upper level pulls them)."""
        ids = bulk.insert_rows(self.s, RecordVersion, _VERSION_COLUMNS, rows)
        emit(self.s, "version", ids, self.dept)

    def _states(self, ids: list[int], status: str, reason: str) -> None:
        bulk.insert_rows(self.s, RecordState, ("record_id", "status", "since", "reason", "actor"),
                         [(rid, status, self.now, reason, self.actor_label) for rid in ids],
                         with_ids=False)

    # -- key-group memberships -------------------------------------------------------
    def _memberships(self, touched: list[tuple[NormalRow, int]]) -> None:
        wanted: dict[tuple[int, str], dict[str, Any]] = {}
        for r, rid in touched:
            if r.group_code and r.id18:
                pid = self.persons[r.id18][0]
                facts = {"employer": r.attributes.get("employer"),
                         "position": r.attributes.get("position"),
                         "started_on": _as_date(r.attributes.get("employment_start")),
                         "record_id": rid}
                known = wanted.setdefault((pid, r.group_code), facts)
                # Several rows of one batch for the same membership: keep every fact sent.
                for key, value in facts.items():
                    if value is not None:
                        known[key] = value
        if not wanted:
            return
        have: dict[tuple[int, str], int] = {}
        m = GroupMembership
        for where in bulk.where_in(self.s, m.person_id, sorted({pid for pid, _ in wanted})):
            q = select(m.id, m.person_id, m.group_code).where(
                where, m.department_code == self.dept)
            for mid, pid, group in self.s.execute(q):
                have[(pid, group)] = mid
        new = [(pid, group, self.dept, info["employer"], info["position"], info["started_on"],
                info["record_id"], self.now)
               for (pid, group), info in wanted.items() if (pid, group) not in have]
        bulk.insert_rows(self.s, m, _MEMBERSHIP_COLUMNS, new, with_ids=False)
        known = [{"m_id": have[key], "m_employer": info["employer"],
                  "m_position": info["position"], "m_started_on": info["started_on"]}
                 for key, info in wanted.items() if key in have]
        if known:
            self.s.execute(_UPDATE_MEMBERSHIP.values(updated_at=self.now), known)


# Only facts that were sent replace known ones (a penalty row names no employer); the
# record a membership was first reported with stays.
_UPDATE_MEMBERSHIP = (
    update(GroupMembership.__table__)
    .where(GroupMembership.__table__.c.id == bindparam("m_id"))
    .values(employer=func.coalesce(bindparam("m_employer", type_=String),
                                   GroupMembership.__table__.c.employer),
            position=func.coalesce(bindparam("m_position", type_=String),
                                   GroupMembership.__table__.c.position),
            started_on=func.coalesce(bindparam("m_started_on", type_=Date),
                                     GroupMembership.__table__.c.started_on)))
_RECORD_COLUMNS = (
    "department_code", "document_no", "item_code", "subject_type", "person_id",
    "organization_id", "group_code", "decision_date", "valid_until", "display_until", "status",
    "version", "content_hash", "derived_from", "derived_role", "source", "created_at",
    "updated_at")
_record_tuple = itemgetter(*_RECORD_COLUMNS)  # a row dict in _RECORD_COLUMNS order, in C
_VERSION_COLUMNS = ("record_id", "version", "payload", "content_hash", "reason", "source",
                    "actor", "created_at")
_MEMBERSHIP_COLUMNS = ("person_id", "group_code", "department_code", "employer", "position",
                       "started_on", "record_id", "updated_at")


def _notify_negative(session: Session, new_records: list[tuple[int, int | None, str]],
                     catalog: dict[str, dict[str, Any]]) -> None:
    """两书同达: a person gets notice of a new negative record together with the way to
    object and to repair it. Every new record's item is in the batch's catalog."""
    from chengxin.rights.notices import notify_many

    notify_many(session, [
        {"person_id": pid, "kind": "negative_record", "title": "信用信息告知书",
         "body": (f"有关部门报送了一条关于您的“{catalog[item]['name']}”信息（记录 {rid}）。"
                  "如认为有误，可提出异议；"
                  "纠正失信行为、履行义务后，可在最短公示期满后申请信用修复（信用修复告知书）。"),
         "object_type": "record", "object_id": str(rid)}
        for rid, pid, item in sorted(new_records)
        if pid is not None and catalog[item]["polarity"] == "negative"])


def _as_date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else None


def content_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _row_blob(r: NormalRow) -> dict[str, Any]:
    return {
        "subject_type": r.subject_type, "subject_name": r.subject_name, "id_number": r.id18,
        "uscc": r.uscc, "item_code": r.item_code, "document_no": r.document_no,
        "decision_date": r.decision_date.isoformat(), "content": r.content,
        "legal_basis": r.legal_basis, "group_code": r.group_code,
        "valid_until": r.valid_until.isoformat() if r.valid_until else None,
        "attributes": r.attributes,
        "responsible_persons": [{"id_number": p.id18, "name": p.name, "role": p.role}
                                for p in r.responsible],
    }


def _insert_ignore(session: Session, model: type, key: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING: two imports may register the same person at once."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model).on_conflict_do_nothing(index_elements=[key])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model).on_conflict_do_nothing(index_elements=[key])


def _record_submissions(session: Session, actor: Principal, department_code: str,
                        channel: str, rows: Sequence[Any], results: list[RowResult]) -> None:
    """One submission row per key group in the batch: the cadence of each department–
    group pair is measured from these."""
    per_group: dict[str | None, list[int]] = {}
    for raw, res in zip(rows, results, strict=True):
        group = raw.get("group_code") if isinstance(raw, dict) else None
        group = group if isinstance(group, str) and group in cached(
            session, "group_codes", lambda s: {g["code"] for g in reference.list_groups(s)}) else None
        counts = per_group.setdefault(group, [0, 0])
        counts[0] += 1
        counts[1] += res.status in ("created", "updated", "unchanged")
    now = clock.now()
    label = actor.name
    session.execute(insert(Submission), [
        {"department_code": department_code, "group_code": g, "channel": channel, "at": now,
         "rows": n, "accepted": a, "actor": label} for g, (n, a) in per_group.items()])
