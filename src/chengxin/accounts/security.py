"""Password hashing, token signing and API key hashing — in one place."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from chengxin.errors import ValidationFailed

# argon2id with the library's RFC 9106 "low memory" profile: strong, and quick enough
# that a sign-in stays well under a second on a 2-core machine.
_hasher = PasswordHasher()

# Verified against when a login is unknown, so that the time taken does not tell
# whether an account exists.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password_rules(password: str, *, login: str, min_length: int) -> None:
    """等保 level 3: length and complexity; not the login name."""
    problems = []
    if len(password) < min_length:
        problems.append(f"密码至少 {min_length} 位")
    classes = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if classes < 3:
        problems.append("密码须包含大写字母、小写字母、数字、符号中的至少三类")
    if login and login.lower() in password.lower():
        problems.append("密码不得包含登录名")
    if problems:
        raise ValidationFailed(
            "密码不符合要求", code="weak_password",
            details=[{"field": "password", "message": p} for p in problems],
        )


# --- tokens ---------------------------------------------------------------------------

_TOKEN_PREFIX = "cx1"


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    role: str
    version: int
    expires_at: int  # unix seconds
    token_id: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_token(key: bytes, claims: TokenClaims) -> str:
    payload = _b64(orjson.dumps({
        "sub": claims.user_id, "role": claims.role, "ver": claims.version,
        "exp": claims.expires_at, "jti": claims.token_id,
    }))
    mac = hmac.new(key, f"{_TOKEN_PREFIX}.{payload}".encode("ascii"), hashlib.sha256).digest()
    return f"{_TOKEN_PREFIX}.{payload}.{_b64(mac)}"


def read_token(key: bytes, token: str, *, now_ts: int) -> TokenClaims | None:
    """The claims of a genuine, unexpired token; None for anything else."""
    try:
        prefix, payload, mac = token.split(".")
        if prefix != _TOKEN_PREFIX:
            return None
        expected = hmac.new(key, f"{prefix}.{payload}".encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        data = orjson.loads(_unb64(payload))
        claims = TokenClaims(
            user_id=int(data["sub"]), role=str(data["role"]), version=int(data["ver"]),
            expires_at=int(data["exp"]), token_id=str(data["jti"]),
        )
    except (ValueError, KeyError, TypeError, UnicodeError, orjson.JSONDecodeError):
        return None
    return claims if claims.expires_at > now_ts else None


# --- API keys --------------------------------------------------------------------------

API_KEY_PREFIX = "cxk_"


def new_api_key() -> tuple[str, str, str]:
    """(full key, lookup prefix, hash). Keys are 256-bit random, so a plain SHA-256 is
    as safe as a slow hash here and keeps the check path fast."""
    prefix = secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_api_key(key)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def api_key_prefix(key: str) -> str | None:
    if not key.startswith(API_KEY_PREFIX):
        return None
    parts = key[len(API_KEY_PREFIX):].split("_", 1)
    return parts[0] if len(parts) == 2 and len(parts[0]) == 12 else None
