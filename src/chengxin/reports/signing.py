"""Ed25519 over the canonical JSON of a report, so that it can be verified offline with
the published public key."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from chengxin.keys import Keys, public_key_b64, signer


def canonical(doc: dict[str, Any]) -> bytes:
    body = {k: v for k, v in doc.items() if k != "signature"}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def sign(keys: Keys, doc: dict[str, Any]) -> dict[str, Any]:
    sig = signer(keys).sign(canonical(doc))
    return {"algorithm": "Ed25519", "key_id": keys.signing_key_id,
            "value": base64.urlsafe_b64encode(sig).decode("ascii")}


def verify(public_key_b64_text: str, doc: dict[str, Any]) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(public_key_b64_text))
        sig = base64.urlsafe_b64decode(doc["signature"]["value"])
        key.verify(sig, canonical(doc))
        return True
    except (InvalidSignature, KeyError, TypeError, ValueError):
        return False


def published_key(keys: Keys) -> dict[str, str]:
    return {"algorithm": "Ed25519", "key_id": keys.signing_key_id,
            "public_key": public_key_b64(keys)}
