"""Canonical JSON, Ed25519 page signatures and the opaque feed cursor.

A page is signed over its canonical form: the page object without its `signature` field,
serialised by orjson with sorted keys (no whitespace, UTF-8 unescaped). The receiver
parses the page, drops `signature`, re-serialises the same way and verifies. Pages hold
only JSON-native values (strings, integers, booleans, null, lists, objects; no floats are
produced by the platform itself except item attributes sent as numbers), so parsing and
re-serialising gives the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import orjson

CURSOR_VERSION = "v1"
_CURSOR_TEXT = re.compile(r"^v1:(0|[1-9][0-9]{0,18})$")


class CursorError(ValueError):
    pass


class SignatureError(Exception):
    """A page whose signature does not verify: nothing of it may be applied."""


def canonical(page: dict[str, Any]) -> bytes:
    body = {k: v for k, v in page.items() if k != "signature"}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise SignatureError("not valid base64") from exc


def sign_page(private_key: Any, page: dict[str, Any]) -> str:
    """base64url of the Ed25519 signature over canonical(page)."""
    return _b64(private_key.sign(canonical(page)))


def verify_page(public_key_b64: str, page: dict[str, Any]) -> None:
    """Raise SignatureError unless `page["signature"]` is a valid signature of the page."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    sig = page.get("signature")
    if not isinstance(sig, str):
        raise SignatureError("page has no signature")
    raw = _unb64(public_key_b64)
    if len(raw) != 32:
        raise SignatureError("public key must be 32 bytes")
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(_unb64(sig), canonical(page))
    except InvalidSignature as exc:
        raise SignatureError("signature does not verify: the page was altered or not "
                             "signed by the pinned key") from exc


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_VERSION}:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The sequence number behind a cursor; None or "" means from the beginning."""
    if cursor is None or cursor == "":
        return 0
    if len(cursor) > 40:
        raise CursorError("cursor too long")
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4)
                                        ).decode("ascii")
    except (binascii.Error, ValueError, UnicodeError) as exc:
        raise CursorError("not a cursor of this feed") from exc
    m = _CURSOR_TEXT.match(text)
    if not m:
        raise CursorError("not a cursor of this feed")
    seq = int(m.group(1))
    if seq > 2**63 - 1:
        raise CursorError("cursor out of range")
    return seq
