"""Archive routes: a person's 信用档案, yearly status determinations, evidence files."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from chengxin.accounts.principal import Principal
from chengxin.archives import evidence as store
from chengxin.archives import service
from chengxin.deps import DbId, RuntimeDep, require
from chengxin.errors import JSONResponse, ValidationFailed

router = APIRouter(prefix="/api/v1", tags=["archives"])

# Multipart framing around the file: a request this much over the cap is refused before
# its body is read at all.
MULTIPART_OVERHEAD = 64 * 1024


@router.get("/persons/{id_number}/archive")
def get_archive(id_number: str, rt: RuntimeDep,
                actor: Annotated[Principal, Depends(require("archives.read"))],
                purpose: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
    with rt.uow() as s:
        person = service.person_by_id_number(s, id_number)
        return service.get_archive(s, actor=actor, person=person, purpose=purpose)


@router.get("/persons/{id_number}/archive.{fmt}", response_class=Response)
def export_archive(id_number: str, fmt: str, rt: RuntimeDep,
                   actor: Annotated[Principal, Depends(require("archives.read"))],
                   year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                   group: Annotated[str | None, Query(max_length=64)] = None,
                   purpose: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """The archive printed in the layout of the Anyang form (信用档案 + 信用信息记录表)."""
    from chengxin import clock
    from chengxin.archives import export

    if fmt not in ("xlsx", "pdf"):
        raise ValidationFailed("格式应为 xlsx 或 pdf", details=[{"field": "fmt", "message": "xlsx 或 pdf"}])
    with rt.uow() as s:
        person = service.person_by_id_number(s, id_number)
        archive = service.get_archive(s, actor=actor, person=person,
                                      purpose=purpose or "信用档案导出")
    form = export.form_data(archive, year=year or clock.today().year, group_code=group)
    if fmt == "xlsx":
        body = export.to_xlsx(form)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, media = export.to_pdf(form), "application/pdf"
    return Response(body, media_type=media, headers={
        "content-disposition": f'attachment; filename="archive-{form["year"]}.{fmt}"'})


class AnnualStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int
    status: str = Field(pattern="^(trustworthy|warning|serious_dishonesty)$")
    group_code: str = Field(min_length=1, max_length=64)
    basis: str | None = Field(default=None, max_length=4000)
    evidence_ids: list[int] = Field(default_factory=list, max_length=20)


@router.post("/persons/{id_number}/annual-status", status_code=201)
def post_annual_status(id_number: str, body: AnnualStatusIn, rt: RuntimeDep,
                       actor: Annotated[Principal, Depends(require("annual_status.write"))]
                       ) -> dict[str, Any]:
    with rt.uow() as s:
        person = service.person_by_id_number(s, id_number)
        return service.determine_annual_status(
            s, actor=actor, person=person, year=body.year, status=body.status,
            group_code=body.group_code, basis=body.basis, evidence_ids=body.evidence_ids)


@router.post("/evidence", status_code=201, openapi_extra={"requestBody": {
    "required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"}}}}}}})
async def post_evidence(request: Request, rt: RuntimeDep,
                        actor: Annotated[Principal, Depends(require("evidence.write"))]
                        ) -> JSONResponse:
    cap = store.size_cap(rt.settings.max_upload_mb)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > cap + MULTIPART_OVERHEAD:
        raise service.too_large(cap)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise service.UnsupportedMediaType("请以 multipart/form-data 上传文件（字段 file）")
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception:  # malformed multipart is bad input, not a 500
        raise ValidationFailed("上传内容格式错误", details=[
            {"field": "file", "message": "无法解析 multipart 内容"}]) from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed("缺少上传文件", details=[{"field": "file", "message": "必填"}])

        def work() -> dict[str, Any]:
            with rt.uow() as s:
                return service.upload_evidence(s, actor=actor, source=upload.file,
                                               filename=upload.filename)

        return JSONResponse(await run_in_threadpool(work), status_code=201)
    finally:
        await form.close()


@router.get("/evidence/{evidence_id}", response_class=FileResponse)
def get_evidence(evidence_id: DbId, rt: RuntimeDep,
                 actor: Annotated[Principal, Depends(require("evidence.read"))]) -> FileResponse:
    with rt.uow() as s:
        path, row = service.evidence_for_download(s, actor=actor, evidence_id=evidence_id)
        filename, content_type = row.filename, row.content_type
    return FileResponse(path, media_type=content_type, filename=filename,
                        content_disposition_type="attachment")
