"""What each audience may see of personal identifiers.

public: anyone (credit check pages, exports); staff: operators, a little more to
disambiguate; self: the data subject, in clear. Unknown audiences raise rather than
fall back, so a typo can never show clear data.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

Audience = Literal["public", "staff", "self"]
_AUDIENCES = frozenset(get_args(Audience))


def _check(audience: str) -> None:
    if audience not in _AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")


def _mask_middle(value: str, head: int, tail: int, stars: int) -> str:
    # A fixed number of stars (not one per hidden char) so malformed values of odd
    # lengths come out looking like any other; too-short values are hidden entirely.
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * stars + value[-tail:]


def mask_id_number(id18: str | None, audience: Audience) -> str:
    _check(audience)
    if not id18:
        return ""
    if audience == "self":
        return id18
    if audience == "staff":
        return _mask_middle(id18, 6, 4, 8)
    return _mask_middle(id18, 4, 4, 10)


def mask_name(name: str | None, audience: Audience) -> str:
    _check(audience)
    if not name:
        return ""
    if audience == "self":
        return name
    # A one-char name would be shown whole by "first char + stars"; hide it instead.
    if len(name) == 1:
        return "*"
    return name[0] + "*" * (len(name) - 1)


def mask_org_name(name: str | None, audience: Audience) -> str:
    """Organisation names are public register data, not personal data: unchanged."""
    _check(audience)
    return name or ""


def mask_phone(phone: str | None, audience: Audience) -> str:
    _check(audience)
    if not phone:
        return ""
    if audience == "self":
        return phone
    return _mask_middle(phone, 3, 4, 4)


# Lookarounds on ASCII digits keep long digit runs (order and account numbers) intact.
# IDs may be written 6-8-4 with a space or hyphen, phones 3-4-4, with +86/86/0086 in
# front; all these forms are caught (a miss leaks personal data, a false hit only hides).
_ID_LIKE = r"[0-9]{6}[ -]?[0-9]{8}[ -]?[0-9]{3}[0-9Xx]|[0-9]{15}"
_PHONE_LIKE = r"(?P<prefix>(?:\+?86|0086)[ -]?)?(?P<phone>1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4})"
_SCRUB = re.compile(rf"(?<![0-9])(?:(?P<id>{_ID_LIKE})|{_PHONE_LIKE})(?![0-9])")


def _scrub_match(match: re.Match[str]) -> str:
    if match["id"]:
        compact = re.sub(r"[ -]", "", match["id"]).upper()
        return mask_id_number(compact, "public")
    compact = re.sub(r"[ -]", "", match["phone"])
    return (match["prefix"] or "") + mask_phone(compact, "public")


def scrub_text(text: str | None) -> str:
    """Mask ID numbers and mobile numbers found anywhere in free text (public mask)."""
    if not text:
        return ""
    return _SCRUB.sub(_scrub_match, text)


def loggable_path(path: str) -> str:
    """A request path as it may be logged or audited: some paths carry an ID number
    (/api/v1/persons/{id_number}/archive), which is masked; cut to 200 characters."""
    return scrub_text(path)[:200]
