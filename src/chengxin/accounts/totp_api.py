"""Routes for the TOTP second factor (see accounts/totp.py).

Enrolment and confirmation need only a signed-in person (not a permission from the
table): they change the caller's own account, and a staff account that must enrol first
(CHENGXIN_REQUIRE_TOTP_FOR_STAFF) may call nothing else. Reset is an admin's act.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from chengxin.accounts import totp
from chengxin.accounts.principal import Principal
from chengxin.deps import RuntimeDep, current_principal, require

router = APIRouter(prefix="/api/v1", tags=["accounts"])

Person = Annotated[Principal, Depends(current_principal)]


class TotpStatus(BaseModel):
    enabled: bool


class TotpEnrolment(BaseModel):
    secret: str
    provisioning_uri: str
    issuer: str = totp.ISSUER
    digits: int = totp.DIGITS
    period: int = totp.PERIOD


class TotpConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=6, max_length=12)


class TotpReset(BaseModel):
    id: int
    login: str
    totp_enabled: bool


@router.get("/auth/totp", response_model=TotpStatus)
def status(rt: RuntimeDep, actor: Person) -> TotpStatus:
    with rt.uow() as s:
        return TotpStatus(enabled=totp._own_user(s, actor).totp_enabled)


@router.post("/auth/totp/enrol", response_model=TotpEnrolment)
def enrol(rt: RuntimeDep, actor: Person) -> TotpEnrolment:
    # The secret is in this answer only (no-store, like every API answer).
    with rt.uow() as s:
        e = totp.begin_enrolment(s, actor=actor)
    return TotpEnrolment(secret=e.secret, provisioning_uri=e.provisioning_uri)


@router.post("/auth/totp/confirm", response_model=TotpStatus)
def confirm(body: TotpConfirm, rt: RuntimeDep, actor: Person) -> TotpStatus:
    with rt.uow() as s:
        user = totp.confirm_enrolment(s, actor=actor, code=body.code)
        return TotpStatus(enabled=user.totp_enabled)


@router.post("/users/{user_id}/totp/reset", response_model=TotpReset)
def reset(user_id: Annotated[int, Path(ge=1, le=2**63 - 1)], rt: RuntimeDep,
          actor: Annotated[Principal, Depends(require("users.manage"))]) -> TotpReset:
    with rt.uow() as s:
        user = totp.reset(s, actor=actor, user_id=user_id)
        return TotpReset(id=user.id, login=user.login, totp_enabled=user.totp_enabled)
