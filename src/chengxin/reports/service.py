"""Issuing, fetching and verifying reports."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal, Role
from chengxin.audit.service import record as audit
from chengxin.errors import Forbidden, NotFound
from chengxin.identity import mask_name
from chengxin.reference.models import Department
from chengxin.reports import builder, signing
from chengxin.reports.models import IssuedReport
from chengxin.runtime import runtime_of
from chengxin.subjects.models import Person
from chengxin.subjects.service import reveal_id_number

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand
CODE_DOMAIN = "report.verification_code"


def _code(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def platform(session: Session) -> dict[str, str]:
    office = session.scalars(select(Department).where(Department.is_credit_office,
                                                      Department.active)).all()
    order = {"county": 0, "city": 1, "province": 2, "national": 3}
    office.sort(key=lambda d: order.get(d.level, 9))
    return {"code": office[0].code, "name": office[0].name} if office else {"code": "", "name": ""}


def issue(session: Session, *, actor: Principal, person: Person, kind: str, audience: str,
          purpose: str | None, authorization_id: int | None = None) -> dict[str, Any]:
    rt = runtime_of(session)
    id18 = reveal_id_number(session, person)
    content = builder.build(session, person, kind=kind, audience=audience, id18=id18)
    now = clock.now()
    report_no = f"CX{now.strftime('%Y%m%d')}{_code(8)}"
    code = _code(8)
    doc = {
        "report_no": report_no, "issued_at": now.isoformat(timespec="seconds"),
        "issuer": platform(session), "audience": audience, "purpose": purpose,
        **content,
    }
    doc["signature"] = signing.sign(rt.keys, doc)
    session.add(IssuedReport(
        report_no=report_no, kind=kind, audience=audience, person_id=person.id,
        issued_to=actor.name, issued_to_key=f"{actor.kind}:{actor.id}",
        organization=actor.organization, purpose=purpose, authorization_id=authorization_id,
        issued_at=now, code_hash=rt.blind.digest(f"{report_no}:{code}", domain=CODE_DOMAIN),
        payload=doc, signature=doc["signature"]["value"], key_id=doc["signature"]["key_id"]))
    audit(session, actor, "report.issue", object_type="report", object_id=report_no,
          subject_person_id=person.id, purpose=purpose,
          details={"kind": kind, "audience": audience, "authorization_id": authorization_id})
    # The code is shown to the requester once; only its keyed hash is kept.
    return {**doc, "verification_code": code,
            "verify_url": verify_url(rt.settings.address(), report_no, code)}


def verify_url(base: str, report_no: str, code: str) -> str:
    return f"{base.rstrip('/')}/verify?report_no={report_no}&code={code}"


def get_for(session: Session, *, actor: Principal, report_no: str) -> IssuedReport:
    """A stored report, for the person it is about or whoever it was issued to."""
    rep = session.get(IssuedReport, report_no[:32])
    allowed = rep is not None and (
        (actor.role == Role.INDIVIDUAL and actor.person_id == rep.person_id)
        or rep.issued_to_key == f"{actor.kind}:{actor.id}")
    if not allowed:
        raise NotFound("报告不存在")
    assert rep is not None
    audit(session, actor, "report.read", object_type="report", object_id=rep.report_no,
          subject_person_id=rep.person_id)
    return rep


def verify(session: Session, report_no: str, code: str) -> dict[str, Any]:
    """Public check: genuine or not, issue date, masked subject. One answer for every
    failure, so that report numbers cannot be probed."""
    rt = runtime_of(session)
    rep = session.get(IssuedReport, (report_no or "")[:32])
    digest = rt.blind.digest(f"{report_no}:{(code or '').strip().upper()}", domain=CODE_DOMAIN)
    if rep is None or not secrets.compare_digest(rep.code_hash, digest):
        return {"genuine": False, "message": "未找到与该报告编号和核验码相符的报告"}
    genuine = signing.verify(signing.published_key(rt.keys)["public_key"], rep.payload)
    ident = rep.payload.get("identity", {})
    return {"genuine": genuine, "report_no": rep.report_no, "kind": rep.kind,
            "title": rep.payload.get("title"), "issued_at": rep.issued_at.isoformat(),
            "subject": {"name_masked": mask_name(ident.get("name", ""), "public"),
                        "id_number_masked": ident.get("id_number_masked")},
            "message": "报告真实有效" if genuine else "报告签名校验失败"}


def require_person(session: Session, person_id: int | None) -> Person:
    person = session.get(Person, person_id) if person_id else None
    if person is None:
        raise Forbidden("账号未绑定信息主体", code="no_person")
    return person
