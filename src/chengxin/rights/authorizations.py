"""授权查询: the person lets one grantee query their report for one purpose.

The code is shown once; only a keyed hash and a two-character hint are kept. A third
party presents the code with the person's ID number (征信条例 art. 18): every failure —
wrong code, another person, expired, revoked, wrong grantee, a frozen person, an unknown
person — gets the same answer, so nothing is learnt about the person or the reason.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal, Role
from chengxin.audit.service import record
from chengxin.errors import Forbidden, NotFound, TooMany, ValidationFailed
from chengxin.identity import IdentityError, normalize_id_number
from chengxin.rights.common import own_person
from chengxin.rights.freeze import is_frozen
from chengxin.rights.models import Authorization
from chengxin.rights.querylog import actor_key, limiter, log_query
from chengxin.runtime import runtime_of
from chengxin.subjects.service import find_person

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone
CODE_LENGTH = 10  # 32^10 ≈ 10^15
CODE_DOMAIN = "authorization.code"
SCOPES = frozenset({"report"})
MAX_VALID_DAYS = 90
UNAVAILABLE = "该信息主体的信用报告暂不可查询"
# Failed attempts per third-party account, so codes cannot be guessed at speed.
FAILURES_PER_WINDOW = 20
FAILURE_WINDOW = dt.timedelta(minutes=10)
_CODE_CLEAN = re.compile(r"[\s\-]")


class ReportUnavailable(Forbidden):
    """The one refusal for any failed authorised query. `reason` is for the audit log
    and the caller's logs only, never for the response."""

    code = "report_unavailable"

    def __init__(self, reason: str, person_id: int | None = None,
                 authorization_id: int | None = None) -> None:
        super().__init__(UNAVAILABLE)
        self.reason = reason
        self.person_id = person_id
        self.authorization_id = authorization_id


def _field(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": field, "message": message}])


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str) -> str:
    return _CODE_CLEAN.sub("", raw or "").upper()


def _status(a: Authorization, now: dt.datetime) -> str:
    if a.revoked_at is not None:
        return "revoked"
    if a.expires_at <= now:
        return "expired"
    return "active"


def authorization_dict(a: Authorization, now: dt.datetime | None = None) -> dict[str, Any]:
    """Never the code: it was shown once, at creation."""
    return {
        "authorization_id": a.id, "grantee": a.grantee, "purpose": a.purpose,
        "scope": a.scope, "code_hint": a.code_hint + "…",
        "created_at": a.created_at.isoformat(), "expires_at": a.expires_at.isoformat(),
        "revoked_at": a.revoked_at.isoformat() if a.revoked_at else None,
        "uses": a.uses, "status": _status(a, now or clock.now()),
    }


def create(session: Session, *, actor: Principal, grantee: str, purpose: str,
           scope: str = "report", valid_days: int = 30) -> tuple[Authorization, str]:
    """The authorisation and its code in clear (to show once)."""
    person_id = own_person(actor)
    grantee = (grantee or "").strip()
    purpose = (purpose or "").strip()
    if not grantee or len(grantee) > 200:
        raise _field("grantee", "被授权机构名称须为 1–200 个字符")
    if not purpose or len(purpose) > 200:
        raise _field("purpose", "查询用途须为 1–200 个字符")
    if scope not in SCOPES:
        raise _field("scope", "授权范围只能是 report")
    if not isinstance(valid_days, int) or not 1 <= valid_days <= MAX_VALID_DAYS:
        raise _field("valid_days", f"有效天数须在 1 到 {MAX_VALID_DAYS} 之间")
    rt = runtime_of(session)
    code = new_code()
    now = clock.now()
    row = Authorization(
        person_id=person_id, grantee=grantee, purpose=purpose, scope=scope,
        code_hash=rt.blind.digest(code, domain=CODE_DOMAIN), code_hint=code[:2],
        created_at=now, expires_at=now + dt.timedelta(days=valid_days), revoked_at=None,
        uses=0,
    )
    session.add(row)
    session.flush()
    record(session, actor, "authorization.create", object_type="authorization",
           object_id=row.id, subject_person_id=person_id, purpose=purpose,
           details={"grantee": grantee, "scope": scope, "valid_days": valid_days})
    return row, code


def list_mine(session: Session, *, actor: Principal) -> list[dict[str, Any]]:
    person_id = own_person(actor)
    rows = list(session.scalars(select(Authorization).where(
        Authorization.person_id == person_id).order_by(Authorization.id.desc())))
    record(session, actor, "authorization.list", object_type="person", object_id=person_id,
           subject_person_id=person_id, details={"count": len(rows)})
    now = clock.now()
    return [authorization_dict(a, now) for a in rows]


def revoke(session: Session, *, actor: Principal, authorization_id: int) -> Authorization:
    person_id = own_person(actor)
    row = session.get(Authorization, authorization_id)
    if row is None or row.person_id != person_id:
        raise NotFound("授权不存在")  # the same for another person's authorisation
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        record(session, actor, "authorization.revoke", object_type="authorization",
               object_id=row.id, subject_person_id=person_id)
    return row


def use_authorization(session: Session, *, actor: Principal, id18: str, code: str,
                      purpose: str) -> Authorization:
    """For the report endpoint: check a third party's code for this person, count the
    use, register the query. Any failure is `ReportUnavailable` (403, one message);
    the caller's transaction rolls back, and the app's Forbidden handler audits the
    refusal (`access.denied`, code report_unavailable)."""
    purpose = (purpose or "").strip()
    if not purpose or len(purpose) > 200:
        raise _field("purpose", "查询用途须为 1–200 个字符")
    try:
        id18 = normalize_id_number(id18, today=clock.today())
    except IdentityError as exc:
        raise _field("id_number", exc.message) from None
    failures = limiter(session, "rights.authorization.failures", FAILURES_PER_WINDOW,
                       FAILURE_WINDOW)
    key = actor_key(actor)
    if failures.blocked(key):
        raise TooMany("查询失败次数过多，请稍后再试", code="query_rate_limited")

    rt = runtime_of(session)
    digest = rt.blind.digest(normalize_code(code), domain=CODE_DOMAIN)
    auth = session.scalar(select(Authorization).where(Authorization.code_hash == digest))
    person = find_person(session, id18)
    now = clock.now()
    organization = (actor.organization or "").strip()
    reason = None
    if actor.role != Role.THIRD_PARTY or not organization:
        reason = "not_third_party"
    elif auth is None:
        reason = "bad_code"
    elif person is None or auth.person_id != person.id:
        reason = "other_person"
    elif auth.scope != "report":
        reason = "scope"
    elif auth.revoked_at is not None:
        reason = "revoked"
    elif auth.expires_at <= now:
        reason = "expired"
    elif auth.grantee.strip() != organization:
        reason = "grantee"
    elif is_frozen(session, auth.person_id):
        reason = "frozen"
    if reason is not None:
        failures.hit(key)
        raise ReportUnavailable(reason, person_id=person.id if person else None,
                                authorization_id=auth.id if auth else None)

    assert auth is not None
    # Counted in SQL: two simultaneous uses both count.
    session.execute(update(Authorization).where(Authorization.id == auth.id)
                    .values(uses=Authorization.uses + 1)
                    .execution_options(synchronize_session=False))
    session.refresh(auth)
    log_query(session, actor=actor, person_id=auth.person_id, channel="third_party",
              what="report", purpose=purpose, authorization_id=auth.id)
    record(session, actor, "authorization.use", object_type="authorization",
           object_id=auth.id, subject_person_id=auth.person_id, purpose=purpose,
           details={"organization": organization, "uses": auth.uses})
    return auth
