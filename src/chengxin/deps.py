"""FastAPI dependencies: the runtime, the acting principal, permission checks."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from chengxin.accounts import service as accounts
from chengxin.accounts.permissions import PERMISSIONS, ensure
from chengxin.accounts.principal import PUBLIC_PRINCIPAL, Principal
from chengxin.accounts.security import API_KEY_PREFIX, hash_api_key
from chengxin.errors import Forbidden, Unauthorized
from chengxin.runtime import Runtime

log = logging.getLogger(__name__)


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

# A database id in a path: bounded so that no value can overflow a BIGINT column.
DbId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return request.cookies.get("cx_session")  # the web pages' session cookie
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("认证头格式应为 Bearer <token>")
    return value.strip()


# Department systems call the check on every application: remember a verified key for a
# few seconds instead of reading it from the database each time. A revocation through
# this process clears the cache at once; through another process it takes effect within
# the TTL.
API_KEY_TTL = 10.0
# In the last seconds of an entry's lifetime the first request re-verifies the key in the
# background (one verification per key at a time), so a busy key's entry is renewed
# before it expires. Without it every request arriving at the moment of expiry went the
# slow way at once: with 64 concurrent callers, a stall of the check every 10 seconds
# (docs/scaling-history.md, fourth round). An entry is never used past its expiry.
API_KEY_REFRESH_AHEAD = 2.0
_refreshing_lock = threading.Lock()


def cached_api_key(rt: Runtime, token: str) -> tuple[str, Principal | None]:
    """(digest, principal) of an API key this process verified within API_KEY_TTL."""
    cache = rt.caches.setdefault("api_keys", {})
    digest = hash_api_key(token)
    hit = cache.get(digest)
    if hit is None:
        return digest, None
    principal, expires = hit
    left = expires - time.monotonic()
    if left <= 0:
        return digest, None
    if left < API_KEY_REFRESH_AHEAD:
        _refresh_in_background(rt, token, digest)
    return digest, principal


def _refresh_in_background(rt: Runtime, token: str, digest: str) -> None:
    with _refreshing_lock:
        busy = rt.caches.setdefault("api_keys_refreshing", set())
        if digest in busy:
            return
        busy.add(digest)

    def work() -> None:
        try:
            _key_from_db(rt, token, digest)
        except Exception as exc:
            log.warning("background re-verification of an API key failed (%s)",
                        type(exc).__name__)
        finally:
            with _refreshing_lock:
                busy.discard(digest)

    threading.Thread(target=work, name="api-key-refresh", daemon=True).start()


def _key_from_db(rt: Runtime, token: str, digest: str) -> Principal | None:
    # Taken before the read: a revocation through this process meanwhile drops the whole
    # cache, and what was read before it then lands in the dropped one, not the new one.
    cache = rt.caches.setdefault("api_keys", {})
    with rt.uow() as session:
        principal = accounts.principal_from_api_key(session, token)
    if principal is None:
        cache.pop(digest, None)  # revoked elsewhere: found by a re-verification
        return None
    if len(cache) > 10_000:
        cache.clear()
    cache[digest] = (principal, time.monotonic() + API_KEY_TTL)
    return principal


def _token_from_db(rt: Runtime, token: str) -> Principal | None:
    with rt.uow() as session:
        return accounts.principal_from_token(session, token)


async def optional_principal(request: Request, rt: RuntimeDep) -> Principal:
    # Async, so that a cached API key (the check path) costs no thread-pool hop; database
    # reads go to the thread pool.
    token = _bearer(request)
    if token is None:
        return PUBLIC_PRINCIPAL
    if token.startswith(API_KEY_PREFIX):
        digest, principal = cached_api_key(rt, token)
        if principal is None:
            principal = await run_in_threadpool(_key_from_db, rt, token, digest)
    else:
        principal = await run_in_threadpool(_token_from_db, rt, token)
    if principal is None:
        raise Unauthorized("凭据无效或已过期")
    request.state.principal = principal
    return principal


async def current_principal(
        principal: Annotated[Principal, Depends(optional_principal)]) -> Principal:
    if principal is PUBLIC_PRINCIPAL:
        raise Unauthorized("需要登录或 API 密钥")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(permission: str) -> Callable[..., Principal]:
    if permission not in PERMISSIONS:
        raise KeyError(permission)

    async def _dep(principal: CurrentPrincipal) -> Principal:
        if principal.totp_pending:
            # CHENGXIN_REQUIRE_TOTP_FOR_STAFF: only /auth/totp/* (no permission) until enrolled
            raise Forbidden("请先绑定动态口令（POST /api/v1/auth/totp/enrol）",
                            code="totp_enrolment_required")
        ensure(principal, permission)
        return principal

    _dep.permission = permission  # type: ignore[attr-defined]  # read by the role matrix test
    return _dep
