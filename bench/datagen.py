"""Deterministic, streaming test data for the benchmarks: valid persons and credit rows.

Persons are numbered 0..P-1; person i always has the same ID number and name, so rows
for one person never disagree on the name (no held rows). Records are numbered 0..R-1;
record j belongs to person `person_of(j)`, and its item, decision date and document
number follow from j alone. Nothing is kept in memory: CSV files are written row by row.

Mix (by j): ~60 % PEN-002 general penalties, ~37 % EMP-001 employment rows (group
`teacher`, so group memberships are written too), ~3 % BLK-001 black-list rows.
About 40 % of the PEN-002 rows are decided 2–4 years ago, so their 12-month display
period is over and `chengxin expire` has real work.

Full mode's bulk path (see `bulk_import`): the rows go through the real import path
(`imports.create_job` + `run_job`) in parallel worker processes, each on its own slice of
persons. We chose that over a hand-written COPY of ciphertexts and blind indexes because
ingestion writes persons, records, versions, change-feed rows, notices, list entries,
group memberships and audit rows: a COPY path would have to re-implement all of it and
would silently drift from the code it is meant to load data for.
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


if __name__ == "__main__":  # quick speed check of the generator alone
    import sys
    import time

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    t = time.perf_counter()
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("/tmp/chengxin-datagen-check.csv")  # noqa: S108
    write_csv(out, 0, n, max(1, n // 10), dt.date.today(), "GEN")
    el = time.perf_counter() - t
    print(f"{n} rows in {el:.2f}s = {n / el:,.0f} rows/s -> {out}")
