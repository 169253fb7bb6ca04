"""Issue 23 item 2 through the CLI: a timed-out action must not still happen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent

MANIFEST = """\
name: timeouts
agents:
  e2e:
    description: a handler that outlives its deadline
    actions:
      late: {handler: "e2e_handlers:write_later", mutates: true, criticality: low, timeout: 2}
sequences: {}
"""


def test_a_timed_out_sync_mutating_action_never_happens_and_the_command_exits(
        tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST)
    target, started = tmp_path / "written", tmp_path / "started"
    env = {**os.environ, "AIOS_HOME": str(tmp_path / "home"), "PYTHONPATH": os.pathsep.join(
        [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("AIOS_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "aios.cli", "exec", "e2e.late", "--manifest", str(manifest),
         "--arg", f"path={target}", "--arg", f"started={started}", "--arg", "seconds=6",
         "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        # Poll (a bounded number of times) until the command ends; the handler's write must
        # not have happened at any point: before the fix it ends only after the write.
        for _ in range(600):
            if proc.poll() is not None:
                break
            assert not target.exists(), "the timed-out handler wrote its file"
            time.sleep(0.1)
        assert proc.poll() is not None, "the command did not end"
        out, err = proc.communicate()
        assert not target.exists(), "the command ended only after the handler wrote its file"
        assert started.exists(), err  # the handler did start
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    data = json.loads(out)
    step = data["steps"][0] if isinstance(data["steps"], list) else next(
        iter(data["steps"].values()))
    assert step["status"] == "failed"
    assert "ActionTimeout" in step["error"] and "within 2 s" in step["error"]
    # ... and it never happens later either: watch past the moment it would have written.
    for _ in range(80):
        assert not target.exists(), "the timed-out handler wrote its file after the command"
        time.sleep(0.1)
