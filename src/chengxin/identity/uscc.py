"""Unified social credit codes (统一社会信用代码), GB 32100-2015.

18 chars: 1 registration authority + 1 organisation category + 6 region digits
+ 9-char GB 11714 organisation code (8-char body + its own check char) + 1 check char.

Both check chars are verified. Checked by hand and in tests: the two reference codes
91110000600037341L (body 60003734, check 1) and 91350100M000100Y43 (body M000100Y,
check 4) pass the GB 11714 check with letters valued A=10..Z=35, so no exception for
letter-bearing bodies is needed.
"""

from __future__ import annotations

import re

from chengxin.identity.errors import IdentityError

# GB 32100 leaves out I, O, Z, S, V (confusable with 1, 0, 2, 5, U).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUES = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_USCC = re.compile(rf"[{ALPHABET}]{{2}}[0-9]{{6}}[{ALPHABET}]{{10}}")
_ORG_BODY = re.compile(r"[0-9A-Z]{8}")


def uscc_check_char(first17: str) -> str:
    """Mod-31 check char over the first 17 chars."""
    if not isinstance(first17, str) or len(first17) != 17 or not set(first17) <= _VALUES.keys():
        raise IdentityError("uscc_format")
    total = sum(_VALUES[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    """GB 11714 check char for an 8-char organisation code body."""
    if not isinstance(body8, str) or not _ORG_BODY.fullmatch(body8):
        raise IdentityError("uscc_format")
    # int(c, 36) is exactly the standard's valuation: 0-9 as digits, A=10 .. Z=35.
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def normalize_uscc(raw: str) -> str:
    """Validated upper-case code, or IdentityError (format, checksum, then org code)."""
    if not isinstance(raw, str):
        raise IdentityError("uscc_format")
    value = raw.strip().upper()
    # The registration authority (char 1) may be a letter too (e.g. A, N, Y), which some
    # libraries reject; any alphabet char is accepted there and for the category.
    if not _USCC.fullmatch(value):
        raise IdentityError("uscc_format")
    if uscc_check_char(value[:17]) != value[17]:
        raise IdentityError("uscc_checksum")
    if org_code_check_char(value[8:16]) != value[16]:
        raise IdentityError("uscc_org_code")
    return value


def is_valid_uscc(raw: str) -> bool:
    try:
        normalize_uscc(raw)
    except IdentityError:
        return False
    return True


def make_uscc(registration: str, category: str, region: str, org_body8: str) -> str:
    """A fully valid code for demo data and tests; both check chars are computed."""
    if len(registration) != 1 or len(category) != 1 or not re.fullmatch(r"[0-9]{6}", region):
        raise IdentityError("uscc_format")
    first16 = registration + category + region + org_body8
    if not set(first16) <= _VALUES.keys():
        raise IdentityError("uscc_format")
    first17 = first16 + org_code_check_char(org_body8)
    return first17 + uscc_check_char(first17)
