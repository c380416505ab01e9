"""Credit office pages: dashboard, objection and repair queues, archives, records, held
rows, reference data. Every read of a person's data goes through the audited service."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from chengxin.accounts.principal import Role
from chengxin.deps import DbId
from chengxin.identity import scrub_text
from chengxin.reference import repository as ref
from chengxin.web import auth, queries
from chengxin.web.common import CSRF, PageRoute, bars, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _dept_filter(who: Any) -> str | None:
    return who.department_code if who.role in (Role.REPORTER, Role.SYSTEM) else None


@router.get("/staff")
def dashboard(request: Request) -> Response:
    who = auth.require(request, "stats.read")
    dept = _dept_filter(who)
    from chengxin.sanctions.service import measure_stats

    coverage: dict[str, Any] = {"rows": [], "late": 0, "available": True}
    with auth.runtime(request).uow() as s:
        try:
            from chengxin.stats.service import collection_stats
        except ImportError:  # pragma: no cover - arrives with the stats module
            coverage["available"] = False
        else:
            coverage = {**collection_stats(s, actor=who, department=dept), "available": True}
        per_month = queries.records_per_month(s, department=dept)
        lists = queries.list_sizes(s)
        deadlines = queries.deadlines(s, department=dept)
        measures = measure_stats(s, department=dept)
        names = {d["code"]: d["short_name"] or d["name"] for d in ref.list_departments(s)}
        measure_names = {m["code"]: m["name"] for m in ref.list_measures(s)}
    by_dept: dict[str, int] = defaultdict(int)
    by_group: dict[str, int] = defaultdict(int)
    for r in coverage["rows"]:
        by_dept[names.get(r["department_code"], r["department_name"])] += r["members"]
        by_group[r["group_name"]] += r["members"]
    applied: dict[str, int] = defaultdict(int)
    for m in measures:
        applied[measure_names.get(m["measure_code"], m["measure_code"])] += m["applied"]
    from chengxin.web.common import STATUS_LABELS

    list_rows = [(f"{'黑名单' if t == 'black' else '红名单' if t == 'red' else t}·"
                  f"{STATUS_LABELS.get(st, st)}", n) for t, st, n in lists]
    charts = {
        "dept": bars(sorted(by_dept.items(), key=lambda x: -x[1])[:15]),
        "group": bars(sorted(by_group.items(), key=lambda x: -x[1])[:15]),
        "month": bars(per_month, label_w=90),
        "lists": bars(list_rows, label_w=150),
        "deadlines": bars([("异议·待处理", deadlines["objections"]["open"]),
                           ("异议·已超期", deadlines["objections"]["overdue"]),
                           ("修复·待处理", deadlines["repairs"]["open"]),
                           ("修复·已超期", deadlines["repairs"]["overdue"])], label_w=110),
        "measures": bars(sorted(applied.items(), key=lambda x: -x[1])[:15]),
    }
    return render(request, "staff/dashboard.html", {
        "coverage": coverage, "charts": charts, "deadlines": deadlines,
        "late_rows": [r for r in coverage["rows"] if r["late"]][:50]})


# --- objections and repairs ---------------------------------------------------------

def _scrubbed(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    for r in rows:
        for k in keys:
            if r.get(k):
                r[k] = scrub_text(r[k])
    return rows


@router.get("/staff/objections")
def objection_queue(request: Request, status: str = "open") -> Response:
    who = auth.require(request, "objections.queue")
    status = status if status in ("open", "decided") else "open"
    from chengxin.rights import objections

    with auth.runtime(request).uow() as s:
        rows = _scrubbed(objections.queue(s, actor=who, status=status), "reason", "note")
    ctx = {"rows": rows, "status": status, "kind": "objections"}
    if request.headers.get("hx-request"):
        return render(request, "staff/_objection_rows.html", ctx)
    return render(request, "staff/objections.html", ctx)


@router.post("/staff/objections/{objection_id}/decide")
def decide_objection(request: Request, objection_id: DbId, _: None = CSRF,
                     outcome: str = Form(""), note: str = Form(""),
                     content: str = Form("")) -> Response:
    who = auth.require(request, "objections.decide")
    from chengxin.rights import objections

    correction = {"content": content.strip()[:4000]} if outcome == "corrected" and content.strip() else None
    with auth.runtime(request).uow() as s:
        objections.decide(s, actor=who, objection_id=objection_id, outcome=outcome,
                          note=note.strip()[:4000] or None, correction=correction)
    back = "/dept/objections" if who.role == Role.REPORTER else "/staff/objections"
    return redirect(f"{back}?done=objection_decided")


@router.get("/staff/repairs")
def repair_queue(request: Request, status: str = "submitted") -> Response:
    who = auth.require(request, "repairs.queue")
    status = status if status in ("submitted", "approved", "rejected") else "submitted"
    from chengxin.rights import repairs
    from chengxin.rights.common import policy

    with auth.runtime(request).uow() as s:
        rows = _scrubbed(repairs.queue(s, actor=who, status=status), "reason", "decision_reason")
        methods = policy(s).repairs.methods
    ctx = {"rows": rows, "status": status, "methods": methods}
    if request.headers.get("hx-request"):
        return render(request, "staff/_repair_rows.html", ctx)
    return render(request, "staff/repairs.html", ctx)


@router.post("/staff/repairs/{repair_id}/decide")
def decide_repair(request: Request, repair_id: DbId, _: None = CSRF, outcome: str = Form(""),
                  reason: str = Form("")) -> Response:
    who = auth.require(request, "repairs.decide")
    from chengxin.rights import repairs

    with auth.runtime(request).uow() as s:
        repairs.decide(s, actor=who, repair_id=repair_id, outcome=outcome,
                       reason=reason.strip()[:4000] or None)
    back = "/dept/objections" if who.role == Role.REPORTER else "/staff/repairs"
    return redirect(f"{back}?done=repair_decided")


# --- archives and records -----------------------------------------------------------

@router.get("/staff/archive")
def archive_form(request: Request) -> Response:
    auth.require(request, "archives.read")
    return render(request, "staff/archive.html", {"archive": None})


@router.post("/staff/archive")
def archive(request: Request, _: None = CSRF, id_number: str = Form(""),
            purpose: str = Form("")) -> Response:
    """POST, so that the ID number never appears in a URL or an access log."""
    who = auth.require(request, "archives.read")
    from chengxin.archives import service

    purpose = purpose.strip()[:200]
    if not purpose:
        return render(request, "staff/archive.html", {
            "archive": None, "error": "请填写查询事由（查询留痕，必填）。"}, status=422)
    with auth.runtime(request).uow() as s:
        person = service.person_by_id_number(s, id_number.strip()[:32])
        data = service.get_archive(s, actor=who, person=person, purpose=purpose)
    for recs in data["sections"].values():
        _scrubbed(recs, "content")
    return render(request, "staff/archive.html", {"archive": data, "purpose": purpose})


@router.get("/staff/records")
def record_view(request: Request, record_id: str = "", purpose: str = "") -> Response:
    who = auth.require(request, "records.read")
    rec = None
    if record_id.strip():
        try:
            rid = int(record_id)
        except ValueError:
            rid = 0
        from chengxin.records.service import get_record

        with auth.runtime(request).uow() as s:
            rec = get_record(s, actor=who, record_id=rid, purpose=purpose.strip()[:200] or None)
        rec["content"] = scrub_text(rec.get("content") or "")
    return render(request, "staff/record.html", {"rec": rec, "record_id": record_id})


@router.get("/staff/held")
def held(request: Request) -> Response:
    who = auth.require(request, "holds.read")
    from chengxin.records.service import list_held

    with auth.runtime(request).uow() as s:
        rows = list_held(s, actor=who)
    return render(request, "staff/held.html", {"rows": rows})


@router.post("/staff/held/{held_id}/decide")
def decide_held(request: Request, held_id: DbId, _: None = CSRF, outcome: str = Form(""),
                note: str = Form("")) -> Response:
    who = auth.require(request, "holds.decide")
    from chengxin.records.service import decide_held as decide

    with auth.runtime(request).uow() as s:
        decide(s, actor=who, held_id=held_id, outcome=outcome, note=note[:200] or None)
    return redirect("/staff/held?done=held_decided")


# --- reference data -----------------------------------------------------------------

@router.get("/staff/reference")
def reference(request: Request) -> Response:
    auth.require_staff(request)
    with auth.runtime(request).uow() as s:
        data = {"catalog": ref.list_catalog(s), "groups": ref.list_groups(s),
                "measures": ref.list_measures(s), "scenarios": ref.list_scenarios(s),
                "departments": ref.list_departments(s)}
    names = {d["code"]: d["name"] for d in data["departments"]}
    return render(request, "staff/reference.html", {**data, "dept_names": names})
