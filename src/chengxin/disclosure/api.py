"""Public routes: no sign-in; only what may be public, masked."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from chengxin.deps import RuntimeDep
from chengxin.disclosure.public import search

router = APIRouter(prefix="/api/v1/public", tags=["public"])

Q = Annotated[str | None, Query(max_length=50)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=10_000)]


@router.get("/disclosures")
def disclosures(rt: RuntimeDep, q: Q = None, limit: Limit = 20, offset: Offset = 0) -> dict[str, Any]:
    with rt.uow() as s:
        return search(s, "disclosures", q, limit=limit, offset=offset)


@router.get("/honors")
def honors(rt: RuntimeDep, q: Q = None, limit: Limit = 20, offset: Offset = 0) -> dict[str, Any]:
    with rt.uow() as s:
        return search(s, "honors", q, limit=limit, offset=offset)
