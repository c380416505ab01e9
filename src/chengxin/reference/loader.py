"""Load the reference files into the database: at `init`, and again on `reload`.

Idempotent: rows are inserted or updated by code; rows gone from the files are marked
inactive, never deleted, because records and decisions still point at them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from chengxin import clock
from chengxin.accounts.principal import Principal
from chengxin.audit.service import record
from chengxin.reference.models import (
    CatalogItem,
    Department,
    Group,
    GroupDepartment,
    Measure,
    ReferenceLoad,
    Scenario,
)
from chengxin.reference.schemas import ReferenceData, load_reference_files


def files_digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(directory.glob("*.yaml")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _rows(data: ReferenceData) -> dict[type, list[dict[str, Any]]]:
    departments = [
        {"code": d.code, "name": d.name, "short_name": d.short_name, "level": d.level,
         "parent_code": d.parent, "region_code": d.region_code,
         "is_credit_office": d.is_credit_office}
        for d in data.departments
    ]
    groups = [
        {"code": g.code, "name": g.name, "department_code": g.department_code,
         "cadence": g.cadence, "source": g.source, "description": g.description, "position": i}
        for i, g in enumerate(data.groups)
    ]
    catalog = [
        {"code": c.code, "name": c.name, "category": c.category, "polarity": c.polarity,
         "severity": c.severity, "visibility": c.visibility, "display_months": c.display_months,
         "list_type": c.list, "subject_types": list(c.subject_types),
         "fields": [f.model_dump() for f in c.fields],
         "legal_basis_required": c.legal_basis_required,
         "providers": list(c.providers) if c.providers is not None else None, "source": c.source,
         "description": c.description, "position": i}
        for i, c in enumerate(data.catalog)
    ]
    scenarios = [
        {"code": s.code, "name": s.name, "description": s.description,
         "checked_by": list(s.checked_by or []), "position": i}
        for i, s in enumerate(data.scenarios)
    ]
    measures = [
        {"code": m.code, "name": m.name, "kind": m.kind, "effect": m.effect,
         "applies_to": list(m.applies_to), "scenarios": list(m.scenarios),
         "legal_basis": m.legal_basis, "implementing_body": m.implementing_body,
         "source": m.source, "description": m.description, "position": i}
        for i, m in enumerate(data.measures)
    ]
    return {Department: departments, Group: groups, CatalogItem: catalog,
            Scenario: scenarios, Measure: measures}


def _upsert(session: Session, model: type, rows: list[dict[str, Any]]) -> dict[str, int]:
    existing = {obj.code: obj for obj in session.scalars(select(model))}
    added = changed = 0
    for row in rows:
        obj = existing.pop(row["code"], None)
        if obj is None:
            session.add(model(**row, active=True))
            added += 1
            continue
        diff = {k: v for k, v in row.items() if getattr(obj, k) != v}
        if diff or not obj.active:
            for k, v in diff.items():
                setattr(obj, k, v)
            obj.active = True
            changed += 1
    for obj in existing.values():
        if obj.active:
            obj.active = False
            changed += 1
    return {"added": added, "changed": changed, "total": len(rows)}


def load_reference(session: Session, directory: Path, *, actor: Principal) -> dict[str, Any]:
    """Validate every file first, then write: a bad file changes nothing."""
    data = load_reference_files(directory)
    counts: dict[str, Any] = {}
    for model, rows in _rows(data).items():
        counts[model.__tablename__] = _upsert(session, model, rows)
        session.flush()
    session.execute(delete(GroupDepartment))
    session.add_all(
        GroupDepartment(group_code=g.code, department_code=d)
        for g in data.groups for d in dict.fromkeys([g.department_code, *g.departments])
    )
    digest = files_digest(directory)
    session.add(ReferenceLoad(loaded_at=clock.now(), digest=digest,
                              actor=actor.name, counts=counts))
    record(session, actor, "reference.load", object_type="reference", object_id=digest[:16],
           details=counts)
    session.flush()
    return counts
