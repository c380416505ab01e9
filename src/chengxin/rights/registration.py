"""Online registration of an individual: one account per verified identity.

The phone is kept only encrypted, with a blind index for lookup; the ID number goes
through the subjects service like everywhere else. Messages never quote the ID number,
the phone, or the name already known for an ID number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.models import User
from chengxin.accounts.principal import Principal, Role
from chengxin.accounts.service import create_user
from chengxin.audit.service import record
from chengxin.errors import Conflict, TooMany, ValidationFailed
from chengxin.identity import (
    IdentityError,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    normalize_phone,
)
from chengxin.rights.identity_providers import IdentityProvider, provider_for
from chengxin.rights.querylog import SlidingWindow
from chengxin.runtime import Runtime, runtime_of
from chengxin.subjects.service import PHONE_DOMAIN, find_person

PER_ADDRESS = 10
WINDOW = dt.timedelta(minutes=10)
_LIMITER_KEY = "rights.registration.limiter"


@dataclass
class Registered:
    user: User
    verified_by: str
    demonstration: bool
    note: str


def _field(field: str, message: str, code: str = "validation_error") -> ValidationFailed:
    return ValidationFailed(message, code=code, details=[{"field": field, "message": message}])


def registrant(login: str) -> Principal:
    """Nobody is signed in yet: the audit names the attempted login (capped)."""
    return Principal(kind="public", role=Role.PUBLIC, label=f"register:{(login or '')[:50]}")


def check_rate(rt: Runtime, address: str) -> None:
    lim = rt.caches.get(_LIMITER_KEY)
    if lim is None:
        lim = rt.caches[_LIMITER_KEY] = SlidingWindow(PER_ADDRESS, WINDOW)
    if not lim.hit(address or "unknown"):
        raise TooMany("注册请求过于频繁，请稍后再试", code="rate_limited")


def register(session: Session, *, actor: Principal, login: str, password: str,
             id_number: str, name: str, phone: str,
             provider: IdentityProvider | None = None) -> Registered:
    rt = runtime_of(session)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise _field("name", "姓名须为 1–100 个字符")
    try:
        id18 = normalize_id_number(id_number, today=clock.today())
    except IdentityError as exc:
        raise _field("id_number", exc.message, exc.code) from None
    try:
        phone11 = normalize_phone(phone)
    except IdentityError as exc:
        raise _field("phone", exc.message, exc.code) from None
    from chengxin.accounts import security
    from chengxin.accounts.service import _LOGIN

    if not _LOGIN.match(login or ""):
        raise _field("login", "登录名须为 3–64 位字母、数字或 _.@-")
    # Checked before the provider is asked: a real check may cost money per call.
    security.check_password_rules(password or "", login=login,
                                  min_length=rt.settings.password_min_length)
    if session.scalar(select(User.id).where(User.login == login)) is not None:
        raise Conflict("登录名已被使用", code="login_taken")

    result = (provider or provider_for(rt.settings)).verify(id18, name, phone11)
    if not result.ok:
        raise ValidationFailed("实名核验未通过，请核对身份证号码、姓名和手机号码",
                               code="identity_not_verified", details=[
                                   {"field": "id_number", "message": "实名核验未通过"}])

    known = find_person(session, id18)
    if known is not None:
        if known.name != name:
            # Never say which name is on file.
            raise _field("name", "姓名与身份证号码不符", "name_mismatch")
        if session.scalar(select(User.id).where(User.person_id == known.id)) is not None:
            raise Conflict("该身份已注册账号，请直接登录或找回密码", code="identity_taken")

    user = create_user(session, actor=actor, login=login, password=password,
                       role=Role.INDIVIDUAL.value, id_number=id18, name=name)
    person = known or _person(session, user.person_id)
    person.phone_enc = rt.cipher.encrypt(phone11, context=PHONE_DOMAIN)
    person.phone_hash = rt.blind.digest(phone11, domain=PHONE_DOMAIN)
    session.flush()
    record(session, actor, "user.register", object_type="user", object_id=user.id,
           subject_person_id=person.id,
           details={"verified_by": result.verified_by, "demonstration": result.demonstration,
                    "id_number": mask_id_number(id18, "staff"),
                    "phone": mask_phone(phone11, "staff")})
    return Registered(user, result.verified_by, result.demonstration, result.note)


def _person(session: Session, person_id: int | None):  # type: ignore[no-untyped-def]
    from chengxin.subjects.models import Person

    person = session.get(Person, person_id)
    assert person is not None  # create_user just made or found it
    return person
