"""Reference data: public to read (the catalog is itself public information), admin to reload."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from chengxin.accounts.principal import Principal
from chengxin.deps import RuntimeDep, require
from chengxin.errors import ValidationFailed
from chengxin.reference import repository as repo
from chengxin.reference.loader import load_reference
from chengxin.reference.schemas import ReferenceDataError

router = APIRouter(prefix="/api/v1", tags=["reference"])


@router.get("/departments")
def departments(rt: RuntimeDep) -> list[dict[str, Any]]:
    with rt.uow() as s:
        return repo.list_departments(s)


@router.get("/groups")
def groups(rt: RuntimeDep) -> list[dict[str, Any]]:
    with rt.uow() as s:
        return repo.list_groups(s)


@router.get("/catalog")
def catalog(rt: RuntimeDep) -> list[dict[str, Any]]:
    with rt.uow() as s:
        return repo.list_catalog(s)


@router.get("/measures")
def measures(rt: RuntimeDep) -> list[dict[str, Any]]:
    with rt.uow() as s:
        return repo.list_measures(s)


@router.get("/scenarios")
def scenarios(rt: RuntimeDep) -> list[dict[str, Any]]:
    with rt.uow() as s:
        return repo.list_scenarios(s)


@router.post("/reference/reload")
def reload_reference(
    rt: RuntimeDep, actor: Annotated[Principal, Depends(require("reference.reload"))]
) -> dict[str, Any]:
    try:
        with rt.uow() as s:
            counts = load_reference(s, rt.settings.reference_dir, actor=actor)
    except ReferenceDataError as exc:
        raise ValidationFailed("参考数据文件有误，未作任何更改", code="reference_invalid",
                               details=[{"field": "reference", "message": str(exc)}]) from exc
    rt.caches.pop("reference_checked_at", None)  # re-read reference data on next use
    return {"loaded": counts}
