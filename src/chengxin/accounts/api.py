from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from chengxin.accounts import service
from chengxin.accounts.models import ApiKey, User
from chengxin.accounts.principal import Principal
from chengxin.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyOut,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserOut,
)
from chengxin.deps import DbId, RuntimeDep, require
from chengxin.errors import JSONResponse, error_response

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post("/auth/token", response_model=TokenResponse,
             responses={401: {"description": "bad credentials, or totp_required"}})
def token(body: TokenRequest, rt: RuntimeDep) -> TokenResponse | JSONResponse:
    # The failure is committed too (failed-attempt count, lockout, audit entry).
    with rt.uow() as s:
        result = service.sign_in(s, body.login, body.password, body.totp)
    if result.reason == "totp_required":
        # Only after the right password: the account has a second factor, send its code.
        return error_response(401, "totp_required", "请输入动态口令（身份验证器应用中的 6 位数字）",
                              [{"field": "totp", "message": "需要动态口令"}],
                              headers={"WWW-Authenticate": "Bearer"})
    if not result.ok:
        # One message for every failure: it must not tell whether the login exists.
        return error_response(401, "bad_credentials", "登录名或密码错误，或账号已被暂时锁定",
                              headers={"WWW-Authenticate": "Bearer"})
    return TokenResponse(access_token=result.token or "", expires_in=result.expires_in,
                         totp_enrolment_required=result.totp_enrolment_required)


@router.get("/auth/me")
def me(actor: Annotated[Principal, Depends(require("self.read"))]) -> dict:
    return {"login": actor.label, "role": str(actor.role), "department": actor.department_code,
            "organization": actor.organization}


def _user_out(u: User) -> UserOut:
    return UserOut(id=u.id, login=u.login, role=u.role, department=u.department_code,
                   active=u.active, organization=u.organization)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, rt: RuntimeDep,
                actor: Annotated[Principal, Depends(require("users.manage"))]) -> UserOut:
    with rt.uow() as s:
        user = service.create_user(
            s, actor=actor, login=body.login, password=body.password, role=body.role,
            department_code=body.department, id_number=body.id_number, name=body.name,
            organization=body.organization)
        return _user_out(user)


@router.get("/users", response_model=list[UserOut])
def list_users(rt: RuntimeDep,
               actor: Annotated[Principal, Depends(require("users.read"))]) -> list[UserOut]:
    with rt.uow() as s:
        return [_user_out(u) for u in s.scalars(select(User).order_by(User.id))]


@router.post("/users/{user_id}/deactivate", response_model=UserOut)
def deactivate_user(user_id: DbId, rt: RuntimeDep,
                    actor: Annotated[Principal, Depends(require("users.manage"))]) -> UserOut:
    with rt.uow() as s:
        return _user_out(service.set_active(s, actor=actor, user_id=user_id, active=False))


def _key_out(k: ApiKey, key: str | None = None) -> ApiKeyOut:
    return ApiKeyOut(id=k.id, prefix=k.prefix, department=k.department_code, name=k.name,
                     created_at=k.created_at.isoformat(), revoked=k.revoked_at is not None,
                     key=key)


@router.post("/apikeys", response_model=ApiKeyOut, status_code=201)
def create_api_key(body: ApiKeyCreate, rt: RuntimeDep,
                   actor: Annotated[Principal, Depends(require("apikeys.manage"))]) -> ApiKeyOut:
    with rt.uow() as s:
        row, key = service.create_api_key(s, actor=actor, department_code=body.department,
                                          name=body.name)
        return _key_out(row, key)


@router.get("/apikeys", response_model=list[ApiKeyOut])
def list_api_keys(rt: RuntimeDep,
                  actor: Annotated[Principal, Depends(require("apikeys.manage"))]) -> list[ApiKeyOut]:
    with rt.uow() as s:
        return [_key_out(k) for k in s.scalars(select(ApiKey).order_by(ApiKey.id))]


@router.delete("/apikeys/{key_id}", response_model=ApiKeyOut)
def revoke_api_key(key_id: DbId, rt: RuntimeDep,
                   actor: Annotated[Principal, Depends(require("apikeys.manage"))]) -> ApiKeyOut:
    with rt.uow() as s:
        out = _key_out(service.revoke_api_key(s, actor=actor, key_id=key_id))
    rt.caches.pop("api_keys", None)  # a revoked key stops working at once here
    return out
