"""The paths README.md walks a user through, checked on what the user reads (stdout, exit code).

Each test runs `aios` as a subprocess on a temporary home, as the README's commands do, and
checks the printed text a user would copy from, not the objects behind it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

AIOS = [sys.executable, "-m", "aios.cli"]

MANIFEST = """\
name: ops
agents:
  storage:
    description: Disks and files
    actions:
      disks: {handler: storage.disks}
sequences:
  nightly:
    steps:
      - action: storage.disks
"""


def aios(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIOS_HOME": str(home), "COLUMNS": "120"}
    env.pop("AIOS_DATABASE_URL", None)
    return subprocess.run([*AIOS, *args], capture_output=True, text=True, env=env, timeout=120)


def test_aios_run_prints_the_run_line_on_its_own_line_after_the_progress_table(
        tmp_path: Path) -> None:
    manifest = tmp_path / "ops.yaml"
    manifest.write_text(MANIFEST)
    proc = aios("run", "nightly", "-m", str(manifest), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    run_lines = [line for line in lines if line.startswith("run ")]
    assert len(run_lines) == 1, proc.stdout  # not glued to the table's bottom border
    assert run_lines[0].endswith(" succeeded")
    assert lines[lines.index(run_lines[0]) - 1].rstrip().endswith("┘")
