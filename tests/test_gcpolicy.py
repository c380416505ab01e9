"""The collector settings of the server's workers and the command line (chengxin.gcpolicy).
Checked in a fresh interpreter: they are process-wide, and the test process keeps its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from chengxin import gcpolicy

PROBE = """
import gc, json, sys
{setup}
print(json.dumps({{"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}}))
"""


def _probe(setup: str, env: dict[str, str] | None = None) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE.format(setup=setup)], check=True,  # noqa: S603
                         capture_output=True, text=True, env=env, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_tuning_freezes_start_up_objects_and_widens_the_young_generation():
    before = _probe("")
    assert before["frozen"] == 0 and before["threshold"][0] < gcpolicy.YOUNG
    after = _probe("from chengxin.gcpolicy import tune_for_throughput; tune_for_throughput()")
    assert after["threshold"] == [gcpolicy.YOUNG, gcpolicy.MIDDLE, gcpolicy.OLD]
    assert after["frozen"] > 1000  # the modules imported so far are no longer scanned


def test_the_server_entry_point_and_the_command_line_apply_it(tmp_path):
    from chengxin.keys import new_key_material, write_key_file

    keys = tmp_path / "keys.json"
    write_key_file(keys, new_key_material())
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHENGXIN_")}
    env.update(CHENGXIN_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
               CHENGXIN_KEY_FILE=str(keys), CHENGXIN_STORAGE_DIR=str(tmp_path / "var"))
    wanted = [gcpolicy.YOUNG, gcpolicy.MIDDLE, gcpolicy.OLD]
    assert _probe("import chengxin.asgi", env)["threshold"] == wanted
    cli = ("sys.argv = ['chengxin', '--help']\nfrom chengxin.cli import main\n"
           "try:\n    main()\nexcept SystemExit:\n    pass")
    assert _probe(cli, env)["threshold"] == wanted
