"""Department reporter pages: overview and cadence, templates, upload with progress,
submissions, rejected and held rows, the department's objections and repairs."""

from __future__ import annotations

import importlib.util

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chengxin.identity import scrub_text
from chengxin.records.models import ImportJob
from chengxin.reference import repository as ref
from chengxin.web import auth, queries
from chengxin.web.common import PageRoute, error_page, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def imports_ready() -> bool:
    return importlib.util.find_spec("chengxin.records.imports") is not None


def _reporter(request: Request, permission: str = "records.write"):  # type: ignore[no-untyped-def]
    who = auth.require(request, permission)
    if not who.department_code:
        auth.deny(request, who)
    return who


@router.get("/dept")
def overview(request: Request) -> Response:
    who = _reporter(request)
    from chengxin.stats.service import collection_stats

    with auth.runtime(request).uow() as s:
        stats = collection_stats(s, actor=who, department=who.department_code)
        deadlines = queries.deadlines(s, department=who.department_code)
    return render(request, "dept/overview.html", {"stats": stats, "deadlines": deadlines})


@router.get("/dept/templates")
def templates_page(request: Request) -> Response:
    who = _reporter(request, "templates.read")
    with auth.runtime(request).uow() as s:
        items = [c for c in ref.list_catalog(s)
                 if not c.get("providers") or who.department_code in c["providers"]
                 or any(p in (who.department_code or "") for p in c["providers"])]
        groups = [g for g in ref.list_groups(s) if who.department_code in g["departments"]]
    return render(request, "dept/templates.html", {"items": items, "groups": groups,
                                                   "ready": imports_ready()})


@router.get("/dept/upload")
def upload(request: Request) -> Response:
    _reporter(request, "imports.write")
    with auth.runtime(request).uow() as s:
        items = ref.list_catalog(s)
    return render(request, "dept/upload.html", {"ready": imports_ready(), "items": items},
                  status=200)


def _job(request: Request, job_id: str):  # type: ignore[no-untyped-def]
    who = _reporter(request, "imports.read")
    with auth.runtime(request).uow() as s:
        job = s.get(ImportJob, job_id[:32])
        if job is None or job.department_code != who.department_code:
            return None, []
        rows = [r for r in queries.rejected_rows(s, who.department_code, limit=1000)
                if r["job_id"] == job.id]
        data = {c: getattr(job, c) for c in ("id", "filename", "status", "total_rows",
                                             "processed_rows", "created", "updated", "unchanged",
                                             "rejected", "held", "message")}
    total = data["total_rows"] or 0
    data["percent"] = 100 if data["status"] in ("done", "failed") else (
        int(100 * data["processed_rows"] / total) if total else 0)
    for r in rows:
        for e in r["errors"]:
            if isinstance(e, dict) and e.get("message"):
                e["message"] = scrub_text(str(e["message"]))
    return data, rows


@router.get("/dept/imports/{job_id}")
def import_job(request: Request, job_id: str) -> Response:
    job, rows = _job(request, job_id)
    if job is None:
        return error_page(request, 404, "页面不存在", "找不到该导入任务。")
    return render(request, "dept/job.html", {"job": job, "rows": rows})


@router.get("/dept/imports/{job_id}/progress")
def import_progress(request: Request, job_id: str) -> Response:
    job, rows = _job(request, job_id)
    if job is None:
        return error_page(request, 404, "页面不存在", "找不到该导入任务。")
    return render(request, "dept/_progress.html", {"job": job, "rows": rows})


@router.get("/dept/submissions")
def submissions(request: Request) -> Response:
    who = _reporter(request)
    with auth.runtime(request).uow() as s:
        subs = queries.submissions(s, who.department_code)
        jobs = queries.import_jobs(s, who.department_code)
    return render(request, "dept/submissions.html", {"subs": subs, "jobs": jobs})


@router.get("/dept/rejected")
def rejected(request: Request) -> Response:
    who = _reporter(request)
    from chengxin.records.service import list_held

    with auth.runtime(request).uow() as s:
        rows = queries.rejected_rows(s, who.department_code)
        held = list_held(s, actor=who)
    for r in rows:
        for e in r["errors"]:
            if isinstance(e, dict) and e.get("message"):
                e["message"] = scrub_text(str(e["message"]))
    return render(request, "dept/rejected.html", {"rows": rows, "held": held})


@router.get("/dept/objections")
def dept_queues(request: Request) -> Response:
    who = _reporter(request, "objections.queue")
    from chengxin.rights import objections, repairs
    from chengxin.rights.common import policy

    with auth.runtime(request).uow() as s:
        objs = objections.queue(s, actor=who, status="open")
        reps = repairs.queue(s, actor=who, status="submitted")
        methods = policy(s).repairs.methods
    for r in objs + reps:
        r["reason"] = scrub_text(r.get("reason") or "")
    return render(request, "dept/queues.html", {"objections": objs, "repairs": reps,
                                                "methods": methods})
