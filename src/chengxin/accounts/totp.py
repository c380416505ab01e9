"""Second factor for sign-in: time-based one-time passwords (TOTP, RFC 6238).

等保 2.0 level 3 (GB/T 22239-2019 §8.1.4 身份鉴别) asks for two or more factors, at least
one of them cryptographic: the password is what the person knows, the TOTP secret (an
HMAC-SHA1 key on their phone's authenticator app) is what they have.

- Enrolment: a fresh 160-bit secret is stored encrypted with the field cipher (context
  "user.totp", so the ciphertext cannot be moved into another column) and shown once as a
  provisioning URI; the factor is enabled only when the person confirms a valid code, so a
  mistyped QR scan cannot lock anyone out.
- Verification: 6 digits, 30-second steps, one step either side for clock drift, and each
  step accepted at most once per user (replay protection).
- Reset: an admin, never the user themself, removes the factor (lost phone); audited.

The secret and codes are never logged or audited, only the fact and the user id.
"""

from __future__ import annotations

import hmac
import re
import threading
from dataclasses import dataclass
from typing import Any

import pyotp
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.models import User
from chengxin.accounts.principal import STAFF_ROLES, Principal, Role
from chengxin.audit.service import record
from chengxin.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chengxin.identity import CipherError
from chengxin.runtime import Runtime, runtime_of

ISSUER = "诚信 Chengxin"
CONTEXT = "user.totp"  # the field cipher's associated data for this column
DIGITS = 6
PERIOD = 30  # seconds per step
WINDOW = 1  # steps accepted either side of "now": ±30 s of clock drift
_CODE = re.compile(r"^[0-9]{6}$")

# Replay protection: the last accepted step per user. Kept in the process (the brief's
# choice: no extra column); a deployment running several workers may accept one code
# once per worker within its 90-second life — the password is still needed, and a
# `totp_last_step` column closes that gap if ever required (docs/security.md).
_REPLAY_CACHE = "totp_last_step"
_replay_lock = threading.Lock()


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, shown once (for typing in by hand)
    provisioning_uri: str  # otpauth://totp/... for the QR code, shown once


def require_for_staff(settings: Any) -> bool:
    """CHENGXIN_REQUIRE_TOTP_FOR_STAFF (read tolerantly until config.py declares it)."""
    return bool(getattr(settings, "require_totp_for_staff", False))


def enrolment_pending(user: User, settings: Any) -> bool:
    """A staff account that must enrol before it may do anything else."""
    return (require_for_staff(settings) and Role(user.role) in STAFF_ROLES
            and not user.totp_enabled)


# --- codes ------------------------------------------------------------------------------

def _secret(rt: Runtime, user: User) -> str | None:
    if not user.totp_secret_enc:
        return None
    try:
        return rt.cipher.decrypt(user.totp_secret_enc, context=CONTEXT)
    except CipherError:
        return None  # tampered or moved ciphertext: fails closed, like a wrong code


def matching_step(secret: str, code: str | None, now_ts: float) -> int | None:
    """The time step within ±WINDOW whose code equals `code`, or None."""
    if not isinstance(code, str):
        return None
    code = code.strip().replace(" ", "")
    if not _CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    current = int(now_ts) // PERIOD
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        # compare every candidate (no early exit): timing does not tell which step matched
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def _accept_step(rt: Runtime, user_id: int, step: int) -> bool:
    with _replay_lock:
        seen: dict[int, int] = rt.caches.setdefault(_REPLAY_CACHE, {})
        last = seen.get(user_id)
        if last is not None and step <= last:
            return False
        seen[user_id] = step
        return True


def verify(session: Session, user: User, code: str | None) -> bool:
    """True once per valid code of an enabled (or being-confirmed) factor."""
    rt = runtime_of(session)
    secret = _secret(rt, user)
    if secret is None:
        return False
    step = matching_step(secret, code, clock.now().timestamp())
    return step is not None and _accept_step(rt, user.id, step)


def second_factor(session: Session, user: User, code: str | None) -> str:
    """For sign-in, after the password was right: "ok" (no factor, or a valid code),
    "required" (factor enabled, no code sent), "bad" (a wrong, stale or replayed code)."""
    if not user.totp_enabled:
        return "ok"
    if code is None or (isinstance(code, str) and not code.strip()):
        return "required"
    return "ok" if verify(session, user, code) else "bad"


# --- use cases ----------------------------------------------------------------------------

def _own_user(session: Session, actor: Principal) -> User:
    if actor.kind != "user" or actor.id is None:
        raise Forbidden("只有个人账号可以设置动态口令", code="not_a_person_account")
    user = session.get(User, int(actor.id))
    if user is None or not user.active:
        raise NotFound("用户不存在")
    return user


def begin_enrolment(session: Session, *, actor: Principal) -> Enrolment:
    """A new secret for the signed-in user; replaces an unconfirmed one."""
    user = _own_user(session, actor)
    if user.totp_enabled:
        raise Conflict("已启用动态口令；如需更换，请联系管理员重置", code="totp_already_enabled")
    rt = runtime_of(session)
    secret = pyotp.random_base32()  # 32 base32 characters = 160 bits (RFC 4226's advice)
    user.totp_secret_enc = rt.cipher.encrypt(secret, context=CONTEXT)
    user.totp_enabled = False
    with _replay_lock:
        rt.caches.setdefault(_REPLAY_CACHE, {}).pop(user.id, None)
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=user.login, issuer_name=ISSUER)
    record(session, actor, "totp.enrol", object_type="user", object_id=user.id)
    return Enrolment(secret=secret, provisioning_uri=uri)


def confirm_enrolment(session: Session, *, actor: Principal, code: str) -> User:
    user = _own_user(session, actor)
    if user.totp_enabled:
        raise Conflict("动态口令已启用", code="totp_already_enabled")
    if not user.totp_secret_enc:
        raise Conflict("请先开始绑定动态口令", code="totp_not_started")
    if not verify(session, user, code):
        raise ValidationFailed("动态口令不正确或已过期", code="invalid_totp", details=[
            {"field": "code", "message": "动态口令不正确或已过期"}])
    user.totp_enabled = True
    record(session, actor, "totp.enable", object_type="user", object_id=user.id)
    return user


def reset(session: Session, *, actor: Principal, user_id: int) -> User:
    """An admin removes a user's factor (lost or replaced phone); the user enrols again.

    Not on one's own account: otherwise whoever holds an admin session could drop the
    admin's second factor without a second person knowing."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    if actor.kind == "user" and actor.id == str(user.id):
        raise Forbidden("不能重置自己的动态口令，请由另一名管理员操作", code="own_account")
    was_enabled = user.totp_enabled
    user.totp_secret_enc = None
    user.totp_enabled = False
    rt = runtime_of(session)
    with _replay_lock:
        rt.caches.setdefault(_REPLAY_CACHE, {}).pop(user.id, None)
    record(session, actor, "totp.reset", object_type="user", object_id=user.id,
           details={"was_enabled": was_enabled})
    return user
