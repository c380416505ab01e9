"""Reference data kept in memory for hot paths, refreshed when a reload happened.

Whether a reload happened (in this process or another) is asked of the database at most
once a second, so the check path does not pay a query for it on every request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chengxin.reference.models import ReferenceLoad
from chengxin.runtime import runtime_of

T = TypeVar("T")
RECHECK_SECONDS = 1.0


def cached(session: Session, name: str, load: Callable[[Session], T]) -> T:
    caches: dict[str, Any] = runtime_of(session).caches
    now = time.monotonic()
    if caches.get("reference_checked_at", 0.0) + RECHECK_SECONDS < now:
        load_id = session.scalar(select(func.max(ReferenceLoad.id)))
        if caches.get("reference_load_id") != load_id:
            for key in [k for k in caches if k.startswith("ref:")]:
                del caches[key]
            caches["reference_load_id"] = load_id
        caches["reference_checked_at"] = now
    key = f"ref:{name}"
    if key not in caches:
        caches[key] = load(session)
    return caches[key]
