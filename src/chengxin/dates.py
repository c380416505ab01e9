"""Calendar arithmetic shared by display periods, cadences and deadlines."""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day `months` later, clamped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_on(birth: dt.date, day: dt.date) -> int:
    """Full years of a person born on `birth`, on `day` (29 February counts from 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def period_bounds(day: dt.date, cadence: str) -> tuple[dt.date, dt.date]:
    """The [start, end] of the monthly / quarterly / yearly period that contains `day`."""
    if cadence == "monthly":
        start = day.replace(day=1)
        return start, add_months(start, 1) - dt.timedelta(days=1)
    if cadence == "quarterly":
        start = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        return start, add_months(start, 3) - dt.timedelta(days=1)
    if cadence == "yearly":
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    raise ValueError(f"unknown cadence {cadence}")
