"""The signed change feed an upper-level platform pulls.

A page is read set-based: one query for the change-log window, one per kind for the rows
it points at, one for the persons whose ID numbers the items carry. What is sent follows
the sharing rules of docs/exchange.md:

- records of catalog items with visibility `internal` are not shared upward at all
  (neither content nor state nor list events);
- a version's content is sent only while the record may be shared: once a record is
  `repaired` (停止共享, 36号令 art. 3) or `deleted`, its versions are withheld and only
  its state changes travel;
- persons are sent with their ID number in clear inside the signed page: the receiver is
  a statutory 政务共享 partner that must merge identities, the channel must be TLS and the
  receiver is authenticated by its API key (see docs/exchange.md).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal, Role
from chengxin.audit.service import record as audit
from chengxin.errors import Forbidden
from chengxin.exchange.mapping import CatalogMapping, load_mapping
from chengxin.exchange.models import ChangeLog
from chengxin.exchange.signing import encode_cursor, sign_page
from chengxin.keys import signer
from chengxin.records.models import CreditRecord, RecordState, RecordVersion
from chengxin.reference.models import CatalogItem, Department
from chengxin.runtime import runtime_of
from chengxin.sanctions.models import ListEntry, ListEvent
from chengxin.subjects.models import Person
from chengxin.subjects.service import ID_DOMAIN

PLATFORM_ENV = "CHENGXIN_PLATFORM_ID"
LEVEL_RANK = {"county": 1, "city": 2, "province": 3, "national": 4}
WITHHELD_STATUSES = ("repaired", "deleted")
_KIND_OUT = {"version": "record_version", "state": "record_state", "list_event": "list_event"}


def _iso(at: dt.datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


# -- who we are, who may pull ------------------------------------------------------------
def platform_id(session: Session) -> str:
    """This instance's platform id: CHENGXIN_PLATFORM_ID, else the code of its own credit
    office (the active credit office of the lowest level in the reference data)."""
    env = (os.environ.get(PLATFORM_ENV) or runtime_of(session).settings.platform_id or "").strip()
    if env:
        return env
    offices = session.execute(select(Department.code, Department.level).where(
        Department.is_credit_office.is_(True), Department.active.is_(True))).all()
    if not offices:
        return "unknown"
    return min(offices, key=lambda o: (LEVEL_RANK.get(o.level, 0), o.code)).code


def own_level(session: Session, pid: str) -> int:
    level = session.scalar(select(Department.level).where(Department.code == pid))
    return LEVEL_RANK.get(level or "", 0)


def ensure_upper_platform(session: Session, principal: Principal) -> Department:
    """The feed is for an upper-level platform's system: an API key (role system) whose
    department is an active credit office of a higher level than this platform's own."""
    if principal.role != Role.SYSTEM or not principal.department_code:
        raise Forbidden("仅上级信用平台的系统密钥可以拉取变更", code="not_upper_platform")
    dept = session.get(Department, principal.department_code)
    if dept is None or not dept.is_credit_office or not dept.active:
        raise Forbidden("仅上级信用平台的系统密钥可以拉取变更", code="not_upper_platform")
    if LEVEL_RANK.get(dept.level, 0) <= own_level(session, platform_id(session)):
        raise Forbidden("仅上级信用平台的系统密钥可以拉取变更", code="not_upper_platform")
    return dept


def mapping_of(session: Session) -> CatalogMapping:
    rt = runtime_of(session)
    cached = rt.caches.get("exchange_catalog_mapping")
    if cached is None:
        known = set(session.scalars(select(CatalogItem.code)))
        cached = load_mapping(rt.settings.reference_dir, known)
        rt.caches["exchange_catalog_mapping"] = cached
    return cached


# -- reading a page ----------------------------------------------------------------------
class _Reader:
    def __init__(self, session: Session, receiver: str | None) -> None:
        self.s = session
        self.rt = runtime_of(session)
        self.pid = platform_id(session)
        self.receiver = receiver
        self.codes = mapping_of(session).for_receiver(receiver)
        self.visibility = dict(session.execute(select(CatalogItem.code, CatalogItem.visibility)).all())
        self.records: dict[int, Any] = {}
        self.persons: set[int] = set()

    def shareable_item(self, item_code: str) -> bool:
        return self.visibility.get(item_code, "internal") != "internal"

    def _load_records(self, ids: set[int]) -> None:
        want = [i for i in ids if i not in self.records]
        # derived records name their origin in their key: load origins too
        for chunk in _chunks(want):
            for rec in self.s.scalars(select(CreditRecord).where(CreditRecord.id.in_(chunk))):
                self.records[rec.id] = rec
        origins = {r.derived_from for r in self.records.values()
                   if r.derived_from and r.derived_from not in self.records}
        for chunk in _chunks(list(origins)):
            for rec in self.s.scalars(select(CreditRecord).where(CreditRecord.id.in_(chunk))):
                self.records[rec.id] = rec

    def key(self, rec: CreditRecord) -> dict[str, Any]:
        origin = self.records.get(rec.derived_from) if rec.derived_from else None
        return {"platform_id": self.pid, "department_code": rec.department_code,
                "document_no": rec.document_no,
                "derived_from": None if origin is None else {
                    "department_code": origin.department_code, "document_no": origin.document_no,
                    "role": rec.derived_role}}

    def read(self, window: list[ChangeLog]) -> list[dict[str, Any]]:
        by_kind: dict[str, list[int]] = {"version": [], "state": [], "list_event": []}
        for c in window:
            by_kind.setdefault(c.kind, []).append(c.ref_id)
        versions = {v.id: v for chunk in _chunks(by_kind["version"]) for v in self.s.scalars(
            select(RecordVersion).where(RecordVersion.id.in_(chunk)))}
        states = {v.id: v for chunk in _chunks(by_kind["state"]) for v in self.s.scalars(
            select(RecordState).where(RecordState.id.in_(chunk)))}
        events = {e.id: (e, en) for chunk in _chunks(by_kind["list_event"]) for e, en in
                  self.s.execute(select(ListEvent, ListEntry).join(
                      ListEntry, ListEntry.id == ListEvent.entry_id).where(ListEvent.id.in_(chunk)))}
        self._load_records({v.record_id for v in versions.values()}
                           | {s.record_id for s in states.values()}
                           | {en.record_id for _, en in events.values() if en.record_id})
        items: list[dict[str, Any]] = []
        for c in window:
            item = None
            if c.kind == "version" and c.ref_id in versions:
                item = self._version(versions[c.ref_id])
            elif c.kind == "state" and c.ref_id in states:
                item = self._state(states[c.ref_id])
            elif c.kind == "list_event" and c.ref_id in events:
                item = self._list_event(*events[c.ref_id])
            if item is not None:
                items.append({"seq": c.seq, "kind": _KIND_OUT.get(c.kind, c.kind),
                              "at": _iso(c.at), **item})
        self._fill_identities(items)
        return items

    def _version(self, v: RecordVersion) -> dict[str, Any] | None:
        rec = self.records.get(v.record_id)
        if rec is None or not self.shareable_item(rec.item_code):
            return None
        if rec.status in WITHHELD_STATUSES:
            return None  # 停止共享: only the state change travels
        p = v.payload
        subj = p.get("subject") or {}
        if p.get("subject_type") == "person":
            subject = {"type": "person", "name": p.get("subject_name"),
                       "_person_id": subj.get("person_id")}
            self.persons.add(subj.get("person_id"))
        else:
            subject = {"type": "organization", "name": p.get("subject_name"),
                       "uscc": subj.get("uscc")}
        responsible = []
        for r in p.get("responsible_persons") or []:
            self.persons.add(r.get("person_id"))
            responsible.append({"_person_id": r.get("person_id"), "name": r.get("name"),
                                "role": r.get("role")})
        payload = {
            "decision_date": p.get("decision_date"), "content": p.get("content"),
            "legal_basis": p.get("legal_basis"), "group_code": p.get("group_code"),
            "valid_until": p.get("valid_until"), "attributes": p.get("attributes") or {},
            "responsible_persons": responsible,
        }
        return {"department_code": rec.department_code, "record": self.key(rec),
                "item_code": self.codes.get(rec.item_code, rec.item_code),
                "source_item_code": rec.item_code, "version": v.version,
                "subject": subject, "payload": payload}

    def _state(self, st: RecordState) -> dict[str, Any] | None:
        rec = self.records.get(st.record_id)
        if rec is None or not self.shareable_item(rec.item_code):
            return None
        return {"department_code": rec.department_code, "record": self.key(rec),
                "status": st.status, "reason": st.reason, "since": _iso(st.since)}

    def _list_event(self, ev: ListEvent, en: ListEntry) -> dict[str, Any] | None:
        rec = self.records.get(en.record_id) if en.record_id else None
        if en.item_code and not self.shareable_item(en.item_code):
            return None
        if rec is not None and not self.shareable_item(rec.item_code):
            return None
        d = lambda x: x.isoformat() if x else None  # noqa: E731
        return {"department_code": en.department_code, "entry": {
            "type": en.list_type, "name": en.list_name,
            "item_code": self.codes.get(en.item_code, en.item_code) if en.item_code else None,
            "record": self.key(rec) if rec is not None else None,
            "event": ev.event, "from_status": ev.from_status, "status": ev.to_status,
            "listed_on": d(en.listed_on), "effective_from": d(en.effective_from),
            "effective_until": d(en.effective_until), "ended_on": d(en.ended_on),
            "end_reason": en.end_reason, "decision_document": en.decision_document}}

    def _fill_identities(self, items: list[dict[str, Any]]) -> None:
        ids = [i for i in self.persons if i is not None]
        clear: dict[int, str] = {}
        for chunk in _chunks(ids):
            for pid, enc in self.s.execute(select(Person.id, Person.id_enc).where(Person.id.in_(chunk))):
                clear[pid] = self.rt.cipher.decrypt(enc, context=ID_DOMAIN)
        for item in items:
            subject = item.get("subject")
            if subject and "_person_id" in subject:
                subject["id_number"] = clear.get(subject.pop("_person_id"))
            for r in (item.get("payload") or {}).get("responsible_persons", []):
                r["id_number"] = clear.get(r.pop("_person_id"))


def _chunks(items: list[Any], size: int = 900) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def read_changes(session: Session, *, actor: Principal, after: int, limit: int,
                 receiver: str | None, after_text: str | None = None) -> dict[str, Any]:
    """One signed page of changes after sequence `after`. Audited as one aggregated entry
    (cursor range, item count, number of persons whose identities were sent), not one
    query-log row per person: a page may carry a thousand persons."""
    rt = runtime_of(session)
    window = list(session.scalars(select(ChangeLog).where(ChangeLog.seq > after)
                                  .order_by(ChangeLog.seq).limit(limit + 1)))
    has_more = len(window) > limit
    window = window[:limit]
    reader = _Reader(session, receiver)
    items = reader.read(window)
    last = window[-1].seq if window else after
    page: dict[str, Any] = {
        "after": after_text or None,
        "items": items, "next_cursor": encode_cursor(last), "has_more": has_more,
        "platform": {"id": reader.pid, "key_id": rt.keys.signing_key_id},
        "receiver": receiver, "generated_at": _iso(clock.now()),
    }
    page["signature"] = sign_page(signer(rt.keys), page)
    audit(session, actor, "exchange.feed_read", object_type="exchange_feed",
          object_id=reader.pid, purpose="政务共享（上级信用平台归集）",
          details={"after_seq": after, "to_seq": last, "scanned": len(window),
                   "items": len(items), "persons": len({p for p in reader.persons if p}),
                   "receiver": receiver})
    return page
