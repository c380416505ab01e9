"""Working-day arithmetic for objection (异议) and credit-repair (信用修复) deadlines.

Chinese deadlines count 工作日: weekends and statutory holidays are skipped, but
调休 Saturdays/Sundays are working days. Sources, in order of precedence:

1. YAML holiday files, one per year — the credit office's own folder (``extra_dir``,
   normally ``settings.storage_dir / "holidays"``) overrides the files shipped in
   ``chengxin/data/holidays/``. The office can add a year as soon as the State
   Council publishes it (usually November), without waiting for a release.
2. The ``chinesecalendar`` package (2004–its last published year).
3. Plain Monday–Friday, with a warning and the year recorded in ``unknown_years``:
   a deadline must still be computed, but someone must notice it may be wrong.

This module only counts days; what ``start`` is (提交日、受理日…) and how many
working days apply is the deadline policy's business.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml

log = logging.getLogger("chengxin.workdays")

PACKAGE_DIR = Path(__file__).parent / "data" / "holidays"
_YEAR_NAME = re.compile(r"^\d{4}$")
_ALLOWED_KEYS = {"year", "source", "holidays", "workdays"}


class HolidayFileError(ValueError):
    """A holiday file is malformed; the message names the file so the office can fix it."""


class UnknownHolidayYearWarning(UserWarning):
    """Deadline computed with weekends only because no source knows the year's holidays."""


@dataclass(frozen=True)
class HolidayYear:
    year: int
    source: str
    path: Path
    holidays: dict[dt.date, str]  # date -> holiday name (元旦, 春节…)
    workdays: frozenset[dt.date]  # 调休上班日


def _bad(path: Path, message: str) -> HolidayFileError:
    # Every message names the file: the office may maintain several.
    return HolidayFileError(f"节假日文件 {path}：{message}")


def _as_date(value: Any, path: Path, what: str) -> dt.date:
    # datetime is a subclass of date: `2027-01-01 08:00` in YAML must not slip through.
    if isinstance(value, dt.datetime):
        raise _bad(path, f"{what} “{value}” 应为日期（YYYY-MM-DD），不能带时间")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _bad(path, f"{what} “{value}” 不是有效日期（应为 YYYY-MM-DD）")


def load_holiday_file(path: Path) -> HolidayYear:
    """Parse and strictly validate one ``YYYY.yaml`` file.

    Strict because a silent typo here shifts every legal deadline of the year.
    """
    if not _YEAR_NAME.match(path.stem):
        raise _bad(path, "文件名应为四位年份，如 2027.yaml")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError) as exc:
        # PyYAML raises a bare ValueError for impossible dates such as 2027-02-30.
        raise _bad(path, f"无法解析（YAML 格式错误或日期不存在）：{exc}") from exc
    if not isinstance(doc, dict):
        raise _bad(path, "内容应为包含 year/source/holidays/workdays 的映射")
    unknown = set(doc) - _ALLOWED_KEYS
    if unknown:
        raise _bad(
            path,
            f"未知字段 {', '.join(sorted(map(str, unknown)))}"
            f"（允许：{', '.join(sorted(_ALLOWED_KEYS))}）",
        )
    year = doc.get("year")
    if not isinstance(year, int) or isinstance(year, bool):
        raise _bad(path, "缺少 year 或 year 不是整数")
    if str(year) != path.stem:
        raise _bad(path, f"year: {year} 与文件名年份 {path.stem} 不一致")
    source = doc.get("source")
    if not isinstance(source, str) or not source.strip():
        raise _bad(path, "缺少 source（请填写国务院办公厅通知的名称和文号）")

    def in_year(day: dt.date, what: str) -> dt.date:
        if day.year != year:
            # Notices sometimes list late-December dates of the previous year; those
            # belong in that year's file so each year has exactly one authority.
            raise _bad(
                path, f"{what} {day.isoformat()} 不在 {year} 年内（跨年日期请写入 {day.year}.yaml）"
            )
        return day

    groups = doc.get("holidays")
    if not isinstance(groups, list):
        raise _bad(path, "holidays 应为列表（每项含 name 和 dates）")
    holidays: dict[dt.date, str] = {}
    for i, group in enumerate(groups, 1):
        if not isinstance(group, dict) or set(group) != {"name", "dates"}:
            raise _bad(path, f"holidays 第 {i} 项应恰好包含 name 和 dates")
        name = group["name"]
        if not isinstance(name, str) or not name.strip():
            raise _bad(path, f"holidays 第 {i} 项的 name 不能为空")
        if not isinstance(group["dates"], list) or not group["dates"]:
            raise _bad(path, f"{name} 的 dates 应为非空日期列表")
        for raw in group["dates"]:
            day = in_year(_as_date(raw, path, f"{name}放假日期"), f"{name}放假日期")
            if day in holidays:
                raise _bad(path, f"放假日期 {day.isoformat()} 重复出现（{holidays[day]}、{name}）")
            holidays[day] = name

    raw_workdays = doc.get("workdays", [])
    if raw_workdays is None:
        raw_workdays = []
    if not isinstance(raw_workdays, list):
        raise _bad(path, "workdays 应为日期列表（调休上班日）")
    workdays: set[dt.date] = set()
    for raw in raw_workdays:
        day = in_year(_as_date(raw, path, "调休上班日"), "调休上班日")
        if day in workdays:
            raise _bad(path, f"调休上班日 {day.isoformat()} 重复出现")
        if day in holidays:
            raise _bad(path, f"{day.isoformat()} 同时列为放假日期（{holidays[day]}）和调休上班日")
        if day.weekday() < 5:
            # 调休上班日 are always weekend days; a weekday here is almost surely a typo.
            raise _bad(path, f"调休上班日 {day.isoformat()} 是周一至周五，本来就上班，请核对日期")
        workdays.add(day)
    return HolidayYear(year, source.strip(), path, holidays, frozenset(workdays))


def _load_dir(folder: Path) -> dict[int, HolidayYear]:
    if not folder.exists():
        return {}  # the office folder is optional until the first override is needed
    if not folder.is_dir():
        raise HolidayFileError(f"节假日目录 {folder} 不是文件夹")
    years: dict[int, HolidayYear] = {}
    # .yml too: a file silently ignored for its extension would mean wrong deadlines.
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        entry = load_holiday_file(path)
        if entry.year in years:
            raise _bad(path, f"{entry.year} 年在 {years[entry.year].path} 中已定义，请只保留一个")
        years[entry.year] = entry
    return years


@functools.cache
def _chinesecalendar_last_year() -> int:
    return max(day.year for day in chinese_calendar.constants.holidays)


class HolidayCalendar:
    """Decides whether a day is a 工作日, and does deadline arithmetic on that basis."""

    def __init__(self, extra_dir: Path | None = None) -> None:
        self.files: dict[int, HolidayYear] = _load_dir(PACKAGE_DIR)
        if extra_dir is not None:
            self.files.update(_load_dir(Path(extra_dir)))  # the office's files win
        self.unknown_years: set[int] = set()

    def is_workday(self, day: dt.date) -> bool:
        if isinstance(day, dt.datetime):
            day = day.date()
        entry = self.files.get(day.year)
        if entry is not None:
            if day in entry.holidays:
                return False
            return day in entry.workdays or day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            pass
        if day.year not in self.unknown_years:
            self.unknown_years.add(day.year)
            message = f"{day.year} 年节假日安排未知，按周末计算，请更新节假日文件"
            log.warning(message)
            warnings.warn(message, UnknownHolidayYearWarning, stacklevel=2)
        return day.weekday() < 5

    def add_workdays(self, start: dt.date, n: int) -> dt.date:
        """The deadline ``n`` working days after ``start``; ``start`` itself never counts.

        n ≥ 1: the n-th working day strictly after ``start`` (Friday + 1 → Monday,
        or later if Monday is a holiday), whether or not ``start`` is a working day.

        n == 0: ``start`` if it is a working day, else the next working day — a
        deadline must fall on a day the office is open. Consequently
        ``workdays_between(start, add_workdays(start, n)) == n`` holds for every
        n ≥ 1, and for n == 0 only when ``start`` is a working day.
        """
        if n < 0:
            raise ValueError(f"工作日数不能为负数：{n}")
        if isinstance(start, dt.datetime):
            start = start.date()
        day = start
        if n == 0:
            while not self.is_workday(day):
                day += dt.timedelta(days=1)
            return day
        remaining = n
        while remaining:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def workdays_between(self, a: dt.date, b: dt.date) -> int:
        """Working days in (a, b]: ``a`` excluded, ``b`` included; 0 when b ≤ a (empty interval)."""
        if isinstance(a, dt.datetime):
            a = a.date()
        if isinstance(b, dt.datetime):
            b = b.date()
        count, day = 0, a
        while day < b:
            day += dt.timedelta(days=1)
            count += self.is_workday(day)
        return count

    def known_through(self) -> int:
        """The last year either a holiday file or chinesecalendar knows.

        Years before it may still be unknown if the files skip a year after
        chinesecalendar's last one; ``is_workday`` warns for those.
        """
        return max([_chinesecalendar_last_year(), *self.files])


@functools.lru_cache(maxsize=8)
def default_calendar(settings_storage_dir: Path | None = None) -> HolidayCalendar:
    """Process-wide calendar; the office's files live in ``<storage_dir>/holidays``.

    Cached so files are parsed once and each unknown year is warned about once;
    after editing a holiday file, restart or call ``default_calendar.cache_clear()``.
    """
    extra = Path(settings_storage_dir) / "holidays" if settings_storage_dir is not None else None
    return HolidayCalendar(extra)
