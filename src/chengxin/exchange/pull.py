"""Pulling a lower platform's change feed and applying it here.

Per source (its base URL): the signing public key is pinned on the first pull and a
changed key is refused unless the operator trusts it explicitly. Each page is verified
before anything of it is applied; the page's changes and the new cursor are committed in
one transaction, so a process killed between pages resumes exactly where it stopped and
one killed inside a page re-applies that page from the start (ingestion is idempotent).
Two pulls of the same source cannot both apply a page: the source row is locked and the
cursor re-checked inside the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select

from chengxin import clock
from chengxin.audit.service import record as audit
from chengxin.exchange.apply import ApplyResult, apply_items, exchange_actor
from chengxin.exchange.models import ExchangeSource
from chengxin.exchange.signing import SignatureError, verify_page
from chengxin.runtime import Runtime

TIMEOUT = httpx.Timeout(60.0, connect=10.0)


class PullError(Exception):
    exit_code = 5


class TamperedPage(PullError):
    exit_code = 3


class KeyChanged(PullError):
    exit_code = 4


class ConcurrentPull(PullError):
    exit_code = 6


@dataclass
class PullResult:
    source_id: int
    platform_id: str
    pages: int = 0
    items: int = 0
    cursor: str | None = None
    totals: ApplyResult = field(default_factory=ApplyResult)

    def as_dict(self) -> dict[str, Any]:
        return {"source_id": self.source_id, "platform_id": self.platform_id,
                "pages": self.pages, "items": self.items, "cursor": self.cursor,
                **self.totals.as_dict()}


def _get_json(http: httpx.Client, url: str, **kw: Any) -> dict[str, Any]:
    try:
        resp = http.get(url, **kw)
    except httpx.HTTPError as exc:
        raise PullError(f"无法连接 {url}: {exc.__class__.__name__}") from exc
    try:
        data = resp.json()
    except ValueError:
        data = None
    if resp.status_code != 200:
        msg = (data or {}).get("error", {}).get("message") if isinstance(data, dict) else None
        raise PullError(f"{url} 返回 {resp.status_code}: {msg or resp.reason_phrase}")
    if not isinstance(data, dict):
        raise PullError(f"{url} 返回的不是 JSON 对象")
    return data


def _pin(rt: Runtime, url: str, info: dict[str, Any], trust_new_key: bool) -> tuple[int, str, str]:
    pid, key, kid = info.get("platform_id"), info.get("public_key"), info.get("key_id")
    if info.get("algorithm") != "Ed25519" or not isinstance(key, str) or not isinstance(pid, str):
        raise PullError("对方公钥信息格式不正确 (expected Ed25519)")
    with rt.uow() as s:
        src = s.scalar(select(ExchangeSource).where(ExchangeSource.url == url).with_for_update())
        actor = exchange_actor(pid)
        if src is None:
            src = ExchangeSource(url=url, platform_id=pid, key_id=kid, public_key=key,
                                 items_applied=0, created_at=clock.now())
            s.add(src)
            s.flush()
            audit(s, actor, "exchange.source_pinned", object_type="exchange_source",
                  object_id=src.id, details={"platform_id": pid, "key_id": kid})
        elif src.public_key != key or src.platform_id != pid:
            if not trust_new_key:
                raise KeyChanged(
                    f"来源 {url} 的签名公钥已变化 (固定的 {src.key_id}，现为 {kid})；"
                    "核实后使用 --trust-new-key 接受新公钥")
            audit(s, actor, "exchange.source_key_changed", object_type="exchange_source",
                  object_id=src.id, details={"old_key_id": src.key_id, "new_key_id": kid,
                                             "platform_id": pid})
            src.platform_id, src.key_id, src.public_key = pid, kid, key
        return src.id, src.public_key or key, src.platform_id or pid


def pull(rt: Runtime, url: str, api_key: str, *, max_pages: int | None = None,
         http: httpx.Client | None = None, limit: int | None = None,
         trust_new_key: bool = False) -> PullResult:
    base = url.rstrip("/")
    own = http is None
    client = http or httpx.Client(timeout=TIMEOUT)
    try:
        info = _get_json(client, f"{base}/api/v1/exchange/public-key")
        source_id, public_key, platform = _pin(rt, base, info, trust_new_key)
        result = PullResult(source_id, platform)
        headers = {"Authorization": f"Bearer {api_key}"}
        while True:
            with rt.uow() as s:
                cursor = s.get(ExchangeSource, source_id).last_cursor  # type: ignore[union-attr]
            params: dict[str, Any] = {}
            if cursor:
                params["after"] = cursor
            if limit:
                params["limit"] = limit
            page = _get_json(client, f"{base}/api/v1/exchange/changes", params=params,
                             headers=headers)
            _check(page, public_key, platform, cursor)
            applied = _apply_page(rt, source_id, platform, cursor, page)
            result.pages += 1
            result.items += len(page["items"])
            result.cursor = page["next_cursor"]
            result.totals.add(applied)
            if not page["has_more"] or (max_pages is not None and result.pages >= max_pages):
                return result
    finally:
        if own:
            client.close()


def _check(page: dict[str, Any], public_key: str, platform: str, cursor: str | None) -> None:
    try:
        verify_page(public_key, page)
    except SignatureError as exc:
        raise TamperedPage(f"变更页签名校验失败，已拒绝，未应用任何内容: {exc}") from exc
    # Signed, so these are the sender's own statements: bind the page to this request.
    if (page.get("platform") or {}).get("id") != platform:
        raise TamperedPage("变更页的平台标识与固定的来源不一致，已拒绝")
    if page.get("after") != (cursor or None):
        raise TamperedPage("变更页不是对本次游标的应答（可能是重放），已拒绝")
    if not isinstance(page.get("items"), list) or not isinstance(page.get("next_cursor"), str) \
            or not isinstance(page.get("has_more"), bool):
        raise PullError("变更页格式不正确")


def _apply_page(rt: Runtime, source_id: int, platform: str, cursor: str | None,
                page: dict[str, Any]) -> ApplyResult:
    with rt.uow() as s:
        src = s.scalar(select(ExchangeSource).where(ExchangeSource.id == source_id)
                       .with_for_update())
        if src is None or src.last_cursor != cursor:
            raise ConcurrentPull("另一个拉取进程已处理该页，本次停止")
        applied = apply_items(s, src, platform, page["items"])
        src.last_cursor = page["next_cursor"]
        src.items_applied = (src.items_applied or 0) + len(page["items"])
        src.last_pull_at = clock.now()
        seqs = [i.get("seq") for i in page["items"] if isinstance(i, dict)]
        audit(s, exchange_actor(platform), "exchange.pull", object_type="exchange_source",
              object_id=source_id,
              details={"platform_id": platform, "after": cursor, "next_cursor": page["next_cursor"],
                       "first_seq": seqs[0] if seqs else None, "last_seq": seqs[-1] if seqs else None,
                       "count": len(page["items"]), **applied.as_dict()})
        return applied
