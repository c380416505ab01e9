"""Deterministic, streaming test data for the benchmarks: valid persons and credit rows.

Persons are numbered 0..P-1; person i always has the same ID number and name, so rows
for one person never disagree on the name (no held rows). Records are numbered 0..R-1;
record j belongs to person `person_of(j)`, and its item, decision date and document
number follow from j alone. Nothing is kept in memory: CSV files are written row by row.

Mix (by j): ~60 % PEN-002 general penalties, ~37 % EMP-001 employment rows (group
`teacher`, so group memberships are written too), ~3 % BLK-001 black-list rows.
About 40 % of the PEN-002 rows are decided 2–4 years ago, so their 12-month display
period is over and `chengxin expire` has real work.

Bulk loader (`BulkWriter`, `bulk_blocks`; driven by bench/run.py `bulk_load`): full
mode's base data set (9,000,000 records on PostgreSQL), and the whole data set of
report/check/expire when `--only` leaves out ingest, is written straight into the tables:
COPY on PostgreSQL (parallel processes, one slice of persons each), one executemany
transaction on SQLite. The measured import itself always goes through the real path
(`imports.create_job` + `run_job`), which runs at a few thousand rows/s: far too slow
for 9,000,000 rows on 2 cores.

What it writes: persons, credit_records, record_versions, record_states,
group_memberships, list_entries and list_events, with the values the import path computes
and through the same functions: rows normalised by the import's own `convert_row` +
`validate_row`; ID numbers encrypted (`rt.cipher`), blind-indexed (`rt.blind`) and masked
(`mask_id_number`); payloads shaped as `ingest._Batch._payload`, hashed by
`ingest.content_hash`; display periods from the policy (`policy_from`); list entries as
`sanctions.lists.sync_from_records` makes them. tests/test_bench_smoke.py loads the same
rows both ways into two databases and compares these tables column by column.

What it does not write, for the base set: audit rows, notices (告知书), change-feed rows
(change_log), submissions and import jobs. None of them is read by what report, check and
expire measure: the report reads records, versions, list entries, memberships,
objections, statements, query logs and annual statuses; the check reads records, list
entries, annual statuses and memberships; expiry reads records and list entries and only
appends to change_log and audit_log (an append does not depend on how many rows are
already there). One difference in kind: a group membership's record_id is the person's
last group row of the whole load, where a chunked import keeps the last row of the first
chunk that named the person (both are rows of that person and group).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from chengxin.identity import make_id_number

DEPARTMENT = "410522-jyj"   # 县教育局: responsible unit of the `teacher` group
GROUP = "teacher"
REGIONS = ("410522", "410523", "410526", "410527", "410581")
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢"
            "宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌海燕鹏飞云波"
HEADERS = [
    "subject_type", "subject_name", "id_number", "item_code", "document_no", "decision_date",
    "content", "legal_basis", "group_code",
    "attributes.violation_type", "attributes.punishment_type", "attributes.punishment_content",
    "attributes.employer", "attributes.employment_start", "attributes.position",
    "attributes.dishonest_conduct", "attributes.listing_authority", "attributes.listing_basis",
    "attributes.listed_on",
]
_BIRTH0 = dt.date(1950, 1, 1)
_MULT = 7919  # prime: spreads records of consecutive j over persons


def person_id_number(i: int) -> str:
    """Unique for i < 5 * 20000 * 1000 (region, birth day, sequence)."""
    region = REGIONS[i % len(REGIONS)]
    k = i // len(REGIONS)
    day = (k // 1000) * 17 % 20000  # injective for k//1000 < 20000 (gcd(17, 20000) = 1)
    return make_id_number(region, _BIRTH0 + dt.timedelta(days=day), k % 1000)


def person_name(i: int) -> str:
    return (SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)]
            + GIVEN[(i // 311) % len(GIVEN)])


def person_of(j: int, persons: int) -> int:
    return (j * _MULT) % persons


def item_of(j: int) -> str:
    h = (j * 2654435761) % 100
    return "PEN-002" if h < 60 else ("EMP-001" if h < 97 else "BLK-001")


def decision_date(j: int, today: dt.date) -> dt.date:
    h = (j * 40503) % 1000
    if item_of(j) == "PEN-002" and h < 400:           # past its 12-month display period
        return today - dt.timedelta(days=730 + h * 2)
    return today - dt.timedelta(days=1 + h % 300)


def record_row(j: int, persons: int, today: dt.date, tag: str) -> list[str]:
    p = person_of(j, persons)
    item = item_of(j)
    day = decision_date(j, today).isoformat()
    row = ["person", person_name(p), person_id_number(p), item, f"{tag}-{j}", day,
           "", "", ""] + [""] * 10
    if item == "PEN-002":
        row[6:9] = ["违反教师职业行为准则，有偿补课", "《中华人民共和国教师法》第三十七条", ""]
        row[9:12] = ["师德失范", "警告", "警告并通报批评"]
    elif item == "EMP-001":
        row[6:9] = ["在编教师从业信息", "", GROUP]
        started = today - dt.timedelta(days=400 + j % 3000)
        row[12:15] = [f"安阳县第{p % 40 + 1}中学", started.isoformat(), "教师"]
    else:
        row[6:9] = ["拒不履行法定义务，情节严重", "《失信行为纠正后的信用信息修复管理办法》", ""]
        row[15:19] = ["拒不履行法定义务", "安阳县教育局", "县教育局认定文书", day]
    return row


def iter_rows(start: int, stop: int, persons: int, today: dt.date, tag: str
              ) -> Iterator[list[str]]:
    for j in range(start, stop):
        yield record_row(j, persons, today, tag)


def write_csv(path: Path, start: int, stop: int, persons: int, today: dt.date, tag: str,
              only_persons: tuple[int, int] | None = None) -> int:
    """Stream rows j in [start, stop) to a UTF-8 CSV; returns the number written.
    `only_persons=(k, n)` keeps rows whose person index is k modulo n (a worker's slice)."""
    n = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for j in range(start, stop):
            if only_persons and person_of(j, persons) % only_persons[1] != only_persons[0]:
                continue
            w.writerow(record_row(j, persons, today, tag))
            n += 1
    return n


def raw_values(j: int, persons: int, today: dt.date, tag: str, now: dt.datetime) -> tuple:
    """The credit_records columns of row j, for the raw COPY / executemany baseline."""
    item = item_of(j)
    d = decision_date(j, today)
    until = None
    if item == "PEN-002":
        until = _add_months(d, 12)
    elif item == "BLK-001":
        until = _add_months(d, 36)
    return (DEPARTMENT, f"{tag}-{j}", item, "person", person_of(j, persons) + 1,
            GROUP if item == "EMP-001" else None, d, until, "active", 1,
            f"{j:064x}", "bench", now, now)


RAW_COLUMNS = ("department_code", "document_no", "item_code", "subject_type", "person_id",
               "group_code", "decision_date", "display_until", "status", "version",
               "content_hash", "source", "created_at", "updated_at")


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError



# --------------------------------------------------------------------------- bulk loader
#
# The base data set of --full (and the data of report/check/expire when ingest is not
# run) is written straight into the tables instead of through imports.run_job, which runs
# at a few thousand rows/s. Every value that is not plain data comes from the
# application's own functions: rows are normalised by the import's own convert_row +
# validate_row, ID numbers encrypted and blind-indexed by the runtime, masked by
# mask_id_number, hashed by ingest.content_hash, display periods from the policy.
# tests/test_bench_smoke.py checks the result column by column against a real import.

BULK_TABLES = ("persons", "credit_records", "record_versions", "record_states",
               "group_memberships", "list_entries", "list_events")
BULK_BLOCK = 20_000  # records per COPY round (and per transaction)


class BulkWriter:
    """Turns records j of one slice of persons into the rows the import path would have
    written to BULK_TABLES. Ids are assigned the way a single import of rows 0..n-1 into an
    empty database assigns them (records, versions and states: j + 1; persons: by first
    appearance), so that workers need no coordination and the check can compare ids."""

    def __init__(self, rt, persons: int, today: dt.date, now: dt.datetime, tag: str,  # type: ignore[no-untyped-def]
                 label: str, source: str) -> None:
        from chengxin.records.columns import map_header
        from chengxin.records.ingest import row_context
        from chengxin.rights.policy import policy_from

        self.rt, self.persons, self.today, self.now, self.tag = rt, persons, today, now, tag
        self.label, self.source = label, source
        with rt.uow() as s:
            self.ctx = row_context(s, DEPARTMENT)
        self.ctx.today = today
        self.header = map_header(HEADERS, self.ctx.catalog)
        self.policy = policy_from(str(rt.settings.reference_dir))

    # -- normalisation: the import's own code ------------------------------------------
    def normal_row(self, j: int):  # type: ignore[no-untyped-def]
        from chengxin.records.columns import convert_row
        from chengxin.records.validation import validate_row

        values = record_row(j, self.persons, self.today, self.tag)
        raw, problems = convert_row(self.header.cells(values), self.header, None, row=j + 2)
        norm, errors = validate_row(raw, j + 2, self.ctx)
        if problems or errors or norm is None:
            raise ValueError(f"generated row {j} is invalid: {problems or errors}")
        return norm

    # -- rows ---------------------------------------------------------------------------
    def person(self, i: int, pid: int) -> dict:
        from chengxin.identity import mask_id_number, parse_id_number
        from chengxin.subjects.service import ID_DOMAIN

        id18 = person_id_number(i)
        info = parse_id_number(id18)
        return {"id": pid, "id_hash": self.rt.blind.digest(id18, domain=ID_DOMAIN),
                "id_enc": self.rt.cipher.encrypt(id18, context=ID_DOMAIN),
                "id_masked": mask_id_number(id18, "staff"), "name": person_name(i),
                "birth_date": info.birth_date, "sex": info.sex,
                "region_code": info.region_code, "phone_hash": None, "phone_enc": None,
                "created_at": self.now}

    def payload(self, r, pid: int) -> dict:  # type: ignore[no-untyped-def]
        """ingest._Batch._payload for a person's row (the generator makes no others)."""
        from chengxin.identity import mask_id_number

        return {
            "subject_type": r.subject_type, "subject_name": r.subject_name,
            "subject": {"person_id": pid, "id_masked": mask_id_number(r.id18, "staff")},
            "item_code": r.item_code, "document_no": r.document_no,
            "decision_date": r.decision_date.isoformat(), "content": r.content,
            "legal_basis": r.legal_basis, "group_code": r.group_code,
            "valid_until": r.valid_until.isoformat() if r.valid_until else None,
            "attributes": r.attributes, "responsible_persons": [],
        }

    def record(self, j: int, pid: int, out: dict[str, list]) -> None:
        """Append record j's rows (record, version, state, list entry + event) to `out`."""
        from chengxin.records.ingest import content_hash

        r = self.normal_row(j)
        item = self.ctx.catalog[r.item_code]
        payload = self.payload(r, pid)
        digest = content_hash(payload)
        rid = j + 1
        rec = {"id": rid, "department_code": DEPARTMENT, "document_no": r.document_no,
               "item_code": r.item_code, "subject_type": r.subject_type, "person_id": pid,
               "organization_id": None, "group_code": r.group_code,
               "decision_date": r.decision_date, "valid_until": r.valid_until,
               "display_until": self.policy.display_until(
                   r.decision_date, item.get("severity"), item.get("display_months")),
               "status": "active", "version": 1, "content_hash": digest,
               "derived_from": None, "derived_role": None, "source": self.source,
               "created_at": self.now, "updated_at": self.now}
        out["credit_records"].append(rec)
        out["record_versions"].append({
            "id": rid, "record_id": rid, "version": 1, "payload": payload,
            "content_hash": digest, "reason": "created", "source": self.source,
            "actor": self.label, "created_at": self.now})
        out["record_states"].append({"id": rid, "record_id": rid, "status": "active",
                                     "since": self.now, "reason": "归集", "actor": self.label})
        if item.get("list") or item.get("category") == "focus_supervision":
            self._list_entry(rec, item, payload, out)

    def _list_entry(self, rec: dict, item: dict, payload: dict, out: dict[str, list]) -> None:
        """sanctions.lists.sync_from_records for one new record (id: the record's)."""
        kind = item.get("list") or "focus"
        status = "proposed" if kind == "black" else "active"
        out["list_entries"].append({
            "id": rec["id"], "list_type": kind, "list_name": item["name"],
            "person_id": rec["person_id"], "organization_id": None, "record_id": rec["id"],
            "item_code": rec["item_code"], "department_code": rec["department_code"],
            "basis": payload.get("legal_basis") or payload.get("content") or "",
            "decision_document": rec["document_no"], "listed_on": rec["decision_date"],
            "effective_from": rec["decision_date"] if kind != "black" else None,
            "effective_until": rec["valid_until"] or rec["display_until"],
            "status": status, "ended_on": None, "end_reason": None,
            "proposed_by": self.label, "approved_by": None, "source": rec["source"],
            "created_at": self.now, "updated_at": self.now})
        out["list_events"].append({
            "id": rec["id"], "entry_id": rec["id"],
            "event": "proposed" if kind == "black" else "listed", "from_status": None,
            "to_status": status, "at": self.now, "actor": self.label,
            "reason": f"由记录 {rec['id']} 生成"})

    def membership(self, j: int, pid: int) -> dict:
        """ingest._Batch._memberships: the facts of the person's last row of the group
        (later rows overwrite what they send; every generated row sends all facts)."""
        r = self.normal_row(j)
        started = r.attributes.get("employment_start")
        return {"id": pid, "person_id": pid, "group_code": r.group_code,
                "department_code": DEPARTMENT, "employer": r.attributes.get("employer"),
                "position": r.attributes.get("position"),
                "started_on": dt.date.fromisoformat(started) if isinstance(started, str)
                else None, "ended_on": None, "record_id": j + 1, "updated_at": self.now}


def person_ids(records: int, persons: int) -> list[int]:
    """Database id of each person index (0: never appears), in order of first appearance
    in rows 0..records-1, as the import path registers them."""
    ids = [0] * persons
    nxt = 1
    for j in range(records):
        p = person_of(j, persons)
        if not ids[p]:
            ids[p] = nxt
            nxt += 1
            if nxt > persons:
                break
    return ids


def bulk_blocks(w: BulkWriter, records: int, slice_: tuple[int, int]
                ) -> Iterator[dict[str, list]]:
    """Rows for records 0..records-1 of the persons with index k modulo n, a block of at
    most BULK_BLOCK records at a time; persons first, memberships last."""
    k, n = slice_
    ids = person_ids(records, w.persons)
    yield {"persons": [w.person(i, ids[i]) for i in range(k, w.persons, n) if ids[i]]}
    last_member: dict[int, int] = {}  # person index -> its last row with a group
    for start in range(0, records, BULK_BLOCK):
        out: dict[str, list] = {t: [] for t in BULK_TABLES}
        for j in range(start, min(records, start + BULK_BLOCK)):
            p = person_of(j, w.persons)
            if p % n != k:
                continue
            w.record(j, ids[p], out)
            if item_of(j) == "EMP-001":
                last_member[p] = j
        yield out
    yield {"group_memberships": [w.membership(j, ids[p]) for p, j in last_member.items()]}


if __name__ == "__main__":  # quick speed check of the generator alone
    import sys
    import time

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    t = time.perf_counter()
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("/tmp/chengxin-datagen-check.csv")  # noqa: S108
    write_csv(out, 0, n, max(1, n // 10), dt.date.today(), "GEN")
    el = time.perf_counter() - t
    print(f"{n} rows in {el:.2f}s = {n / el:,.0f} rows/s -> {out}")
