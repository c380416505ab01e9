"""The platform's secrets: token signing, field encryption, blind index.

`chengxin init` writes them into a key file readable by its owner only (0600) when they
are not supplied through the environment. The file is never committed (.gitignore) and
its values are never logged.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from chengxin.config import Settings


class KeyFileError(Exception):
    pass


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise KeyFileError(f"{what}: not valid base64") from exc
    if len(raw) != 32:
        raise KeyFileError(f"{what}: must be 32 bytes")
    return raw


@dataclass(frozen=True)
class Keys:
    token_key: bytes
    field_keys: dict[str, bytes]
    field_key_current: str
    blind_index_key: bytes
    signing_key: bytes  # Ed25519 private key (raw 32 bytes): reports and the change feed
    signing_key_id: str


def _new_stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")


def _signing_material() -> dict:
    return {"signing_key": _b64(secrets.token_bytes(32)), "signing_key_id": "s" + _new_stamp()}


def new_key_material() -> dict:
    kid = "k" + _new_stamp()
    return {
        "version": 1,
        "token_key": _b64(secrets.token_bytes(32)),
        "field_keys": {kid: _b64(secrets.token_bytes(32))},
        "field_key_current": kid,
        "blind_index_key": _b64(secrets.token_bytes(32)),
        **_signing_material(),
    }


def write_key_file(path: Path, material: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    # Created 0600 from the start: a chmod after writing would leave a window.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(material, fh, indent=2)
    os.replace(tmp, path)


def ensure_key_file(settings: Settings) -> bool:
    """Create the key file if it is missing (True), or add keys a newer version needs."""
    if settings.key_file.exists():
        data = json.loads(settings.key_file.read_text(encoding="utf-8"))
        if "signing_key" not in data:
            write_key_file(settings.key_file, {**data, **_signing_material()})
        return False
    write_key_file(settings.key_file, new_key_material())
    return True


def load_keys(settings: Settings) -> Keys:
    data: dict = {}
    if settings.key_file.exists():
        try:
            data = json.loads(settings.key_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"cannot read key file {settings.key_file}") from exc
    elif not (settings.token_key and settings.field_key and settings.blind_index_key):
        raise KeyFileError(
            f"no key file at {settings.key_file}: run `chengxin init` or set CHENGXIN_*_KEY"
        )
    field_keys = {k: _unb64(v, f"field key {k}") for k, v in data.get("field_keys", {}).items()}
    current = data.get("field_key_current", "")
    if settings.field_key:
        field_keys["env"] = _unb64(settings.field_key, "CHENGXIN_FIELD_KEY")
        current = "env"
    if current not in field_keys:
        raise KeyFileError("the current field key id has no key")
    return Keys(
        token_key=_unb64(settings.token_key or data.get("token_key", ""), "token key"),
        field_keys=field_keys,
        field_key_current=current,
        blind_index_key=_unb64(
            settings.blind_index_key or data.get("blind_index_key", ""), "blind index key"
        ),
        signing_key=_unb64(settings.signing_key or data.get("signing_key", "")
                           or _b64(b"\0" * 32), "signing key"),
        signing_key_id="env" if settings.signing_key else data.get("signing_key_id", "unset"),
    )


def signer(keys: Keys):  # type: ignore[no-untyped-def]
    """The Ed25519 private key object (cryptography)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if keys.signing_key == b"\0" * 32:
        raise KeyFileError("no signing key: run `chengxin init` to add one to the key file")
    return Ed25519PrivateKey.from_private_bytes(keys.signing_key)


def public_key_b64(keys: Keys) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = signer(keys).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return _b64(raw)
