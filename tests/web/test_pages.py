"""Server-rendered pages: each renders in Chinese, roles are enforced, CSRF refused,
identifiers masked."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, audit_rows
from tests.records.factories import EDU, pid, teacher_penalty
from tests.test_public import _black
from tests.web.helpers import csrf, sign_in, with_pages


@pytest.fixture
def app(app):  # type: ignore[no-untyped-def]
    return with_pages(app)


def _as(client, users, login, role, **kw):  # type: ignore[no-untyped-def]
    users.add(login, role, **kw)
    r = sign_in(client, login, PASSWORD)
    assert r.status_code == 303, r.text
    return r


PUBLIC_PAGES = [("/", "个人公共信用信息平台"), ("/public/disclosures", "严重失信信息公示"),
                ("/public/honors", "守信红名单"), ("/verify", "信用报告核验"),
                ("/public/catalog", "公共信用信息目录"), ("/public/repair-guide", "信用修复指南"),
                ("/login", "登录")]


@pytest.mark.parametrize("path,text", PUBLIC_PAGES)
def test_public_pages_render(client, path, text):
    r = client.get(path)
    assert r.status_code == 200
    assert '<html lang="zh-CN">' in r.text and 'name="viewport"' in r.text
    assert text in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "<script>" not in r.text  # CSP: no inline scripts


def test_catalog_and_repair_guide_content(client):
    cat = client.get("/public/catalog").text
    assert "BLK-001" in cat and "严重" in cat and "公开" in cat and "个月" in cat
    guide = client.get("/public/repair-guide").text
    assert "令第36号" in guide and "10 个工作日" in guide and "信用承诺" in guide
    assert "谁认定、谁修复" in guide and "BLK-002" in guide


def test_static_and_html_404(client):
    assert client.get("/static/htmx.min.js").status_code == 200
    assert client.get("/static/app.css").status_code == 200
    r = client.get("/public/nothing-here")
    assert r.status_code == 404 and "页面不存在" in r.text and "text/html" in r.headers["content-type"]
    # The JSON API keeps its own error format.
    assert client.get("/api/v1/nothing").headers["content-type"].startswith("application/json")


def test_masked_public_search(client, users, frozen_clock):
    client.post("/api/v1/records", headers=users.api_key(EDU), json=[_black(1)])
    r = client.get("/public/disclosures", params={"q": "赵黑名"})
    assert r.status_code == 200
    assert pid(1)[:4] + "*" * 10 + pid(1)[-4:] in r.text and "赵**" in r.text
    assert pid(1) not in r.text and "13812345678" not in r.text
    assert "没有找到" in client.get("/public/disclosures", params={"q": "无此人"}).text


def test_sign_in_wrong_password_and_sign_out(client, users):
    users.add("rev", "reviewer")
    bad = sign_in(client, "rev", "wrong-password")
    assert bad.status_code == 401 and "登录名、密码或动态口令错误" in bad.text
    ok = sign_in(client, "rev", PASSWORD)
    assert ok.status_code == 303 and ok.headers["location"] == "/staff"
    cookie = ok.headers["set-cookie"]
    assert "cx_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Max-Age=" in cookie
    page = client.get("/staff")
    assert page.status_code == 200 and "工作台" in page.text and "异议处理" in page.text
    assert "<svg" in page.text
    out = client.post("/logout", data={"csrf_token": csrf(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.delete("cx_session")
    assert client.get("/staff", follow_redirects=False).status_code == 303


def test_csrf_refused(client, users):
    users.add("rev", "reviewer")
    client.get("/login")
    r = client.post("/login", data={"login": "rev", "password": PASSWORD, "csrf_token": "x" * 40})
    assert r.status_code == 403 and "安全校验失败" in r.text
    r = client.post("/login", data={"login": "rev", "password": PASSWORD})
    assert r.status_code == 403
    assert "cx_session" not in r.headers.get("set-cookie", "")


def test_login_required_and_role_refusal(client, users):
    r = client.get("/staff/objections", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    _as(client, users, "aud", "auditor")
    r = client.get("/staff/objections")
    assert r.status_code == 403 and "无权访问" in r.text and '<html lang="zh-CN">' in r.text
    assert any(a.details.get("code") == "page_forbidden" for a in audit_rows(
        client.app.state.runtime, "access.denied"))
    assert client.get("/my").status_code == 403
    assert client.get("/staff").status_code == 200  # auditors read statistics


def test_staff_pages_render_without_clear_ids(client, users, frozen_clock):
    key = users.api_key(EDU)
    client.post("/api/v1/records", headers=key, json=[teacher_penalty(7)])
    _as(client, users, "adm", "admin")
    for path, text in [("/staff", "各部门重点人群覆盖人数"), ("/staff/objections", "异议处理"),
                       ("/staff/repairs", "信用修复审核"), ("/staff/held", "待核实记录"),
                       ("/staff/reference", "奖惩措施清单"), ("/staff/archive", "信用档案查询"),
                       ("/staff/records?record_id=1&purpose=核查", "记录 1")]:
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert text in r.text, path
        assert pid(7) not in r.text
    page = client.get("/staff/archive")
    r = client.post("/staff/archive", data={"id_number": pid(7), "purpose": "异议核查",
                                             "csrf_token": csrf(page.text)})
    assert r.status_code == 200 and "有偿补课" in r.text
    assert pid(7)[:6] + "*" * 8 + pid(7)[-4:] in r.text and pid(7) not in r.text
    assert audit_rows(client.app.state.runtime, "archive.read")
    assert audit_rows(client.app.state.runtime, "record.read")


def test_individual_objection_reaches_reviewer_queue(client, users, frozen_clock):
    key = users.api_key(EDU)
    r = client.post("/api/v1/records", headers=key, json=[teacher_penalty(41)])
    rid = r.json()["results"][0]["record_id"]
    _as(client, users, "p41", "individual", id_number=pid(41), name="张四")
    mine = client.get("/my")
    assert mine.status_code == 200 and pid(41) in mine.text  # own identity in clear
    for path in ("/my/objections", "/my/repairs", "/my/notices", "/my/authorizations",
                 "/my/queries", "/my/report"):
        assert client.get(path).status_code == 200, path
    form = client.get(f"/my/objections?record_id={rid}")
    r = client.post("/my/objections", data={"record_id": str(rid), "reason": "并无此事",
                                             "csrf_token": csrf(form.text)}, follow_redirects=True)
    assert r.status_code == 200 and "异议已提交" in r.text
    assert "异议中" in client.get("/my").text
    client.cookies.clear()
    _as(client, users, "rev", "reviewer")
    queue = client.get("/staff/objections")
    assert "并无此事" in queue.text and f"记录 {rid}" in queue.text
    assert pid(41) not in queue.text
    partial = client.get("/staff/objections?status=open", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "并无此事" in partial.text
    oid = int(queue.text.split('id="objection-')[1].split('"')[0])
    r = client.post(f"/staff/objections/{oid}/decide",
                    data={"outcome": "upheld", "note": "经核实属实", "csrf_token": csrf(queue.text)},
                    follow_redirects=True)
    assert r.status_code == 200 and "异议已处理" in r.text


def test_individual_report_and_verify(client, users, frozen_clock):
    client.post("/api/v1/records", headers=users.api_key(EDU), json=[teacher_penalty(41)])
    _as(client, users, "p41", "individual", id_number=pid(41), name="张四")
    page = client.get("/my/report")
    r = client.post("/my/report", data={"kind": "personal", "csrf_token": csrf(page.text)})
    assert r.status_code == 200 and "核验码" in r.text
    no = r.text.split('id="report-no">')[1].split("<")[0]
    code = r.text.split('id="report-code">')[1].split("<")[0]
    pdf = client.get(f"/api/v1/reports/{no}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    v = client.get("/verify", params={"report_no": no, "code": code})
    assert "报告真实有效" in v.text and pid(41) not in v.text
    assert "核验未通过" in client.get("/verify", params={"report_no": no, "code": "WRONG"}).text


def test_score_page(client, users, frozen_clock):
    client.post("/api/v1/records", headers=users.api_key(EDU), json=[teacher_penalty(41)])
    _as(client, users, "p41", "individual", id_number=pid(41), name="张四")
    r = client.get("/my/score")
    assert r.status_code == 200 and "诚信积分" in r.text and "分" in r.text


def test_department_pages(client, users, frozen_clock):
    client.post("/api/v1/records", headers=users.api_key(EDU), json=[teacher_penalty(3)])
    ok = _as(client, users, "jyj", "reporter", department_code=EDU)
    assert ok.headers["location"] == "/dept"
    for path, text in [("/dept", "报送概况"), ("/dept/templates", "报送模板下载"),
                       ("/dept/upload", "上传报送表格"), ("/dept/submissions", "报送记录"),
                       ("/dept/rejected", "被拒行"), ("/dept/objections", "本部门的异议与修复")]:
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert text in r.text
        assert pid(3) not in r.text
    assert client.get("/staff/archive").status_code == 403
