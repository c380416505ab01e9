"""Shared by every page module: templates, rendering, navigation, HTML error pages."""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from chengxin.accounts.permissions import allowed
from chengxin.accounts.principal import PUBLIC_PRINCIPAL, Principal, Role
from chengxin.errors import AppError, Unauthorized
from chengxin.web import auth

HERE = Path(__file__).parent
_env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                   autoescape=select_autoescape(default=True, default_for_string=True))
templates = Jinja2Templates(env=_env)

ROLE_LABELS = {
    "admin": "信用办管理员", "reviewer": "信用办审核员", "reporter": "部门填报员",
    "auditor": "审计员", "individual": "个人", "third_party": "第三方机构", "system": "系统",
    "public": "访客",
}
STATUS_LABELS = {
    "active": "有效", "under_objection": "异议中", "corrected": "已更正", "deleted": "已删除",
    "repaired": "已修复", "expired": "已过展示期", "open": "待处理", "decided": "已处理",
    "submitted": "待处理", "approved": "已批准", "rejected": "已驳回", "pending": "待核实",
    "accepted": "已接受", "revoked": "已撤销", "queued": "排队中", "running": "处理中",
    "done": "已完成", "failed": "失败", "proposed": "待审批", "listed": "在列",
    "removed": "已移出", "suspended": "已暂停", "ended": "已结束",
}
OUTCOME_LABELS = {"corrected": "更正", "upheld": "维持", "deleted": "删除",
                  "approved": "批准", "rejected": "驳回"}
POLARITY_LABELS = {"positive": "正面", "negative": "负面", "neutral": "中性"}
SEVERITY_LABELS = {"minor": "轻微", "general": "一般", "serious": "严重"}
VISIBILITY_LABELS = {"public": "公开", "authorized": "授权查询", "internal": "政务共享"}
CADENCE_LABELS = {"monthly": "每月", "quarterly": "每季度", "yearly": "每年"}
LIST_LABELS = {"black": "严重失信主体名单（黑名单）", "red": "守信激励对象名单（红名单）"}

DONE_MESSAGES = {
    "objection_decided": "异议已处理，已通知信息主体。", "repair_decided": "修复申请已处理，已通知申请人。",
    "held_decided": "待核实记录已处理。", "objection_filed": "异议已提交，记录已标注“异议中”。",
    "repair_filed": "信用修复申请已提交。", "notice_read": "已标记为已读。",
    "authorization_revoked": "授权已撤销。", "freeze_on": "已冻结第三方查询。",
    "freeze_off": "已解除冻结。",
}
_env.globals["done_messages"] = DONE_MESSAGES
_env.globals.update(role_labels=ROLE_LABELS, status_labels=STATUS_LABELS,
                    outcome_labels=OUTCOME_LABELS, polarity_labels=POLARITY_LABELS,
                    severity_labels=SEVERITY_LABELS, visibility_labels=VISIBILITY_LABELS,
                    cadence_labels=CADENCE_LABELS, list_labels=LIST_LABELS)


def label(mapping: dict[str, str], key: Any) -> str:
    return mapping.get(str(key), str(key) if key is not None else "")


_env.filters["lbl"] = lambda key, mapping: label(mapping, key)
_env.filters["day"] = lambda v: (str(v)[:10] if v else "")
_env.filters["minute"] = lambda v: (str(v)[:16].replace("T", " ") if v else "")


# --- navigation ---------------------------------------------------------------------

PUBLIC_NAV = [("/", "首页"), ("/public/disclosures", "失信信息公示"),
              ("/public/honors", "守信红名单"), ("/verify", "报告核验"),
              ("/public/catalog", "信用信息目录"), ("/public/repair-guide", "信用修复指南")]


def nav_for(who: Principal) -> list[tuple[str, str]]:
    """The signed-in user's own menu, from the one permission table."""
    items: list[tuple[str, str]] = []
    if who is PUBLIC_PRINCIPAL:
        return items
    if allowed(who, "stats.read") and who.role != Role.REPORTER:
        items.append(("/staff", "工作台"))
    if allowed(who, "objections.queue") and who.role != Role.REPORTER:
        items.append(("/staff/objections", "异议处理"))
    if allowed(who, "repairs.queue") and who.role != Role.REPORTER:
        items.append(("/staff/repairs", "信用修复审核"))
    if allowed(who, "archives.read"):
        items.append(("/staff/archive", "信用档案"))
    if allowed(who, "records.read") and who.role != Role.REPORTER:
        items.append(("/staff/records", "记录查询"))
    if allowed(who, "holds.decide"):
        items.append(("/staff/held", "待核实记录"))
    if who.is_staff and who.role != Role.REPORTER:
        items.append(("/staff/reference", "目录与清单"))
    if allowed(who, "records.write") and who.role == Role.REPORTER:
        items += [("/dept", "报送概况"), ("/dept/upload", "上传表格"),
                  ("/dept/templates", "模板下载"), ("/dept/submissions", "报送记录"),
                  ("/dept/rejected", "被拒与待核实"), ("/dept/objections", "异议与修复")]
    if allowed(who, "me.subject"):
        items += [("/my", "我的信用"), ("/my/report", "信用报告"), ("/my/objections", "异议"),
                  ("/my/repairs", "信用修复"), ("/my/notices", "通知"),
                  ("/my/authorizations", "授权查询"), ("/my/queries", "查询记录"),
                  ("/my/score", "诚信积分")]
    return items


def home_for(who: Principal) -> str:
    nav = nav_for(who)
    return nav[0][0] if nav else "/"


# --- rendering ----------------------------------------------------------------------

def render(request: Request, name: str, context: dict[str, Any] | None = None, *,
           status: int = 200) -> HTMLResponse:
    who = auth.principal(request)
    ctx = {
        "request": request, "me": who, "signed_in": who is not PUBLIC_PRINCIPAL,
        "public_nav": PUBLIC_NAV, "user_nav": nav_for(who), "path": request.url.path,
        "csrf": auth.csrf_token(request), "csrf_field": auth.CSRF_FIELD,
        "done": request.query_params.get("done", ""),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    auth.set_cookies(request, response)
    return response


def error_page(request: Request, status: int, title: str, message: str,
               details: list[dict[str, Any]] | None = None) -> HTMLResponse:
    return render(request, "error.html", {"status": status, "title": title, "message": message,
                                          "details": details or []}, status=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


TITLES = {400: "请求有误", 401: "需要登录", 403: "无权访问", 404: "页面不存在",
          405: "请求方式不支持", 409: "操作冲突", 413: "文件过大", 422: "填写有误",
          429: "操作过于频繁", 503: "功能暂不可用"}


class PageRoute(APIRoute):
    """Page routes answer every failure with a Chinese HTML page (the JSON API keeps its
    own format: this class is used by the page routers only)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except (auth.LoginRequired, Unauthorized):
                response = redirect(auth.login_redirect_target(request))
                auth.clear_session(request, response) if request.cookies.get(
                    auth.SESSION_COOKIE) else None
                return response
            except auth.CsrfFailed:
                return error_page(request, 403, "安全校验失败",
                                  "表单已过期或来源不明（CSRF 校验未通过）。请返回上一页刷新后重新提交。")
            except auth.PageForbidden as exc:
                return error_page(request, 403, "无权访问", exc.message)
            except AppError as exc:
                return error_page(request, exc.status, TITLES.get(exc.status, "操作未完成"),
                                  exc.message, exc.details)
            except RequestValidationError as exc:
                details = [{"field": ".".join(str(p) for p in e.get("loc", [])[1:]),
                            "message": "格式不正确"} for e in exc.errors()]
                return error_page(request, 400, "请求有误", "提交的内容格式不正确。", details)
            except StarletteHTTPException as exc:
                return error_page(request, exc.status_code, TITLES.get(exc.status_code, "出错了"),
                                  "找不到您要访问的页面。" if exc.status_code == 404 else "请求无法完成。")

        return handler


def csrf_checked(request: Request, csrf_token: str = Form("")) -> None:
    auth.check_csrf(request, csrf_token)


CSRF = Depends(csrf_checked)


# --- paging and charts --------------------------------------------------------------

def page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), 1000))
    except ValueError:
        return 1


def bars(rows: list[tuple[str, float]], *, width: int = 380, bar_h: int = 20,
         label_w: int = 150) -> dict[str, Any]:
    """Geometry of a horizontal bar chart, drawn as inline SVG by the template."""
    top = max([v for _, v in rows] + [0])
    scale_max = top if top > 0 else 1
    room = width - label_w - 60
    out = []
    for i, (name, value) in enumerate(rows):
        w = 0 if value <= 0 else max(2, math.floor(room * value / scale_max))
        out.append({"label": name if len(name) <= 10 else name[:9] + "…", "full": name,
                    "value": value, "y": i * (bar_h + 6), "w": w})
    return {"rows": out, "width": width, "height": max(1, len(rows)) * (bar_h + 6),
            "bar_h": bar_h, "label_w": label_w}
