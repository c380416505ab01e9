"""The cache of verified API keys (chengxin.deps): a busy key is re-verified in the
background before its entry expires, one verification at a time; an entry is never used
past its expiry, and a revocation found or made meanwhile is not undone."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import update

from chengxin import deps
from chengxin.accounts import service as accounts
from chengxin.accounts.models import ApiKey
from chengxin.accounts.principal import cli_principal
from chengxin.accounts.security import hash_api_key
from chengxin.clock import now


@pytest.fixture
def token(rt) -> str:
    with rt.uow() as s:
        _, key = accounts.create_api_key(s, actor=cli_principal("test"),
                                         department_code="410522-rsj")
    return key


@pytest.fixture
def lookups(monkeypatch) -> list[str]:
    """Every database verification of a key; each takes 50 ms, as a busy server's might."""
    seen: list[str] = []
    real = accounts.principal_from_api_key

    def counted(session, key):  # type: ignore[no-untyped-def]
        seen.append(key)
        time.sleep(0.05)
        return real(session, key)

    monkeypatch.setattr(accounts, "principal_from_api_key", counted)
    return seen


def _entry(rt, token: str) -> tuple | None:
    return rt.caches.get("api_keys", {}).get(hash_api_key(token))


def _set_left(rt, token: str, seconds: float) -> None:
    principal, _ = _entry(rt, token)
    rt.caches["api_keys"][hash_api_key(token)] = (principal, time.monotonic() + seconds)


def _wait_for_refreshes() -> None:
    for t in [t for t in threading.enumerate() if t.name == "api-key-refresh"]:
        t.join(5)


def test_an_entry_about_to_expire_is_renewed_once_while_still_served(rt, token, lookups):
    digest = hash_api_key(token)
    assert deps._key_from_db(rt, token, digest) is not None
    assert len(lookups) == 1
    _set_left(rt, token, 1.0)  # inside the last two seconds
    served = [deps.cached_api_key(rt, token)[1] for _ in range(50)]
    _wait_for_refreshes()
    assert all(p is not None and p.department_code == "410522-rsj" for p in served)
    assert len(lookups) == 2  # 50 requests in the window, one re-verification
    _, expires = _entry(rt, token)
    assert expires - time.monotonic() > deps.API_KEY_TTL - 1  # renewed for a full TTL


def test_an_entry_not_yet_near_expiry_is_not_reverified(rt, token, lookups):
    deps._key_from_db(rt, token, hash_api_key(token))
    _set_left(rt, token, deps.API_KEY_REFRESH_AHEAD + 3)
    for _ in range(20):
        assert deps.cached_api_key(rt, token)[1] is not None
    _wait_for_refreshes()
    assert len(lookups) == 1


def test_an_expired_entry_is_never_used(rt, token, lookups):
    deps._key_from_db(rt, token, hash_api_key(token))
    _set_left(rt, token, -0.01)
    assert deps.cached_api_key(rt, token)[1] is None  # the caller verifies it itself
    _wait_for_refreshes()
    assert len(lookups) == 1


def test_a_revocation_found_by_the_background_check_drops_the_key(rt, token, lookups):
    """Revoked by another process (straight in the database, no cache cleared here): the
    re-verification finds it and the key stops working before its entry would expire."""
    deps._key_from_db(rt, token, hash_api_key(token))
    with rt.uow() as s:
        s.execute(update(ApiKey).values(revoked_at=now()))
    _set_left(rt, token, 1.5)
    assert deps.cached_api_key(rt, token)[1] is not None  # still within its lifetime
    _wait_for_refreshes()
    assert _entry(rt, token) is None
    assert deps.cached_api_key(rt, token)[1] is None


def test_a_revocation_during_a_verification_is_not_undone(rt, token, monkeypatch):
    """The revocation route drops the whole cache; a verification that read the key just
    before must not put it back."""
    real = accounts.principal_from_api_key

    def revoked_meanwhile(session, key):  # type: ignore[no-untyped-def]
        principal = real(session, key)
        rt.caches.pop("api_keys", None)  # what DELETE /api/v1/apikeys/{id} does
        return principal

    monkeypatch.setattr(accounts, "principal_from_api_key", revoked_meanwhile)
    deps._key_from_db(rt, token, hash_api_key(token))
    assert _entry(rt, token) is None
