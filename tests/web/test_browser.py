"""Real browser (Debian Chromium through Playwright) against a real server."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time

import pytest

from tests.conftest import PASSWORD
from tests.records.factories import EDU, pid, teacher_penalty
from tests.test_public import _black
from tests.web.helpers import with_pages

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@pytest.fixture
def server(app):  # type: ignore[no-untyped-def]
    import uvicorn

    with_pages(app)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(server):  # type: ignore[no-untyped-def]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(base_url=server, locale="zh-CN")
        pg = ctx.new_page()
        yield pg
        browser.close()


def _sign_in(page, login: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("form.form button[type=submit]")


def test_staff_sign_in(page, users, tmp_path):
    users.add("rev", "reviewer")
    _sign_in(page, "rev", "wrong-password")
    assert "登录名、密码或动态口令错误" in page.content()
    _sign_in(page, "rev")
    page.wait_for_url("**/staff")
    assert "工作台" in page.content()
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 800})
    page.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=False)


def test_masked_public_search(page, client, users, frozen_clock, tmp_path):
    client.post("/api/v1/records", headers=users.api_key(EDU), json=[_black(1)])
    page.goto("/")
    page.fill("#q", "赵黑名")
    page.click("form.search button")
    page.wait_for_url("**/public/disclosures?**")
    html = page.content()
    assert pid(1)[:4] + "*" * 10 + pid(1)[-4:] in html
    assert pid(1) not in html
    page.screenshot(path=str(tmp_path / "disclosures.png"), full_page=True)


def test_objection_filed_then_in_reviewer_queue(page, client, users, frozen_clock, tmp_path):
    r = client.post("/api/v1/records", headers=users.api_key(EDU), json=[teacher_penalty(41)])
    rid = r.json()["results"][0]["record_id"]
    users.add("p41", "individual", id_number=pid(41), name="张四")
    users.add("rev", "reviewer")
    _sign_in(page, "p41")
    page.wait_for_url("**/my")
    page.click(f"#record-{rid} a:has-text('提出异议')")
    page.fill("#objection-form textarea[name=reason]", "本人从未有偿补课")
    page.click("#objection-form button")
    page.wait_for_url("**/my/objections?done=objection_filed")
    assert "异议已提交" in page.content()
    page.click("header form button.link")  # sign out
    _sign_in(page, "rev")
    page.wait_for_url("**/staff")
    page.goto("/staff/objections")
    row = page.locator("tr[id^=objection-]").first
    assert "本人从未有偿补课" in row.inner_text()
    due = row.locator("td.due").inner_text()
    assert len(due.strip()[:10]) == 10 and due.strip()[:4].isdigit()
    page.screenshot(path=str(tmp_path / "objections.png"), full_page=True)


@pytest.mark.skipif(importlib.util.find_spec("chengxin.records.imports") is None,
                    reason="import module not ready")
def test_department_upload_with_bad_row(page, users, frozen_clock, tmp_path):
    users.add("jyj", "reporter", department_code=EDU)
    good = teacher_penalty(5)
    csv_text = ("subject_type,subject_name,id_number,item_code,document_no,decision_date,content,"
                "legal_basis,group_code\n"
                f"person,{good['subject_name']},{good['id_number']},PEN-002,{good['document_no']},"
                f"2026-03-01,有偿补课,依据,teacher\n"
                "person,坏行,123,PEN-002,坏文号1,2026-13-01,内容,依据,teacher\n")
    path = tmp_path / "upload.csv"
    path.write_text(csv_text, encoding="utf-8")
    _sign_in(page, "jyj")
    page.wait_for_url("**/dept")
    page.goto("/dept/upload")
    page.set_input_files("input[type=file]", str(path))
    page.click("#upload-form button")
    page.wait_for_url("**/dept/imports/**")
    page.wait_for_selector("table.row-errors", timeout=20000)
    assert "拒收" in page.content()
    page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)


@pytest.mark.skipif(importlib.util.find_spec("chengxin.reports.service") is None,
                    reason="reports module not ready")
def test_report_download_and_verify(page, client, users, frozen_clock, tmp_path):
    client.post("/api/v1/records", headers=users.api_key(EDU), json=[teacher_penalty(41)])
    users.add("p41", "individual", id_number=pid(41), name="张四")
    _sign_in(page, "p41")
    page.wait_for_url("**/my")
    page.goto("/my/report")
    page.click("form.form button")
    page.wait_for_selector("#report-no")
    no = page.inner_text("#report-no").strip()
    code = page.inner_text("#report-code").strip()
    with page.expect_download() as dl:
        page.click("#report-pdf")
    target = tmp_path / f"{no}.pdf"
    dl.value.save_as(str(target))
    assert target.read_bytes().startswith(b"%PDF")
    page.click("header form button.link")
    page.goto("/verify")
    page.fill("input[name=report_no]", no)
    page.fill("input[name=code]", code)
    page.click("form.form button")
    page.wait_for_selector("#verify-result")
    assert "报告真实有效" in page.inner_text("#verify-result")
    assert pid(41) not in page.content()
    page.screenshot(path=str(tmp_path / "verify.png"), full_page=True)
