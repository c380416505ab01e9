"""Account use cases: create users and keys, sign in with lockout, resolve credentials.

Every function takes a session and the acting principal, writes its audit entry, and
never commits.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts import security, sessions, totp
from chengxin.accounts.models import ApiKey, User
from chengxin.accounts.principal import USER_ROLES, Principal, Role
from chengxin.audit.service import record
from chengxin.errors import Conflict, NotFound, ValidationFailed
from chengxin.identity import IdentityError, scrub_text
from chengxin.reference.models import Department
from chengxin.runtime import runtime_of
from chengxin.subjects.service import resolve_person

_LOGIN = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")


def _field_error(field: str, message: str, code: str = "validation_error") -> ValidationFailed:
    return ValidationFailed(message, code=code, details=[{"field": field, "message": message}])


def _department(session: Session, code: str) -> Department:
    dept = session.get(Department, code)
    if dept is None or not dept.active:
        raise _field_error("department", "部门代码不存在", "unknown_department")
    return dept


def create_user(
    session: Session,
    *,
    actor: Principal,
    login: str,
    password: str,
    role: str,
    department_code: str | None = None,
    id_number: str | None = None,
    name: str | None = None,
    organization: str | None = None,
) -> User:
    settings = runtime_of(session).settings
    if not _LOGIN.match(login or ""):
        raise _field_error("login", "登录名须为 3–64 位字母、数字或 _.@-")
    if role not in USER_ROLES:
        raise _field_error("role", f"角色须为 {', '.join(USER_ROLES)} 之一", "unknown_role")
    if role == Role.REPORTER and not department_code:
        raise _field_error("department", "填报员必须属于一个部门")
    if department_code:
        _department(session, department_code)
    if role == Role.THIRD_PARTY and not organization:
        raise _field_error("organization", "第三方用户须注明所属机构")
    security.check_password_rules(password, login=login, min_length=settings.password_min_length)
    if session.scalar(select(User.id).where(User.login == login)) is not None:
        raise Conflict("登录名已被使用", code="login_taken")
    person_id = None
    if role == Role.INDIVIDUAL:
        if not id_number or not name:
            raise _field_error("id_number", "个人用户须提供身份证号码和姓名")
        try:
            person = resolve_person(session, id_number, name).person
        except IdentityError as exc:
            raise _field_error("id_number", exc.message, exc.code) from exc
        if session.scalar(select(User.id).where(User.person_id == person.id)) is not None:
            raise Conflict("该身份已绑定账号", code="identity_taken")
        person_id = person.id
    now = clock.now()
    user = User(
        login=login, display_name=name if role != Role.INDIVIDUAL else None,
        password_hash=security.hash_password(password), role=role,
        department_code=department_code, person_id=person_id, organization=organization,
        active=True, failed_attempts=0, token_version=1, created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    record(session, actor, "user.create", object_type="user", object_id=user.id,
           subject_person_id=person_id,
           details={"login": login, "role": role, "department": department_code})
    return user


@dataclass
class SignIn:
    ok: bool
    token: str | None = None
    expires_in: int = 0
    reason: str = ""
    user_id: int | None = None
    totp_enrolment_required: bool = False


def sign_in(session: Session, login: str, password: str, totp_code: str | None = None) -> SignIn:
    """Check a password and, where enabled, the TOTP code, counting failures (a wrong
    code counts like a wrong password towards the lockout); the caller commits whatever
    the outcome, so a failed attempt is remembered and audited."""
    rt = runtime_of(session)
    settings = rt.settings
    now = clock.now()
    user = session.scalar(select(User).where(User.login == login))
    if user is None:
        security.verify_password(None, password)  # same work as for a real account
        record(session, _anon(login), "auth.login", outcome="failed",
               details={"reason": "unknown_login"})
        return SignIn(False, reason="bad_credentials")
    actor = Principal(kind="user", role=Role(user.role), id=str(user.id),
                      department_code=user.department_code, label=user.login)
    if user.locked_until and user.locked_until > now:
        record(session, actor, "auth.login", object_type="user", object_id=user.id,
               outcome="denied", details={"reason": "locked"})
        return SignIn(False, reason="locked", user_id=user.id)
    if not user.active or not security.verify_password(user.password_hash, password):
        return _failed(session, actor, user, "bad_password" if user.active else "inactive")
    factor = totp.second_factor(session, user, totp_code)
    if factor == "required":
        # The password was right: say a code is needed (the counter is left as it is).
        record(session, actor, "auth.login", object_type="user", object_id=user.id,
               outcome="failed", details={"reason": "totp_required"})
        return SignIn(False, reason="totp_required", user_id=user.id)
    if factor == "bad":
        return _failed(session, actor, user, "bad_totp")
    user.failed_attempts = 0
    user.locked_until = None
    user.last_login_at = now
    user.last_seen_at = now  # starts the idle clock (accounts/sessions.py)
    ttl = settings.token_ttl_minutes * 60
    token = security.sign_token(rt.keys.token_key, security.TokenClaims(
        user_id=user.id, role=user.role, version=user.token_version,
        expires_at=int(now.timestamp()) + ttl, token_id=secrets.token_hex(8)))
    record(session, actor, "auth.login", object_type="user", object_id=user.id)
    return SignIn(True, token=token, expires_in=ttl, user_id=user.id,
                  totp_enrolment_required=totp.enrolment_pending(user, settings))


def _failed(session: Session, actor: Principal, user: User, reason: str) -> SignIn:
    """Count a failed sign-in (wrong password or wrong code); lock the account when the
    threshold is reached. The caller commits, so the count survives the refusal."""
    settings = runtime_of(session).settings
    user.failed_attempts += 1
    details: dict = {"reason": reason, "failed_attempts": user.failed_attempts}
    if user.failed_attempts >= settings.lockout_threshold:
        user.locked_until = clock.now() + dt.timedelta(minutes=settings.lockout_minutes)
        user.failed_attempts = 0
        details["locked_until"] = user.locked_until.isoformat()
    record(session, actor, "auth.login", object_type="user", object_id=user.id,
           outcome="failed", details=details)
    return SignIn(False, reason="bad_credentials", user_id=user.id)


def _anon(login: str) -> Principal:
    # People type their ID number or phone as the login: mask those before the attempted
    # login goes into the audit log, and cap its length.
    return Principal(kind="public", role=Role.PUBLIC, label=scrub_text(login[:64])[:64])


def principal_for_user(user: User, *, totp_pending: bool = False) -> Principal:
    return Principal(kind="user", role=Role(user.role), id=str(user.id),
                     department_code=user.department_code, person_id=user.person_id,
                     label=user.login, organization=user.organization,
                     totp_pending=totp_pending)


def principal_from_token(session: Session, token: str) -> Principal | None:
    rt = runtime_of(session)
    claims = security.read_token(rt.keys.token_key, token,
                                 now_ts=int(clock.now().timestamp()))
    if claims is None:
        return None
    user = session.get(User, claims.user_id)
    if user is None or not user.active or user.token_version != claims.version:
        return None
    # Idle timeout: here rather than in deps.py so the pages' cookie session (web/auth.py)
    # gets it too. The caller's unit of work commits the new last_seen_at.
    if not sessions.check_and_touch(user, clock.now(), rt.settings):
        return None
    return principal_for_user(user, totp_pending=totp.enrolment_pending(user, rt.settings))


def create_api_key(session: Session, *, actor: Principal, department_code: str,
                   name: str | None = None) -> tuple[ApiKey, str]:
    _department(session, department_code)
    key, prefix, key_hash = security.new_api_key()
    row = ApiKey(prefix=prefix, key_hash=key_hash, department_code=department_code,
                 name=(name or f"{department_code} system")[:100], created_at=clock.now(),
                 created_by=actor.name)
    session.add(row)
    session.flush()
    record(session, actor, "apikey.create", object_type="api_key", object_id=row.id,
           details={"prefix": prefix, "department": department_code})
    return row, key


def revoke_api_key(session: Session, *, actor: Principal, key_id: int) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound("API 密钥不存在")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        record(session, actor, "apikey.revoke", object_type="api_key", object_id=row.id,
               details={"prefix": row.prefix, "department": row.department_code})
    return row


def principal_from_api_key(session: Session, key: str) -> Principal | None:
    prefix = security.api_key_prefix(key)
    if prefix is None:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None or row.revoked_at is not None:
        return None
    if not secrets.compare_digest(row.key_hash, security.hash_api_key(key)):
        return None
    return Principal(kind="api_key", role=Role.SYSTEM, id=str(row.id),
                     department_code=row.department_code, label=f"key:{row.prefix}")


def set_active(session: Session, *, actor: Principal, user_id: int, active: bool) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    user.active = active
    user.token_version += 1  # signs the user out everywhere
    record(session, actor, "user.activate" if active else "user.deactivate",
           object_type="user", object_id=user.id)
    return user
