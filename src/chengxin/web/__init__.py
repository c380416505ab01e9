"""Server-rendered pages (Jinja2 + htmx) for every audience.

`router` holds all page routes; `mount_static(app)` serves /static. The app factory
includes both: `app.include_router(web.router); web.mount_static(app)`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from chengxin.web import pages_department, pages_individual, pages_public, pages_staff, pages_tail

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)
for _module in (pages_public, pages_staff, pages_department, pages_individual, pages_tail):
    router.include_router(_module.router)


def mount_static(app: FastAPI) -> None:
    if not any(getattr(r, "path", None) == "/static" for r in app.routes):
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


__all__ = ["router", "mount_static", "STATIC_DIR"]
