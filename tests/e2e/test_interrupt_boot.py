"""Ctrl-C during a boot stops at once, even with the local model generating (issue 23 item 6).

A bounded check, not a timing assertion: after SIGINT the process is polled a fixed number of
times. Before the fix it went on for the rest of the generation (10-30 s on these machines):
the model ran in a thread of asyncio's default executor, which the interpreter joins at exit.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

#: Polls of 0.1 s after SIGINT (the target is 1 s on a quiet machine; the shared test machine
#: runs at a load of 10 and more, so the bound leaves room, far below a generation's length).
POLLS = 40


def _step_running(db: Path, pattern: str) -> bool:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("select 1 from step_events where step_id like ? and "
                                "status='running'", (pattern,)).fetchone() is not None
    except sqlite3.OperationalError:  # not migrated yet
        return False


def _llama_loaded(pid: int) -> bool:
    """Whether llama.cpp's shared library is mapped into process `pid` (the model is in use)."""
    try:
        return "libllama" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def test_ctrl_c_during_the_boot_narrative_stops_at_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "AIOS_HOME": str(home)}
    env.pop("AIOS_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "aios.cli", "boot"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        db = home / "aios.db"
        for _ in range(1800):
            if _step_running(db, "%summarize%"):
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        else:
            pytest.fail("the boot never reached orchestration.summarize")
        # Interrupt while the local model is at work: llama.cpp's library is mapped just before
        # the model loads, and loading then generating takes a second or more. A fixed sleep
        # raced the model on a fast machine (the boot had finished, and the signal came
        # during the interpreter's teardown).
        for _ in range(600):
            if _llama_loaded(proc.pid):
                break
            assert proc.poll() is None, "the boot ended before the local model was called"
            time.sleep(0.05)
        else:
            pytest.fail("the boot never called the local model")
        time.sleep(0.3)
        assert proc.poll() is None, "the boot ended before the signal could be sent"
        proc.send_signal(signal.SIGINT)
        for _ in range(POLLS):
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        assert proc.poll() is not None, "the boot did not stop after Ctrl-C"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == 130
    with sqlite3.connect(db) as conn:
        assert conn.execute("select status from runs").fetchall() == [("cancelled",)]
        statuses = {row[0] for row in conn.execute("select status from approval_requests")}
    assert statuses <= {"withdrawn"} and statuses, statuses  # its requests are withdrawn
