"""Spreadsheet imports as jobs: stored upload, streamed in chunks, resumable, with an
error report the reporter can fix and upload again.

Each chunk is its own transaction together with the job's progress, so a crash loses at
most the chunk in flight, and running the job again skips what was already counted —
and ingestion is idempotent on department + document number besides, so nothing is
ever doubled.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from chengxin import clock
from chengxin.accounts.principal import Principal, Role
from chengxin.audit.service import record as audit
from chengxin.errors import NotFound, ValidationFailed
from chengxin.records.columns import HeaderMap, convert_row, map_header
from chengxin.records.files import FileFormatError, Table, open_table
from chengxin.records.ingest import ingest, row_context
from chengxin.records.models import ImportJob, ImportRowError
from chengxin.runtime import Runtime

log = logging.getLogger("chengxin.imports")
CHUNK = 2500
Progress = Callable[[ImportJob], None]


def _dir(rt: Runtime, job_id: str) -> Path:
    return rt.settings.storage_dir / "imports" / job_id


def create_job(rt: Runtime, *, actor: Principal, department_code: str, source: Path,
               filename: str, item_code: str | None) -> str:
    """Store the upload and register the job. Raises on a file we cannot read at all."""
    job_id = secrets.token_hex(8)
    folder = _dir(rt, job_id)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(filename).suffix.lower()[:8]
    stored = folder / f"upload{suffix}"
    shutil.copyfile(source, stored)
    digest = hashlib.sha256()
    with stored.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    try:
        table = open_table(stored, filename=filename)
    except FileFormatError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise ValidationFailed(exc.message, code="file_format",
                               details=[{"field": "file", "message": exc.message}]) from None
    with rt.uow() as s:
        if item_code is not None:
            ctx = row_context(s, department_code)
            if item_code not in ctx.catalog:
                shutil.rmtree(folder, ignore_errors=True)
                raise ValidationFailed("目录中没有该信息项", details=[
                    {"field": "item_code", "message": "目录中没有该信息项"}])
        s.add(ImportJob(
            id=job_id, department_code=department_code, filename=filename[:255],
            file_sha256=digest.hexdigest(), stored_path=str(stored), format=table.format,
            item_code=item_code, status="queued", processed_rows=0, actor=actor.label or "",
            actor_id=actor.id, created_at=clock.now()))
        audit(s, actor, "import.create", object_type="import", object_id=job_id,
              details={"department": department_code, "format": table.format,
                       "sha256": digest.hexdigest()[:16]})
    return job_id


def _actor_of(job: ImportJob) -> Principal:
    return Principal(kind="import", role=Role.SYSTEM, id=job.actor_id,
                     department_code=job.department_code, label=job.actor or "import")


def _chunks(table: Table, header: HeaderMap, item_code: str | None, start_after: int
            ) -> Iterator[tuple[list[dict], list[int], dict[int, list[dict]], int]]:
    rows: list[dict] = []
    numbers: list[int] = []
    problems: dict[int, list[dict]] = {}
    last = start_after
    for n, values in table.rows():
        if n <= start_after:
            continue
        record, cell_problems = convert_row(header.cells(values), header, item_code, row=n)
        rows.append(record)
        numbers.append(n)
        if cell_problems:
            problems[n] = cell_problems
        last = n
        if len(rows) >= CHUNK:
            yield rows, numbers, problems, last
            rows, numbers, problems = [], [], {}
    if rows:
        yield rows, numbers, problems, last


def run_job(rt: Runtime, job_id: str, progress: Progress | None = None) -> ImportJob:
    """Run (or resume) a job to the end."""
    with rt.uow() as s:
        job = s.get(ImportJob, job_id)
        if job is None:
            raise NotFound("导入任务不存在")
        if job.status in ("done", "failed"):
            return job
        job.status, job.started_at = "running", job.started_at or clock.now()
        item_code, start_after = job.item_code, job.processed_rows
        path, filename = Path(job.stored_path), job.filename
    try:
        table = open_table(path, filename=filename)
        with rt.uow() as s:
            items = row_context(s, "").catalog
        header = map_header(table.headers, items, item_code=item_code)
        if header.errors:
            return _fail(rt, job_id, "表头有误，未导入任何记录", header.errors)
        total = table.count()
        with rt.uow() as s:
            s.get(ImportJob, job_id).total_rows = total
        for i, (rows, numbers, problems, last) in enumerate(
                _chunks(table, header, item_code, start_after)):
            job = _chunk(rt, job_id, rows, numbers, problems, last)
            if i % ANALYZE_EVERY == 0:
                _analyze(rt)
            if progress:
                progress(job)
    except FileFormatError as exc:
        return _fail(rt, job_id, exc.message, [])
    with rt.uow() as s:
        job = s.get(ImportJob, job_id)
        job.status, job.finished_at = "done", clock.now()
        accepted = job.created + job.updated + job.unchanged
        if accepted == 0 and job.rejected + job.held > 0:
            job.message = f"全部 {job.rejected + job.held} 行均未导入，请下载错误报告修改后重新上传"
        audit(s, _actor_of(job), "import.finish", object_type="import", object_id=job_id,
              details={"created": job.created, "updated": job.updated,
                       "unchanged": job.unchanged, "rejected": job.rejected, "held": job.held})
    if progress:
        progress(job)
    return job


ANALYZE_EVERY = 10
_GROWING = ("credit_records", "persons", "record_versions", "group_memberships",
            "list_entries", "change_log")


def _analyze(rt: Runtime) -> None:
    """Refresh PostgreSQL's statistics while a large import grows the tables: without
    them the planner reads a whole department's records to find existing documents
    (measured: twice the import speed on a fresh database). Autovacuum would do it too,
    late, and it is switched off on some servers."""
    if rt.engine.dialect.name != "postgresql":
        return
    with rt.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "ANALYZE " + ", ".join(_GROWING))


def _chunk(rt: Runtime, job_id: str, rows: list[dict], numbers: list[int],
           problems: dict[int, list[dict]], last: int) -> ImportJob:
    with rt.uow() as s:
        job = s.get(ImportJob, job_id)
        result = ingest(s, actor=_actor_of(job), department_code=job.department_code,
                        rows=rows, source=f"import:{job_id}", channel="import",
                        row_numbers=numbers, pre_errors=problems)
        counts = result.counts
        job.created += counts["created"]
        job.updated += counts["updated"]
        job.unchanged += counts["unchanged"]
        job.rejected += counts["rejected"]
        job.held += counts["held"]
        job.processed_rows = last
        bad = [r for r in result.results if r.status in ("rejected", "held")]
        if bad:
            # A resumed chunk may have been half-counted before a crash: replace its rows.
            s.execute(delete(ImportRowError).where(
                ImportRowError.job_id == job_id, ImportRowError.row.in_([r.row for r in bad])))
            s.add_all(ImportRowError(job_id=job_id, row=r.row, status=r.status, errors=r.errors)
                      for r in bad)
        return job


def _fail(rt: Runtime, job_id: str, message: str, errors: list[dict]) -> ImportJob:
    with rt.uow() as s:
        job = s.get(ImportJob, job_id)
        job.status, job.message, job.finished_at = "failed", message[:500], clock.now()
        if errors:
            s.add(ImportRowError(job_id=job_id, row=0, status="rejected", errors=errors))
        audit(s, _actor_of(job), "import.fail", object_type="import", object_id=job_id,
              details={"message": message[:200]})
        return job


def start_in_background(rt: Runtime, job_id: str) -> threading.Thread:
    def work() -> None:
        try:
            run_job(rt, job_id)
        except Exception:  # noqa: BLE001 - the job records its failure; never kill the server
            log.exception("import job %s failed", job_id)
            _fail(rt, job_id, "导入过程中发生内部错误，已导入的行保留，可重新运行该任务", [])

    thread = threading.Thread(target=work, name=f"import-{job_id}", daemon=True)
    thread.start()
    return thread


def resume_unfinished(rt: Runtime) -> list[str]:
    """After a restart: jobs left queued or running continue where they stopped."""
    with rt.uow() as s:
        ids = list(s.scalars(select(ImportJob.id).where(ImportJob.status.in_(("queued", "running")))))
    for job_id in ids:
        start_in_background(rt, job_id)
    return ids


def job_dict(job: ImportJob) -> dict[str, Any]:
    total = job.total_rows or 0
    percent = 100 if job.status == "done" else (
        int(job.processed_rows * 100 / total) if total else 0)
    return {
        "job_id": job.id, "status": job.status, "filename": job.filename,
        "format": job.format, "item_code": job.item_code, "department_code": job.department_code,
        "total_rows": job.total_rows, "processed_rows": job.processed_rows, "percent": percent,
        "counts": {"created": job.created, "updated": job.updated, "unchanged": job.unchanged,
                   "rejected": job.rejected, "held": job.held},
        "message": job.message, "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "error_report": f"/api/v1/imports/{job.id}/errors.xlsx"
        if (job.rejected or job.held or job.status == "failed") else None,
    }


def errors_of(session: Any, job_id: str) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for e in session.scalars(select(ImportRowError).where(ImportRowError.job_id == job_id)
                             .order_by(ImportRowError.row)):
        out.setdefault(e.row, []).extend(e.errors)
    return out


def error_report(rt: Runtime, job: ImportJob) -> bytes:
    from chengxin.records.error_report import write_error_report

    with rt.uow() as s:
        errors = errors_of(s, job.id)
        items = row_context(s, job.department_code).catalog
    table = open_table(Path(job.stored_path), filename=job.filename)
    header = map_header(table.headers, items, item_code=job.item_code)
    rows = ((n, values) for n, values in table.rows() if n in errors)
    return write_error_report(table.headers, rows, errors, header_map=header,
                              items_by_code=items, item_code=job.item_code)


def remove_files(rt: Runtime, job_id: str) -> None:
    folder = _dir(rt, job_id)
    if folder.exists() and os.path.commonpath([folder, rt.settings.storage_dir]):
        shutil.rmtree(folder, ignore_errors=True)
