"""A 100,000-row import keeps memory flat: its peak is that of a 10,000-row import.

Run through the real command in its own process, which reports its own peak resident
memory (VmHWM) at exit: wait4's ru_maxrss would also count the forking parent's size.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from chengxin.identity import make_id_number
from chengxin.records.models import CreditRecord

PEAK_REPORTER = (
    "import atexit, sys\n"
    "def _peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('PEAK_KB=' + line.split()[1] + '\\n')\n"
    "atexit.register(_peak)\n"
    "from chengxin.cli import main\n"
    "main()\n"
)
HEADERS = ["主体名称", "身份证号码", "决定文书号", "决定日期", "信息内容", "法律依据",
           "重点人群代码", "违法行为类型", "处罚类别", "处罚内容"]


def _write(path, n_rows, offset):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for i in range(offset, offset + n_rows):
            born = dt.date(1950, 1, 1) + dt.timedelta(days=i // 1000)
            w.writerow([f"李{i % 97}", make_id_number("410522", born, i % 1000), f"安县教罚{i}号",
                        "2026-04-01", "有偿补课", "《教师法》", "teacher", "师德失范", "警告", "警告"])


def _import(settings, path) -> int:
    env = {**os.environ, "CHENGXIN_DATABASE_URL": settings.database_url,
           "CHENGXIN_KEY_FILE": str(settings.key_file),
           "CHENGXIN_STORAGE_DIR": str(settings.storage_dir)}
    proc = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-c", PEAK_REPORTER, "import", str(path),
         "--department", "410522-jyj", "--item", "PEN-002"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, out.decode() + err.decode()[-2000:]
    peaks = [int(x.split("=")[1]) for x in err.decode().split() if x.startswith("PEAK_KB=")]
    assert peaks, err.decode()[-2000:]
    return peaks[-1]  # KiB


@pytest.mark.slow
def test_hundred_thousand_rows_flat_memory(rt, settings, tmp_path):
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    _write(small, 10_000, 0)
    _write(large, 100_000, 10_000)
    peak_small = _import(settings, small)
    peak_large = _import(settings, large)
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(CreditRecord)) == 110_000
    # Ten times the rows, not ten times the memory: within 25% (+16 MiB of noise).
    assert peak_large <= peak_small * 1.25 + 16 * 1024, (peak_small, peak_large)
