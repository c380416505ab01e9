"""Score routes: the person's own score, staff reading a person's score, recomputation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from chengxin import clock
from chengxin.accounts.principal import Principal, Role
from chengxin.deps import RuntimeDep, require
from chengxin.errors import Forbidden, NotFound, ValidationFailed
from chengxin.identity import IdentityError, normalize_id_number
from chengxin.runtime import Runtime
from chengxin.scoring import service
from chengxin.subjects.service import find_person

router = APIRouter(prefix="/api/v1", tags=["scoring"])


@router.get("/me/score")
def my_score(rt: RuntimeDep,
             actor: Annotated[Principal, Depends(require("me.subject"))]) -> dict[str, Any]:
    # me.subject: the data subject's own routes, individuals only (as rights/me_api.py).
    if actor.role != Role.INDIVIDUAL or actor.person_id is None:
        raise Forbidden("只有信息主体本人可以查看本人的诚信积分", code="not_data_subject")
    with rt.uow() as s:
        return service.read_score(s, actor=actor, person_id=actor.person_id)


@router.get("/persons/{id_number}/score")
def person_score(id_number: str, rt: RuntimeDep,
                 actor: Annotated[Principal, Depends(require("archives.read"))]
                 ) -> dict[str, Any]:
    try:
        id18 = normalize_id_number(id_number, today=clock.today())
    except IdentityError as err:
        raise ValidationFailed(err.message, code=err.code, details=[
            {"field": "id_number", "message": err.message}]) from None
    with rt.uow() as s:
        person = find_person(s, id18)
        if person is None:
            raise NotFound("未找到该身份证号码对应的人员", details=[
                {"field": "id_number", "message": "无此人员"}])
        return service.read_score(s, actor=actor, person_id=person.id)


@router.post("/scores/recompute")
def recompute(rt: RuntimeDep,
              actor: Annotated[Principal, Depends(require("reference.reload"))]
              ) -> dict[str, Any]:
    return recompute_command(rt, actor=actor)


def recompute_command(rt: Runtime, *, actor: Principal) -> dict[str, Any]:
    """Recompute everyone's score in one unit of work (for the CLI and timers)."""
    with rt.uow() as s:
        return service.recompute_all(s, actor=actor)
