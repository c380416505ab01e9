"""Mainland China mobile numbers."""

from __future__ import annotations

import re

from chengxin.identity.errors import IdentityError

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# Separators people type or paste: spaces (incl. full-width), hyphens, en/em dashes.
_SEPARATORS = re.compile(r"[\s\-\u2013\u2014\u3000]")


def normalize_phone(raw: str) -> str:
    """The bare 11-digit number, or IdentityError("phone_format")."""
    if not isinstance(raw, str):
        raise IdentityError("phone_format")
    value = _SEPARATORS.sub("", raw)
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    if not _MOBILE.fullmatch(value):
        raise IdentityError("phone_format")
    return value
