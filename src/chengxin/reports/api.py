"""Report routes: the person's own, a third party's with authorisation, PDF, verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from chengxin import clock
from chengxin.accounts.principal import Principal
from chengxin.deps import RuntimeDep, require
from chengxin.errors import ValidationFailed
from chengxin.identity import IdentityError, normalize_id_number
from chengxin.reports import pdf, service, signing
from chengxin.rights.common import own_person

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.get("/me/report")
def my_report(rt: RuntimeDep, actor: Annotated[Principal, Depends(require("me.subject"))],
              kind: Annotated[str, Query(pattern="^(personal|occupational)$")] = "personal"
              ) -> dict[str, Any]:
    with rt.uow() as s:
        person = service.require_person(s, own_person(actor))
        return service.issue(s, actor=actor, person=person, kind=kind, audience="self",
                             purpose="本人查询")


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(min_length=1, max_length=32)
    authorization_code: str = Field(min_length=1, max_length=32)
    purpose: str = Field(min_length=1, max_length=200)
    kind: str = Field(default="personal", pattern="^(personal|occupational)$")


@router.post("/reports")
def third_party_report(body: ReportRequest, rt: RuntimeDep,
                       actor: Annotated[Principal, Depends(require("reports.request"))]
                       ) -> dict[str, Any]:
    try:
        id18 = normalize_id_number(body.id_number, today=clock.today())
    except IdentityError as exc:
        raise ValidationFailed("身份证号码无效", details=[
            {"field": "id_number", "message": exc.message}]) from exc
    from chengxin.rights.authorizations import use_authorization

    with rt.uow() as s:
        auth = use_authorization(s, actor=actor, id18=id18, code=body.authorization_code,
                                 purpose=body.purpose)
        person = service.require_person(s, auth.person_id)
        return service.issue(s, actor=actor, person=person, kind=body.kind,
                             audience="third_party", purpose=body.purpose,
                             authorization_id=auth.id)


@router.get("/reports/{report_no}.pdf", response_class=Response)
def report_pdf(report_no: str, rt: RuntimeDep,
               actor: Annotated[Principal, Depends(require("reports.read"))]) -> Response:
    with rt.uow() as s:
        rep = service.get_for(s, actor=actor, report_no=report_no)
        doc, no = rep.payload, rep.report_no
    link = f"{rt.settings.address().rstrip('/')}/verify?report_no={no}"
    body = pdf.render_pdf(doc, link)
    return Response(body, media_type="application/pdf", headers={
        "content-disposition": f'attachment; filename="{no}.pdf"'})


@router.get("/reports/{report_no}")
def report_json(report_no: str, rt: RuntimeDep,
                actor: Annotated[Principal, Depends(require("reports.read"))]) -> dict:
    with rt.uow() as s:
        return service.get_for(s, actor=actor, report_no=report_no).payload


@router.get("/public/verify")
def verify(rt: RuntimeDep, report_no: Annotated[str, Query(max_length=32)],
           code: Annotated[str, Query(max_length=32)]) -> dict[str, Any]:
    with rt.uow() as s:
        return service.verify(s, report_no, code)


@router.get("/public/keys")
def public_keys(rt: RuntimeDep) -> dict[str, Any]:
    """The public key that verifies reports (and the change feed) offline."""
    return {"keys": [signing.published_key(rt.keys)]}


