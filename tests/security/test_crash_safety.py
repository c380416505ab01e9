"""kill -9 the server in the middle of a large import, restart, resume: nothing lost,
nothing doubled. (The same for an exchange pull is in tests/exchange/test_two_instances.)"""

from __future__ import annotations

import csv
import datetime as dt
import signal
import time

import httpx
from sqlalchemy import func, select

from chengxin.identity import make_id_number
from chengxin.records.models import CreditRecord, ImportJob, RecordVersion
from tests.exchange.test_two_instances import WAIT, Instance
from tests.records.factories import EDU

ROWS = 30_000
HEADERS = ["主体名称", "身份证号码", "决定文书号", "决定日期", "信息内容", "法律依据",
           "重点人群代码", "违法行为类型", "处罚类别", "处罚内容"]


def _csv(path):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for i in range(ROWS):
            born = dt.date(1950, 1, 1) + dt.timedelta(days=i // 1000)
            w.writerow([f"王{i % 89}", make_id_number("410522", born, i % 1000), f"安县教罚崩{i}号",
                        "2026-04-01", "有偿补课", "《教师法》", "teacher", "师德失范", "警告", "警告"])


def _job(server: Instance, key: str, job_id: str) -> dict:
    return httpx.get(f"{server.url}/api/v1/imports/{job_id}",
                     headers={"Authorization": f"Bearer {key}"}, timeout=10).json()


def test_kill_during_import_then_resume(tmp_path):
    server = Instance("crash", tmp_path, "410522-xyb")
    try:
        server.run("init")
        key = server.api_key(EDU)
        server.start()
        data = tmp_path / "big.csv"
        _csv(data)
        with data.open("rb") as fh:
            r = httpx.post(f"{server.url}/api/v1/imports", headers={"Authorization": f"Bearer {key}"},
                           data={"item_code": "PEN-002"}, files={"file": ("big.csv", fh)},
                           timeout=60)
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            progress = _job(server, key, job_id)
            if progress["processed_rows"] >= 3000:
                break
            time.sleep(0.05)
        assert progress["status"] == "running" and progress["processed_rows"] < ROWS, progress
        server.proc.send_signal(signal.SIGKILL)  # the server dies mid-chunk, no clean-up
        server.proc.wait(timeout=10)

        with server.rt.uow() as s:
            before = s.scalar(select(func.count()).select_from(CreditRecord))
            job = s.get(ImportJob, job_id)
            # What was committed is whole: every counted row is stored, nothing more.
            assert job.status == "running" and before == job.created == job.processed_rows
        assert 0 < before < ROWS

        server.start()
        r = httpx.post(f"{server.url}/api/v1/imports/{job_id}/resume",
                       headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + WAIT * 4
        while time.monotonic() < deadline and _job(server, key, job_id)["status"] != "done":
            time.sleep(0.2)
        final = _job(server, key, job_id)
        assert final["status"] == "done", final
        assert final["counts"]["created"] == ROWS and final["counts"]["rejected"] == 0
        with server.rt.uow() as s:
            assert s.scalar(select(func.count()).select_from(CreditRecord)) == ROWS
            assert s.scalar(select(func.count(func.distinct(CreditRecord.document_no)))) == ROWS
            assert s.scalar(select(func.count()).select_from(RecordVersion)) == ROWS
    finally:
        server.stop()
