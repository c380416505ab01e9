"""Import routes: upload a file as a job, follow its progress, fetch its error report,
download templates."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from chengxin.accounts.permissions import ensure_department
from chengxin.accounts.principal import Principal, Role
from chengxin.audit.service import record as audit
from chengxin.deps import RuntimeDep, require
from chengxin.errors import AppError, Conflict, NotFound, ValidationFailed
from chengxin.records import imports
from chengxin.records.ingest import row_context
from chengxin.records.models import ImportJob
from chengxin.reference import repository as reference

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/template", response_class=Response)
def template(rt: RuntimeDep, actor: Annotated[Principal, Depends(require("templates.read"))],
             item_code: Annotated[str, Query(max_length=64)],
             format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx") -> Response:
    from chengxin.records.templates import csv_template, xlsx_template

    with rt.uow() as s:
        item = row_context(s, actor.department_code or "").catalog.get(item_code)
        if item is None:
            raise NotFound("目录中没有该信息项")
        groups = [{"code": g["code"], "name": g["name"]} for g in reference.list_groups(s)
                  if not actor.department_code or actor.department_code in g["departments"]]
    if format == "csv":
        body, media = csv_template(item), "text/csv; charset=utf-8"
    else:
        body, media = xlsx_template(item, groups), XLSX
    return Response(body, media_type=media, headers={
        "content-disposition": f'attachment; filename="template-{item_code}.{format}"'})


async def _save_upload(request: Request, limit: int) -> tuple[Path, str, str | None]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise AppError("请以 multipart/form-data 上传文件", code="unsupported_media_type",
                       status=415)
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception:  # noqa: BLE001 - any multipart parsing failure is the client's
        raise AppError("请以 multipart/form-data 上传文件", code="unsupported_media_type",
                       status=415) from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed("请选择要上传的文件", details=[{"field": "file", "message": "缺少文件"}])
    item_code = form.get("item_code")
    item_code = item_code.strip() if isinstance(item_code, str) and item_code.strip() else None
    tmp = Path(tempfile.mkstemp(prefix="cx-upload-")[1])
    size = 0
    with tmp.open("wb") as fh:
        while block := await upload.read(1 << 20):
            size += len(block)
            if size > limit:
                tmp.unlink(missing_ok=True)
                raise AppError("文件过大", code="payload_too_large", status=413)
            fh.write(block)
    if size == 0:
        tmp.unlink(missing_ok=True)
        raise ValidationFailed("文件为空", details=[{"field": "file", "message": "文件为空"}])
    return tmp, upload.filename[:255], item_code


@router.post("", status_code=202)
async def upload(request: Request, rt: RuntimeDep,
                 actor: Annotated[Principal, Depends(require("imports.write"))]) -> dict[str, Any]:
    if not actor.department_code:
        raise ValidationFailed("账号未绑定部门", code="no_department")
    tmp, filename, item_code = await _save_upload(request, rt.settings.max_upload_mb << 20)
    try:
        job_id = await run_in_threadpool(
            imports.create_job, rt, actor=actor, department_code=actor.department_code,
            source=tmp, filename=filename, item_code=item_code)
    finally:
        tmp.unlink(missing_ok=True)
    imports.start_in_background(rt, job_id)
    return {"job_id": job_id, "status": "queued", "progress": f"/api/v1/imports/{job_id}"}


def _job(rt: Any, actor: Principal, job_id: str) -> ImportJob:
    with rt.uow() as s:
        job = s.get(ImportJob, job_id[:32])
        if job is None:
            raise NotFound("导入任务不存在")
        if actor.role in (Role.REPORTER, Role.SYSTEM):
            ensure_department(actor, job.department_code)
        return job


@router.get("/{job_id}")
def progress(job_id: str, rt: RuntimeDep,
             actor: Annotated[Principal, Depends(require("imports.read"))],
             errors: Annotated[int, Query(ge=0, le=1000)] = 100) -> dict[str, Any]:
    job = _job(rt, actor, job_id)
    out = imports.job_dict(job)
    with rt.uow() as s:
        found = imports.errors_of(s, job.id)
    out["errors"] = [e for row in sorted(found)[:errors] for e in found[row]]
    return out


@router.post("/{job_id}/resume", status_code=202)
def resume(job_id: str, rt: RuntimeDep,
           actor: Annotated[Principal, Depends(require("imports.write"))]) -> dict[str, Any]:
    """After a server restart a job left "running" continues where it stopped."""
    job = _job(rt, actor, job_id)
    if job.status not in ("queued", "running"):
        raise Conflict("该任务已结束", code="job_finished")
    imports.start_in_background(rt, job.id)
    return {"job_id": job.id, "status": "running"}


@router.get("/{job_id}/errors.xlsx", response_class=Response)
def error_report(job_id: str, rt: RuntimeDep,
                 actor: Annotated[Principal, Depends(require("imports.read"))]) -> Response:
    job = _job(rt, actor, job_id)
    body = imports.error_report(rt, job)
    with rt.uow() as s:
        audit(s, actor, "import.error_report", object_type="import", object_id=job.id)
    return Response(body, media_type=XLSX, headers={
        "content-disposition": f'attachment; filename="errors-{job.id}.xlsx"'})
