"""Working-day deadlines: 2026 from the shipped file (checked against chinesecalendar),
later years from the credit office's files, weekends-only fallback with a warning."""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from pathlib import Path

import chinese_calendar
import pytest
from chinese_calendar import constants
from hypothesis import given, settings
from hypothesis import strategies as st

from chengxin.workdays import (
    PACKAGE_DIR,
    HolidayCalendar,
    HolidayFileError,
    UnknownHolidayYearWarning,
    default_calendar,
)

D = dt.date

# INVENTED TEST DATA — not the real 2027 arrangement (unpublished when written).
# Mon 2027-03-01..Wed 03-03 off; Sat 2027-02-27 is a 调休 working day.
FAKE_2027 = """\
year: 2027
source: "测试数据，非真实通知"
holidays:
  - name: 测试节
    dates: [2027-03-01, 2027-03-02, 2027-03-03]
workdays: [2027-02-27]
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cal() -> HolidayCalendar:
    return HolidayCalendar()


# --- 2026, decided by the shipped file -------------------------------------------------


def test_friday_plus_one_is_monday(cal: HolidayCalendar) -> None:
    assert D(2026, 3, 6).weekday() == 4
    assert cal.add_workdays(D(2026, 3, 6), 1) == D(2026, 3, 9)


def test_friday_plus_one_skips_holiday_monday(cal: HolidayCalendar) -> None:
    # 清明节 2026-04-04..06 (Sat–Mon).
    assert cal.add_workdays(D(2026, 4, 3), 1) == D(2026, 4, 7)


def test_national_day_skipped_and_adjusted_saturday_counted(cal: HolidayCalendar) -> None:
    # 国庆节 2026-10-01..07 off; Sat 2026-10-10 is a 调休 working day.
    # Wed 09-30 + 5: Oct 8, 9, 10 (Sat), 12, 13. Weekends-only would give Oct 7.
    assert cal.add_workdays(D(2026, 9, 30), 5) == D(2026, 10, 13)
    assert cal.is_workday(D(2026, 10, 10)) and D(2026, 10, 10).weekday() == 5
    assert cal.workdays_between(D(2026, 9, 30), D(2026, 10, 13)) == 5


def test_adjusted_sunday_counts(cal: HolidayCalendar) -> None:
    # Sun 2026-09-20 is a 调休 working day (国庆节).
    assert cal.add_workdays(D(2026, 9, 18), 1) == D(2026, 9, 20)


def test_spring_festival_2026(cal: HolidayCalendar) -> None:
    # 春节 2026-02-15..23 off; Sat 02-14 and Sat 02-28 are working days.
    start = D(2026, 2, 13)  # Friday
    assert cal.add_workdays(start, 1) == D(2026, 2, 14)
    assert cal.add_workdays(start, 2) == D(2026, 2, 24)
    # Feb 14, 24, 25, 26, 27, 28 (Sat), Mar 2, 3, 4, 5
    assert cal.add_workdays(start, 10) == D(2026, 3, 5)
    assert cal.workdays_between(start, D(2026, 2, 23)) == 1


def test_zero_workdays(cal: HolidayCalendar) -> None:
    assert cal.add_workdays(D(2026, 3, 9), 0) == D(2026, 3, 9)  # Monday: itself
    assert cal.add_workdays(D(2026, 3, 7), 0) == D(2026, 3, 9)  # Saturday: next workday
    assert cal.add_workdays(D(2026, 2, 14), 0) == D(2026, 2, 14)  # 调休 Saturday: itself
    assert cal.add_workdays(D(2026, 10, 1), 0) == D(2026, 10, 8)  # holiday: after it


def test_negative_rejected(cal: HolidayCalendar) -> None:
    with pytest.raises(ValueError, match="负数"):
        cal.add_workdays(D(2026, 3, 9), -1)


def test_workdays_between_is_half_open(cal: HolidayCalendar) -> None:
    mon, fri = D(2026, 3, 9), D(2026, 3, 13)
    assert cal.workdays_between(mon, fri) == 4  # Tue..Fri, Monday excluded
    assert cal.workdays_between(mon, mon) == 0
    assert cal.workdays_between(fri, mon) == 0  # empty interval


def test_2026_file_agrees_with_chinesecalendar_every_day(cal: HolidayCalendar) -> None:
    entry = cal.files[2026]
    assert entry.path == PACKAGE_DIR / "2026.yaml"
    assert set(entry.holidays) == {d for d in constants.holidays if d.year == 2026}
    assert entry.workdays == {d for d in constants.workdays if d.year == 2026}
    day = D(2026, 1, 1)
    while day.year == 2026:
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)
    assert cal.unknown_years == set()


def test_chinesecalendar_used_for_years_without_file(cal: HolidayCalendar) -> None:
    assert 2025 not in cal.files
    assert not cal.is_workday(D(2025, 10, 8))  # 国庆 2025 (Wed), a weekday off
    assert cal.is_workday(D(2025, 9, 28))  # Sunday, 调休 working day in 2025


# --- years after chinesecalendar --------------------------------------------------------


def test_2027_from_office_file(tmp_path: Path) -> None:
    write(tmp_path, "2027.yaml", FAKE_2027)
    cal = HolidayCalendar(extra_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownHolidayYearWarning)
        assert cal.add_workdays(D(2027, 2, 26), 1) == D(2027, 2, 27)  # Fri → 调休 Sat
        assert cal.add_workdays(D(2027, 2, 26), 2) == D(2027, 3, 4)  # skips 03-01..03
        assert cal.workdays_between(D(2027, 2, 26), D(2027, 3, 4)) == 2
        assert cal.is_workday(D(2027, 1, 1))  # not in the file: plain Friday
    assert cal.unknown_years == set()
    assert cal.known_through() == max(2027, chinese_calendar_last_year())


def chinese_calendar_last_year() -> int:
    return max(d.year for d in constants.holidays)


def test_2027_without_file_weekends_only_with_one_warning(
    cal: HolidayCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    assert chinese_calendar_last_year() < 2027, "chinesecalendar 已含 2027 年：本测试需改用未知年份"
    caplog.set_level(logging.WARNING, logger="chengxin.workdays")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Thu 2026-12-31 + 1 → Fri 2027-01-01 (New Year's Day is unknown, so a workday)
        assert cal.add_workdays(D(2026, 12, 31), 1) == D(2027, 1, 1)
        assert cal.add_workdays(D(2027, 2, 26), 2) == D(2027, 3, 2)  # Fri → Tue
    messages = [str(w.message) for w in caught if issubclass(w.category, UnknownHolidayYearWarning)]
    assert messages == ["2027 年节假日安排未知，按周末计算，请更新节假日文件"]
    assert cal.unknown_years == {2027}
    assert [r.getMessage() for r in caplog.records] == messages
    assert cal.known_through() == 2026


def test_office_file_overrides_package_for_same_year(tmp_path: Path) -> None:
    text = (PACKAGE_DIR / "2026.yaml").read_text(encoding="utf-8")
    # Test data: an extra local day off on Mon 2026-03-02.
    text = text.replace(
        "holidays:\n", "holidays:\n  - name: 测试假日\n    dates: [2026-03-02]\n", 1
    )
    write(tmp_path, "2026.yaml", text)
    assert HolidayCalendar().is_workday(D(2026, 3, 2))
    local = HolidayCalendar(extra_dir=tmp_path)
    assert not local.is_workday(D(2026, 3, 2))
    assert local.files[2026].path == tmp_path / "2026.yaml"
    assert not local.is_workday(D(2026, 10, 1))  # rest of the year still applies


def test_missing_office_folder_is_fine(tmp_path: Path) -> None:
    cal = HolidayCalendar(extra_dir=tmp_path / "nope")
    assert set(cal.files) == {2026}


def test_default_calendar_cached_and_reads_storage_holidays(tmp_path: Path) -> None:
    write(tmp_path / "holidays", "2027.yaml", FAKE_2027)
    default_calendar.cache_clear()
    try:
        cal = default_calendar(tmp_path)
        assert cal is default_calendar(tmp_path)
        assert not cal.is_workday(D(2027, 3, 1))
        assert 2027 not in default_calendar().files
    finally:
        default_calendar.cache_clear()


# --- file validation --------------------------------------------------------------------

BAD_FILES = [
    ("2027.yaml", FAKE_2027.replace("year: 2027", "year: 2028"), "与文件名年份 2027 不一致"),
    ("2027.yaml", FAKE_2027.replace("2027-03-03]", "2028-01-03]"), "2028-01-03 不在 2027 年内"),
    (
        "2027.yaml",
        FAKE_2027.replace("workdays: [2027-02-27]", "workdays: [2027-02-27, 2027-03-01]"),
        "2027-03-01 同时列为放假日期（测试节）和调休上班日",
    ),
    ("2027.yaml", FAKE_2027.replace("[2027-02-27]", "[2027-02-26]"), "是周一至周五"),
    ("2027.yaml", FAKE_2027.replace("2027-03-01,", "2027-02-30,"), "日期不存在"),
    ("2027.yaml", FAKE_2027.replace("2027-03-01,", "2027/03/01,"), "不是有效日期"),
    ("2027.yaml", FAKE_2027.replace("2027-03-01,", "2027-03-01T09:00:00,"), "不能带时间"),
    ("2027.yaml", FAKE_2027.replace("2027-03-02,", "2027-03-01,"), "重复出现"),
    ("2027.yaml", FAKE_2027.replace("workdays:", "workday:"), "未知字段 workday"),
    ("2027.yaml", FAKE_2027.replace('source: "测试数据，非真实通知"\n', ""), "缺少 source"),
    ("2027.yaml", "year: [2027\n", "YAML 格式错误"),
    ("holidays2027.yaml", FAKE_2027, "文件名应为四位年份"),
]


@pytest.mark.parametrize(("name", "text", "expected"), BAD_FILES)
def test_invalid_file_rejected_naming_the_file(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(HolidayFileError) as err:
        HolidayCalendar(extra_dir=tmp_path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_same_year_twice_in_one_folder_rejected(tmp_path: Path) -> None:
    write(tmp_path, "2027.yaml", FAKE_2027)
    write(tmp_path, "2027.yml", FAKE_2027)
    with pytest.raises(HolidayFileError, match="已定义"):
        HolidayCalendar(extra_dir=tmp_path)


# --- properties --------------------------------------------------------------------------

_PROPERTY_CAL: list[HolidayCalendar] = []


def _property_cal() -> HolidayCalendar:
    # One calendar for all examples: parsing per example would only slow hypothesis down.
    if not _PROPERTY_CAL:
        _PROPERTY_CAL.append(HolidayCalendar())
    return _PROPERTY_CAL[0]


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=D(2025, 1, 1), max_value=D(2027, 12, 31)),
    n=st.integers(min_value=1, max_value=60),
)
def test_add_workdays_lands_on_nth_workday(start: dt.date, n: int) -> None:
    cal = _property_cal()
    with warnings.catch_warnings():
        # 2027/2028 fall back to weekends by design; the warning is tested above.
        warnings.simplefilter("ignore", UnknownHolidayYearWarning)
        due = cal.add_workdays(start, n)
        assert due > start
        assert cal.is_workday(due)
        assert cal.workdays_between(start, due) == n
        # Minimal: one day earlier there are only n - 1 working days.
        assert cal.workdays_between(start, due - dt.timedelta(days=1)) == n - 1
