"""What may be shown, and to whom — decided at every read, not only by the expiry job,
so that nothing past its display period is ever shown even if the job did not run."""

from __future__ import annotations

import datetime as dt

from chengxin.dates import age_on
from chengxin.sanctions.policy import minor_light

SHOWN_STATUSES = ("active", "under_objection", "corrected")


def effective_status(status: str, display_until: dt.date | None, today: dt.date) -> str:
    """The status a reader sees: a record past its display period is expired now."""
    if status in SHOWN_STATUSES and display_until is not None and display_until < today:
        return "expired"
    return status


def is_public(*, status: str, visibility: str, display_until: dt.date | None,
              severity: str | None, birth: dt.date | None, decision_date: dt.date,
              today: dt.date, public_min_age: int = 14, derived: bool = False) -> bool:
    """May the public see this record today? (Derived 落实到人 copies: never.)"""
    if visibility != "public" or display_until is None or derived:
        return False
    if effective_status(status, display_until, today) not in SHOWN_STATUSES:
        return False
    if birth is not None:
        if age_on(birth, today) < public_min_age:
            return False  # nothing about a child under 14 is ever public (PIPL art. 28, 31)
        if minor_light(birth, decision_date, severity):
            return False  # a minor's light dishonesty is never disclosed
    return True
