"""Queries over reference tables, shaped as the API's dictionaries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chengxin.reference.models import (
    CatalogItem,
    Department,
    Group,
    GroupDepartment,
    Measure,
    Scenario,
)


def list_departments(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(Department).where(Department.active).order_by(Department.code))
    return [
        {"code": d.code, "name": d.name, "short_name": d.short_name, "level": d.level,
         "parent": d.parent_code, "region_code": d.region_code,
         "is_credit_office": d.is_credit_office}
        for d in rows
    ]


def list_groups(session: Session) -> list[dict[str, Any]]:
    links: dict[str, list[str]] = {}
    for gd in session.scalars(select(GroupDepartment)):
        links.setdefault(gd.group_code, []).append(gd.department_code)
    rows = session.scalars(select(Group).where(Group.active).order_by(Group.position))
    return [
        {"code": g.code, "name": g.name, "department_code": g.department_code,
         "departments": sorted(links.get(g.code, [g.department_code])), "cadence": g.cadence,
         "source": g.source}
        for g in rows
    ]


def catalog_item_dict(c: CatalogItem) -> dict[str, Any]:
    return {
        "code": c.code, "name": c.name, "category": c.category, "polarity": c.polarity,
        "severity": c.severity, "visibility": c.visibility, "display_months": c.display_months,
        "fields": c.fields, "list": c.list_type, "subject_types": c.subject_types,
        "legal_basis_required": c.legal_basis_required, "providers": c.providers,
        "description": c.description,
    }


def list_catalog(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(CatalogItem).where(CatalogItem.active).order_by(CatalogItem.position))
    return [catalog_item_dict(c) for c in rows]


def list_measures(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(Measure).where(Measure.active).order_by(Measure.position))
    return [
        {"code": m.code, "name": m.name, "kind": m.kind, "effect": m.effect,
         "applies_to": m.applies_to, "scenarios": m.scenarios, "legal_basis": m.legal_basis,
         "implementing_body": m.implementing_body, "description": m.description}
        for m in rows
    ]


def list_scenarios(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(Scenario).where(Scenario.active).order_by(Scenario.position))
    return [
        {"code": s.code, "name": s.name, "description": s.description,
         "checked_by": s.checked_by}
        for s in rows
    ]


def department_groups(session: Session, department_code: str) -> set[str]:
    """Groups a department is responsible for (reporters reach only these)."""
    return set(session.scalars(
        select(GroupDepartment.group_code).where(
            GroupDepartment.department_code == department_code)))
