"""Statistics routes: collection coverage per department and group; nil reports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from chengxin.accounts.principal import Principal
from chengxin.deps import RuntimeDep, require
from chengxin.stats import service

router = APIRouter(prefix="/api/v1", tags=["stats"])


@router.get("/stats/collection")
def collection(rt: RuntimeDep, actor: Annotated[Principal, Depends(require("stats.read"))],
               department: Annotated[str | None, Query(max_length=64)] = None,
               late_only: bool = False) -> dict[str, Any]:
    with rt.uow() as s:
        return service.collection_stats(s, actor=actor, department=department,
                                        late_only=late_only)


class NilReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group_code: str = Field(min_length=1, max_length=64)


@router.post("/stats/collection/nil-report", status_code=201)
def post_nil_report(body: NilReportIn, rt: RuntimeDep,
                    actor: Annotated[Principal, Depends(require("records.write"))]
                    ) -> dict[str, Any]:
    with rt.uow() as s:
        return service.nil_report(s, actor=actor, group_code=body.group_code)
