"""The person's own routes (authorisations, query log, freeze), online registration,
and the staff view of unusual query patterns."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from chengxin.accounts.principal import Principal
from chengxin.audit.service import record as audit
from chengxin.deps import DbId, RuntimeDep, require
from chengxin.errors import AppError, Conflict
from chengxin.rights import authorizations, freeze, querylog, registration
from chengxin.rights.common import own_person

router = APIRouter(prefix="/api/v1", tags=["rights"])
Me = Annotated[Principal, Depends(require("me.subject"))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthorizationIn(_In):
    grantee: str = Field(min_length=1, max_length=200)
    purpose: str = Field(min_length=1, max_length=200)
    scope: Literal["report"] = "report"
    valid_days: int = Field(ge=1, le=authorizations.MAX_VALID_DAYS, strict=True)


class RegisterIn(_In):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    id_number: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=1, max_length=32)


# --- authorisations -----------------------------------------------------------------

@router.post("/me/authorizations", status_code=201)
def create_authorization(body: AuthorizationIn, rt: RuntimeDep, actor: Me) -> dict[str, Any]:
    with rt.uow() as s:
        row, code = authorizations.create(s, actor=actor, grantee=body.grantee,
                                          purpose=body.purpose, scope=body.scope,
                                          valid_days=body.valid_days)
        # The only time the code is ever shown.
        return {"authorization_id": row.id, "code": code,
                "expires_at": row.expires_at.isoformat(), "grantee": row.grantee,
                "purpose": row.purpose, "scope": row.scope}


@router.get("/me/authorizations")
def list_authorizations(rt: RuntimeDep, actor: Me) -> list[dict[str, Any]]:
    with rt.uow() as s:
        return authorizations.list_mine(s, actor=actor)


@router.delete("/me/authorizations/{authorization_id}")
def revoke_authorization(authorization_id: DbId, rt: RuntimeDep, actor: Me) -> dict[str, Any]:
    with rt.uow() as s:
        return authorizations.authorization_dict(
            authorizations.revoke(s, actor=actor, authorization_id=authorization_id))


# --- query log ----------------------------------------------------------------------

@router.get("/me/queries")
def my_queries(rt: RuntimeDep, actor: Me,
               limit: Annotated[int, Query(ge=1, le=100)] = 20,
               before: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
    with rt.uow() as s:
        return querylog.my_queries(s, actor=actor, person_id=own_person(actor),
                                   limit=limit, before=before)


@router.get("/query-alerts")
def query_alerts(rt: RuntimeDep,
                 actor: Annotated[Principal, Depends(require("query_alerts.read"))]) -> list[dict]:
    with rt.uow() as s:
        return querylog.open_alerts(s, actor=actor)


@router.post("/query-alerts/{alert_id}/resolve")
def resolve_query_alert(alert_id: DbId, rt: RuntimeDep,
                        actor: Annotated[Principal, Depends(require("query_alerts.resolve"))]) -> dict:
    with rt.uow() as s:
        return querylog.alert_dict(querylog.resolve_alert(s, actor=actor, alert_id=alert_id))


# --- freeze -------------------------------------------------------------------------

@router.post("/me/freeze")
def freeze_queries(rt: RuntimeDep, actor: Me) -> dict[str, Any]:
    with rt.uow() as s:
        return freeze.freeze(s, actor=actor)


@router.delete("/me/freeze")
def lift_freeze(rt: RuntimeDep, actor: Me) -> dict[str, Any]:
    with rt.uow() as s:
        return freeze.lift(s, actor=actor)


@router.get("/me/freeze")
def freeze_status(rt: RuntimeDep, actor: Me) -> dict[str, Any]:
    with rt.uow() as s:
        return freeze.status(s, actor=actor)


# --- registration -------------------------------------------------------------------

@router.post("/register", status_code=201)
def register(body: RegisterIn, request: Request, rt: RuntimeDep) -> dict[str, Any]:
    actor = registration.registrant(body.login)
    address = request.client.host if request.client else "unknown"
    try:
        registration.check_rate(rt, address)
        with rt.uow() as s:
            done = registration.register(s, actor=actor, login=body.login,
                                         password=body.password, id_number=body.id_number,
                                         name=body.name, phone=body.phone)
            answer = {"user_id": done.user.id, "login": done.user.login,
                      "role": done.user.role, "verified_by": done.verified_by,
                      "demonstration": done.demonstration}
            if done.note:
                answer["note"] = done.note
            return answer
    except IntegrityError:
        # Two registrations raced for the same login or identity; the loser hears why.
        exc = Conflict("登录名或该身份已被注册", code="already_registered")
        with rt.uow() as s:
            audit(s, actor, "user.register", outcome="failed",
                  details={"code": exc.code, "status": exc.status})
        raise exc from None
    except AppError as exc:
        # The attempt's transaction rolled back: audit the refusal on its own.
        with rt.uow() as s:
            audit(s, actor, "user.register", outcome="failed",
                  details={"code": exc.code, "status": exc.status})
        raise
