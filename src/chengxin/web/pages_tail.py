"""Unknown paths under the page prefixes: a Chinese 404 page (registered last, so it never
shadows a real page; /api/... keeps the JSON format)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chengxin.web.common import PageRoute, error_page

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def not_found(request: Request, rest: str) -> Response:
    return error_page(request, 404, "页面不存在", "找不到您要访问的页面。")


for _prefix in ("public", "staff", "dept", "my"):
    router.add_api_route(f"/{_prefix}/{{rest:path}}", not_found, methods=["GET", "POST"])
