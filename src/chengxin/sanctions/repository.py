"""The queries behind a check: persons' list entries, records and yearly statuses.

Set-based: `facts_for` gathers the facts of many persons with one query per table, so
the check path can load a whole batch of concurrent requests at once; `check_facts` is
the one-person case of the same code.
"""

from __future__ import annotations

import datetime as dt
import marshal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ARRAY, BigInteger, String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from chengxin.archives.models import AnnualStatus
from chengxin.bulk import on_driver
from chengxin.dates import age_on
from chengxin.records.models import CreditRecord, GroupMembership
from chengxin.reference.models import CatalogItem
from chengxin.sanctions.models import ListEntry
from chengxin.sanctions.policy import CheckFacts, ListFact, RecordFact
from chengxin.subjects.models import Person

_ANNUAL = {"trustworthy": "trustworthy", "warning": "warning",
           "serious_dishonesty": "serious_dishonesty"}


@dataclass(frozen=True)
class PersonRef:
    """What a check needs of a person besides the facts: who, born when, known since."""
    id: int
    name: str
    birth_date: dt.date
    created_on: dt.date


def check_facts(session: Session, person: Person | None) -> CheckFacts:
    if person is None:
        return CheckFacts(known=False)
    ref = PersonRef(person.id, person.name, person.birth_date, person.created_at.date())
    return facts_for(session, [ref])[person.id]


def persons_by_hash(session: Session, hashes: Iterable[str]) -> dict[str, PersonRef]:
    """Persons by blind index, for a batch of checks."""
    conn, dialect = on_driver(session)
    return persons_by_hash_on(conn, dialect.name, hashes)


def facts_for(session: Session, persons: Sequence[PersonRef]) -> dict[int, CheckFacts]:
    conn, dialect = on_driver(session)
    return facts_for_on(conn, dialect.name, persons)


def persons_by_hash_on(conn: Any, dialect: str, hashes: Iterable[str]
                       ) -> dict[str, PersonRef]:
    """`persons_by_hash` on a driver connection (sqlite3 / psycopg), in the caller's
    transaction: the check path's read batches, which skip the ORM session."""
    q = _queries(dialect)
    return _persons_from(q.run(conn, q.persons, sorted(set(hashes))))


def _persons_from(rows: Iterable[Sequence[Any]]) -> dict[str, PersonRef]:
    """The persons read's rows by blind index."""
    return {h: PersonRef(pid, name, birth, created) for h, pid, name, birth, created in rows}


def facts_for_on(conn: Any, dialect: str, persons: Sequence[PersonRef]
                 ) -> dict[int, CheckFacts]:
    """`facts_for` on a driver connection, as `persons_by_hash_on`."""
    q = _queries(dialect)
    ids = sorted({p.id for p in persons})
    return _facts_from(persons, *(q.run(conn, query, ids) for query in q.facts))


async def read_async(conn: Any, hashes: Iterable[str]
                     ) -> tuple[dict[str, PersonRef], dict[int, CheckFacts]]:
    """PostgreSQL: `persons_by_hash_on` and `facts_for_on` on a psycopg AsyncConnection in
    autocommit mode, as one statement on the event loop (the check's read batches): the
    five reads keyed by the blind indexes (the four fact reads joined to persons), each
    as a sub-select that gives its rows as one JSON array of arrays. One statement is one
    snapshot and one round trip; orjson reads the arrays in C. As five statements in
    psycopg's pipeline between BEGIN and COMMIT, a batch of one person cost 0.25 ms of
    this process's CPU against 0.09 ms now (docs/scaling-history.md, ninth round)."""
    q = _queries("postgresql")
    cur = await conn.execute(q.read_all, {"keys": sorted(set(hashes))})
    row = await cur.fetchone()
    found, *facts = (_json_rows(text, convert)
                     for text, convert in zip(row, q.read_all_convert, strict=True))
    persons = _persons_from(found)
    return persons, _facts_from(list(persons.values()), *facts)


def _json_rows(text: str, convert: tuple[tuple[int, Callable[[Any], Any]], ...]
               ) -> list[list[Any]]:
    rows = orjson.loads(text)
    for row in rows:
        for i, fn in convert:
            row[i] = fn(row[i])
    return rows


def _facts_from(persons: Sequence[PersonRef], record_rows: Iterable[Sequence[Any]],
                list_rows: Iterable[Sequence[Any]], annual_rows: Iterable[Sequence[Any]],
                member_rows: Iterable[Sequence[Any]]) -> dict[int, CheckFacts]:
    """Each person's CheckFacts from the four fact reads' rows (in `_Queries.facts`
    order)."""
    by_id = {p.id: p for p in persons}
    records: dict[int, list[RecordFact]] = {pid: [] for pid in by_id}
    lists: dict[int, list[ListFact]] = {pid: [] for pid in by_id}
    annual: dict[int, dict[int, str]] = {pid: {} for pid in by_id}
    first_member: dict[int, dt.date] = {}
    for pid, rid, sev, pol, st, dd, du in record_rows:
        records[pid].append(RecordFact(rid, sev, pol, st, dd, du,
                                       age_on(by_id[pid].birth_date, dd)))
    for (pid, eid, kind, name, st, listed, since, until, ended, basis,
         rec_status) in list_rows:
        lists[pid].append(ListFact(eid, kind, name, st, listed, since, until, ended, basis,
                                   under_objection=(rec_status == "under_objection")))
    for pid, year, status in annual_rows:
        annual[pid][year] = _ANNUAL.get(status, "trustworthy")
    for pid, started in member_rows:
        if started is not None:
            first_member[pid] = started
    out = {}
    for pid, ref in by_id.items():
        first_record = min((r.decision_date for r in records[pid]), default=None)
        known_since = min(d for d in (first_record, first_member.get(pid), ref.created_on)
                          if d is not None)
        out[pid] = CheckFacts(known=True, known_since=known_since, records=records[pid],
                              lists=lists[pid], annual=annual[pid])
    return out


def pack(person: PersonRef, facts: CheckFacts) -> bytes:
    """A person and their facts as one bytes object, for the check's facts cache.

    Bytes hold no references, so CPython's cyclic collector never tracks them. Kept as
    objects, a cached person with ten records left about 19 objects it tracks, which
    survived into its older generations: while 100,000 persons were cached, a
    middle-generation pass took up to 250 ms, in the server's event loop
    (`bench/cache_gc.py`; docs/scaling-history.md, sixth round). Dates are stored as
    ordinals (marshal takes only built-in types); `unpack` reverses this."""
    day = _ordinal
    return marshal.dumps((
        (person.id, person.name, person.birth_date.toordinal(), person.created_on.toordinal()),
        day(facts.known_since),
        tuple((r.record_id, r.severity, r.polarity, r.status, r.decision_date.toordinal(),
               day(r.display_until), r.age_at_decision) for r in facts.records),
        tuple((e.entry_id, e.list_type, e.name, e.status, e.listed_on.toordinal(),
               day(e.effective_from), day(e.effective_until), day(e.ended_on), e.basis,
               e.under_objection) for e in facts.lists),
        tuple(facts.annual.items())))


def unpack(packed: bytes) -> tuple[PersonRef, CheckFacts]:
    # Only bytes pack made in this process come here: nothing from outside is unmarshalled.
    loaded = marshal.loads(packed)  # noqa: S302
    (pid, name, birth, created), known_since, records, lists, annual = loaded
    day, ord_ = _from_ordinal, dt.date.fromordinal
    person = PersonRef(pid, name, ord_(birth), ord_(created))
    return person, CheckFacts(
        known=True, known_since=day(known_since),
        records=[RecordFact(rid, sev, pol, st, ord_(dd), day(du), age)
                 for rid, sev, pol, st, dd, du, age in records],
        lists=[ListFact(eid, kind, nm, st, ord_(listed), day(since), day(until), day(ended),
                        basis, objected)
               for eid, kind, nm, st, listed, since, until, ended, basis, objected in lists],
        annual=dict(annual))


def _ordinal(day: dt.date | None) -> int | None:
    return None if day is None else day.toordinal()


def _from_ordinal(n: int | None) -> dt.date | None:
    return None if n is None else dt.date.fromordinal(n)


@dataclass(frozen=True)
class _Query:
    sql: str
    convert: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column, converter) as the ORM


class _Queries:
    """The check's five reads, compiled once per backend from Core selects and run on the
    driver connection, with every key of a batch in one parameter (PostgreSQL: an array;
    SQLite: a JSON array through json_each, which has no bound-parameter limit).
    Passing a select through SQLAlchemy on each run costs more than running it (measured:
    0.5 ms of 0.6 ms per query through the ORM on SQLite; the check's read batches were
    still half SQLAlchemy's work through Core)."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"
        person = Person.__table__
        persons = select(person.c.id_hash, person.c.id, person.c.name, person.c.birth_date,
                         person.c.created_at).where(self._among(person.c.id_hash, String()))
        birth, created = (3,), (4,)  # a date; a UTC timestamp, of which the date is kept
        self.persons = self._compile(persons, dates=birth, day_of=created)
        self.facts = tuple(self._compile(select_.order_by(*order), dates=dates)
                           for select_, order, dates in self._facts(self._by_person_id))
        if self.pg:
            # The same reads keyed by the blind indexes, joined to persons, none needing
            # another's result: all five as one statement (read_async).
            by_hash = self._facts(self._by_id_hash)
            self.read_all = self._as_json([persons, *(f[0] for f in by_hash)],
                                          [None, *(f[1] for f in by_hash)])
            # JSON gives ISO text, as SQLite does; a timestamptz with the session's offset.
            self.read_all_convert = (_converters(birth, created, _iso_utc_day),
                                     *(_converters(f[2], (), _iso_utc_day) for f in by_hash))

    def _as_json(self, selects: list[Any], orders: list[tuple[Any, ...] | None]) -> str:
        """PostgreSQL: one statement with a column per select, its rows as one JSON array
        of arrays (text), in the select's order when it has one (`orders`)."""
        columns = []
        for k, (select_, order) in enumerate(zip(selects, orders, strict=True)):
            width = len(select_.selected_columns)
            if order:
                select_ = select_.add_columns(*order)
            compiled = self._sql(select_)
            names = [f"c{i}" for i in range(len(select_.selected_columns))]
            values = ", ".join(f"q{k}.{n}" for n in names[:width])
            by = (" ORDER BY " + ", ".join(f"q{k}.{n}" for n in names[width:])) if order else ""
            # Built once from this module's own selects; the keys stay a bound parameter.
            columns.append(f"(SELECT coalesce(json_agg(json_build_array({values}){by}), "  # noqa: S608
                           f"'[]')::text FROM ({compiled}) AS q{k}({', '.join(names)}))")
        return "SELECT " + ",\n       ".join(columns)

    def _facts(self, keyed: Callable[[Any, Any], Any]
               ) -> tuple[tuple[Any, tuple[Any, ...], tuple[int, ...]], ...]:
        """The four fact reads (records, list entries, yearly statuses, memberships), each
        narrowed to the batch's persons by `keyed(select, its person_id column)`, with
        the columns they are to be ordered by and the positions of their dates."""
        record, item = CreditRecord.__table__, CatalogItem.__table__
        entry, status = ListEntry.__table__, AnnualStatus.__table__
        member = GroupMembership.__table__
        records = (keyed(
            select(record.c.person_id, record.c.id, item.c.severity, item.c.polarity,
                   record.c.status, record.c.decision_date, record.c.display_until)
            .join(item, item.c.code == record.c.item_code), record.c.person_id),
            (), (5, 6))
        lists = (keyed(
            select(entry.c.person_id, entry.c.id, entry.c.list_type, entry.c.list_name,
                   entry.c.status, entry.c.listed_on, entry.c.effective_from,
                   entry.c.effective_until, entry.c.ended_on, entry.c.basis, record.c.status)
            .outerjoin(record, record.c.id == entry.c.record_id), entry.c.person_id),
            (entry.c.id,), (5, 6, 7, 8))
        annual = (keyed(
            select(status.c.person_id, status.c.year, status.c.status)
            .where(status.c.superseded_by.is_(None)), status.c.person_id),
            (status.c.decided_at,), ())
        members = (keyed(
            select(member.c.person_id, func.min(member.c.started_on)), member.c.person_id)
            .group_by(member.c.person_id),
            (), (1,))
        return records, lists, annual, members

    def _by_person_id(self, statement: Any, person_id: Any) -> Any:
        return statement.where(self._among(person_id, BigInteger()))

    def _by_id_hash(self, statement: Any, person_id: Any) -> Any:
        # A join, not `person_id = ANY(ARRAY(SELECT …))`: the planner cannot tell how many
        # ids a sub-select gives and plans with a fixed guess; joined, it estimates from
        # the keys, as the reads by id do (EXPLAIN ANALYZE at 10 M records: every table
        # searched by its person index; docs/scaling-history.md §4).
        person = Person.__table__
        return (statement.join(person, person.c.id == person_id)
                .where(self._among(person.c.id_hash, String())))

    def _among(self, column: Any, type_: Any) -> Any:
        if self.pg:
            return column == any_(bindparam("keys", type_=ARRAY(type_)))
        return column.in_(select(literal_column("value"))
                          .select_from(func.json_each(bindparam("keys"))))

    def _compile(self, statement: Any, dates: tuple[int, ...] = (),
                 day_of: tuple[int, ...] = ()) -> _Query:
        """`dates`: columns holding a date; `day_of`: columns holding a UTC timestamp, of
        which the UTC date is kept."""
        if self.pg:  # psycopg gives dates; a timestamptz comes in the session's time zone
            convert = tuple((i, _pg_utc_day) for i in day_of)
        else:  # SQLite gives ISO text
            convert = _converters(dates, day_of, _sqlite_utc_day)
        return _Query(self._sql(statement), convert)

    def _sql(self, statement: Any) -> str:
        dialect = postgresql.psycopg.dialect() if self.pg else sqlite.pysqlite.dialect()
        compiled = statement.compile(dialect=dialect)
        assert list(compiled.params) == ["keys"]  # one parameter: the batch's keys
        return str(compiled)

    def run(self, conn: Any, query: _Query, keys: list[Any]) -> list[Any]:
        if not keys:
            return []
        param = {"keys": keys} if self.pg else (orjson.dumps(keys).decode(),)
        return self.converted(conn.execute(query.sql, param).fetchall(), query)

    @staticmethod
    def converted(rows: list[Any], query: _Query) -> list[Any]:
        if not query.convert:
            return rows
        return [_converted(row, query.convert) for row in rows]


def _converters(dates: tuple[int, ...], day_of: tuple[int, ...],
                utc_day: Callable[[str], dt.date]) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """For rows whose dates come as ISO text: `dates` read as dates, `day_of` (UTC
    timestamps) as their UTC date by `utc_day`."""
    return (*((i, _date) for i in dates), *((i, utc_day) for i in day_of))


def _converted(row: Sequence[Any], convert: tuple[tuple[int, Callable[[Any], Any]], ...]
               ) -> tuple[Any, ...]:
    values = list(row)
    for i, fn in convert:
        values[i] = fn(values[i])
    return tuple(values)


def _date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _iso_utc_day(value: str) -> dt.date:
    # PostgreSQL's JSON for a timestamptz: ISO 8601 with the session's offset
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC).date()


def _sqlite_utc_day(value: str) -> dt.date:
    # SQLite holds UTCDateTime as naive UTC text, "YYYY-MM-DD HH:MM:SS.ffffff"
    return dt.date.fromisoformat(value[:10])


def _pg_utc_day(value: dt.datetime) -> dt.date:
    return value.astimezone(dt.UTC).date()


_BUILT: dict[str, _Queries] = {}


def _queries(dialect: str) -> _Queries:
    if dialect not in _BUILT:
        _BUILT[dialect] = _Queries(dialect)
    return _BUILT[dialect]
