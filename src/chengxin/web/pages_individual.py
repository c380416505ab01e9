"""The data subject's own pages: records, report, objections, repairs, notices,
authorisations, who looked at my data, score. All through the audited services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from chengxin.deps import DbId
from chengxin.rights.common import own_person, policy
from chengxin.web import auth
from chengxin.web.common import CSRF, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _me(request: Request):  # type: ignore[no-untyped-def]
    return auth.require(request, "me.subject")


def _own_archive(request: Request, who: Any) -> dict[str, Any]:
    from chengxin.archives import service as archives
    from chengxin.reports.service import require_person
    from chengxin.subjects.service import reveal_id_number

    with auth.runtime(request).uow() as s:
        person = require_person(s, own_person(who))
        data = archives.get_archive(s, actor=who, person=person, purpose="本人查询")
        # The person's own view is the only place their number is shown in clear.
        data["basic"]["id_number_self"] = reveal_id_number(s, person)
    data["records"] = [r for recs in data["sections"].values() for r in recs]
    data["records"].sort(key=lambda r: (r["decision_date"], r["record_id"]), reverse=True)
    return data


@router.get("/my")
def my_records(request: Request) -> Response:
    who = _me(request)
    return render(request, "my/records.html", {"archive": _own_archive(request, who)})


@router.get("/my/report")
def report_page(request: Request) -> Response:
    _me(request)
    return render(request, "my/report.html", {"report": None})


@router.post("/my/report")
def issue_report(request: Request, _: None = CSRF, kind: str = Form("personal")) -> Response:
    who = _me(request)
    from chengxin.reports import service

    kind = kind if kind in ("personal", "occupational") else "personal"
    with auth.runtime(request).uow() as s:
        person = service.require_person(s, own_person(who))
        rep = service.issue(s, actor=who, person=person, kind=kind, audience="self",
                            purpose="本人查询")
    return render(request, "my/report.html", {"report": rep})


@router.get("/my/objections")
def objections_page(request: Request, record_id: str = "") -> Response:
    who = _me(request)
    from chengxin.rights import objections
    from chengxin.rights.models import Objection

    with auth.runtime(request).uow() as s:
        rows = [objections.objection_dict(o) for o in s.scalars(
            select(Objection).where(Objection.person_id == own_person(who))
            .order_by(Objection.id.desc()))]
    return render(request, "my/objections.html", {"rows": rows, "record_id": record_id})


@router.post("/my/objections")
def file_objection(request: Request, _: None = CSRF, record_id: str = Form(""),
                   reason: str = Form("")) -> Response:
    who = _me(request)
    from chengxin.rights import objections

    rid = int(record_id) if record_id.strip().isdigit() else 0
    reason = reason.strip()[:4000]
    if not reason:
        return render(request, "my/objections.html", {
            "rows": [], "record_id": record_id, "error": "请填写异议理由。"}, status=422)
    with auth.runtime(request).uow() as s:
        objections.file_objection(s, actor=who, record_id=rid, reason=reason, evidence_ids=[])
    return redirect("/my/objections?done=objection_filed")


@router.get("/my/repairs")
def repairs_page(request: Request, record_id: str = "") -> Response:
    who = _me(request)
    from chengxin.rights import repairs
    from chengxin.rights.models import RepairApplication

    with auth.runtime(request).uow() as s:
        rows = [repairs.repair_dict(a) for a in s.scalars(
            select(RepairApplication).where(RepairApplication.person_id == own_person(who))
            .order_by(RepairApplication.id.desc()))]
        pol = policy(s).repairs
    return render(request, "my/repairs.html", {"rows": rows, "record_id": record_id, "pol": pol})


@router.post("/my/repairs")
def apply_repair(request: Request, _: None = CSRF, record_id: str = Form(""),
                 method: str = Form(""), reason: str = Form(""),
                 commitment: str = Form("")) -> Response:
    who = _me(request)
    from chengxin.rights import repairs

    rid = int(record_id) if record_id.strip().isdigit() else 0
    with auth.runtime(request).uow() as s:
        repairs.apply(s, actor=who, record_id=rid, list_entry_id=None, method=method,
                      reason=reason.strip()[:4000] or "申请信用修复", evidence_ids=[],
                      commitment=bool(commitment))
    return redirect("/my/repairs?done=repair_filed")


@router.get("/my/notices")
def notices(request: Request) -> Response:
    who = _me(request)
    from chengxin.rights.models import Notice
    from chengxin.rights.notices import notice_dict

    with auth.runtime(request).uow() as s:
        rows = [notice_dict(n) for n in s.scalars(
            select(Notice).where(Notice.person_id == own_person(who))
            .order_by(Notice.id.desc()).limit(200))]
    return render(request, "my/notices.html", {"rows": rows})


@router.post("/my/notices/{notice_id}/read")
def read_notice(request: Request, notice_id: DbId, _: None = CSRF) -> Response:
    who = _me(request)
    from chengxin import clock
    from chengxin.errors import NotFound
    from chengxin.rights.models import Notice

    with auth.runtime(request).uow() as s:
        n = s.get(Notice, notice_id)
        if n is None or n.person_id != own_person(who):
            raise NotFound("通知不存在")
        n.read_at = n.read_at or clock.now()
    return redirect("/my/notices?done=notice_read")


@router.get("/my/authorizations")
def authorizations_page(request: Request) -> Response:
    who = _me(request)
    from chengxin.rights import authorizations, freeze

    with auth.runtime(request).uow() as s:
        rows = authorizations.list_mine(s, actor=who)
        frozen = freeze.status(s, actor=who)
    return render(request, "my/authorizations.html", {"rows": rows, "frozen": frozen,
                                                      "created": None})


@router.post("/my/authorizations")
def create_authorization(request: Request, _: None = CSRF, grantee: str = Form(""),
                         purpose: str = Form(""), valid_days: str = Form("30")) -> Response:
    who = _me(request)
    from chengxin.rights import authorizations, freeze

    days = int(valid_days) if valid_days.strip().isdigit() else 0
    with auth.runtime(request).uow() as s:
        row, code = authorizations.create(s, actor=who, grantee=grantee, purpose=purpose,
                                          valid_days=days)
        created = {"code": code, "grantee": row.grantee,
                   "expires_at": row.expires_at.isoformat()}
    with auth.runtime(request).uow() as s:
        rows = authorizations.list_mine(s, actor=who)
        frozen = freeze.status(s, actor=who)
    return render(request, "my/authorizations.html", {"rows": rows, "frozen": frozen,
                                                      "created": created})


@router.post("/my/authorizations/{authorization_id}/revoke")
def revoke_authorization(request: Request, authorization_id: DbId, _: None = CSRF) -> Response:
    who = _me(request)
    from chengxin.rights import authorizations

    with auth.runtime(request).uow() as s:
        authorizations.revoke(s, actor=who, authorization_id=authorization_id)
    return redirect("/my/authorizations?done=authorization_revoked")


@router.post("/my/freeze")
def toggle_freeze(request: Request, _: None = CSRF, action: str = Form("")) -> Response:
    who = _me(request)
    from chengxin.rights import freeze

    with auth.runtime(request).uow() as s:
        if action == "freeze":
            freeze.freeze(s, actor=who)
        else:
            freeze.lift(s, actor=who)
    return redirect("/my/authorizations?done=" + ("freeze_on" if action == "freeze" else "freeze_off"))


@router.get("/my/queries")
def queries_page(request: Request, before: str = "") -> Response:
    who = _me(request)
    from chengxin.rights import querylog

    b = int(before) if before.strip().isdigit() else None
    with auth.runtime(request).uow() as s:
        data = querylog.my_queries(s, actor=who, person_id=own_person(who), limit=50, before=b)
    return render(request, "my/queries.html", {"data": data})


@router.get("/my/score")
def score_page(request: Request) -> Response:
    who = _me(request)
    from chengxin.scoring import service

    with auth.runtime(request).uow() as s:
        data = service.read_score(s, actor=who, person_id=own_person(who))
    return render(request, "my/score.html", {"score": data})
