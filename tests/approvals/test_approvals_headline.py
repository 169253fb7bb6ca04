"""The headline: a critical action survives SIGKILL, two people approve, it runs exactly once.

A real process starts a run whose critical mutating step waits in-process for approval; the
test kills it with SIGKILL while it waits, two distinct users approve with the real `aios`
CLI from other processes, and `run_driver.py resume` finishes the run. Then the audit chain
verifies, and editing, deleting or reordering any audit row makes `aios audit verify` fail,
naming the link.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
AIOS = [sys.executable, "-m", "aios.cli"]

MANIFEST = """\
version: 1
name: headline
env: {{MARKER: "{marker}"}}
agents:
  ops:
    actions:
      check: {{handler: headline.check}}
      deploy:
        handler: headline.append
        criticality: critical
        mutates: true
        timeout: 30
        params: {{line: deployed}}
sequences:
  release:
    steps:
      - {{action: ops.check}}
      - {{action: ops.deploy}}
approvals:
  wait_seconds: 300
"""


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    path = os.pathsep.join([str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {**env, "AIOS_HOME": str(home), "PYTHONPATH": path, **extra}


def aios(home: Path, *args: str, check: bool = True, **extra: str
         ) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*AIOS, *args], capture_output=True, text=True, timeout=120,
                          env=_env(home, **extra))
    if check and proc.returncode != 0:
        raise AssertionError(f"aios {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n"
                             f"{proc.stderr}")
    return proc


def _stored_request(db: Path) -> bool:
    """True once the store holds an approval request (read directly: cheap to poll)."""
    if not db.exists():
        return False
    with sqlite3.connect(db) as conn:
        try:
            return bool(conn.execute("SELECT count(*) FROM approval_requests").fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            return False


def _copy_db(src: Path, dst: Path) -> Path:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


def test_critical_action_survives_sigkill_and_runs_exactly_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    marker = tmp_path / "marker.txt"
    manifest = tmp_path / "headline.yaml"
    manifest.write_text(MANIFEST.format(marker=marker))

    # Two approvers with API tokens, made with the real CLI.
    tokens = {}
    for name in ("alice", "bob"):
        aios(home, "users", "add", name, "--role", "approver")
        tokens[name] = aios(home, "users", "token", name, "--expires", "1h").stdout.strip()

    proc = subprocess.Popen([sys.executable, str(HERE / "run_driver.py"), "start",
                             str(manifest), "release"], env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _stored_request(home / "aios.db"):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        pending = json.loads(aios(home, "approvals", "list", "--json").stdout)
        assert pending, "the approval request was never stored"
        assert proc.poll() is None  # still waiting in-process for the decision
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    (request,) = pending
    assert request["action"] == "ops.deploy" and request["required_approvals"] == 2
    assert request["requester"] == "deployer"
    run_id = str(request["run_id"])
    assert not marker.exists()

    first = aios(home, "approvals", "approve", str(request["id"]), "--token", tokens["alice"])
    assert "1/2 approvals" in first.stdout
    again = aios(home, "approvals", "approve", str(request["id"]), check=False,
                 AIOS_TOKEN=tokens["alice"])
    assert again.returncode != 0 and "distinct approvers" in again.stderr
    aios(home, "approvals", "approve", str(request["id"]), AIOS_TOKEN=tokens["bob"])

    resumed = subprocess.run([sys.executable, str(HERE / "run_driver.py"), "resume",
                              str(manifest), run_id], capture_output=True, text=True,
                             timeout=120, env=_env(home))
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "succeeded", resumed.stdout
    assert marker.read_text().splitlines() == [f"{run_id} deployed"]
    run = json.loads(aios(home, "runs", "show", run_id, "--json").stdout)
    assert run["status"] == "succeeded"
    shown = json.loads(aios(home, "approvals", "show", str(request["id"]), "--json").stdout)
    assert shown["status"] == "executed" and shown["approvers"] == ["alice", "bob"]
    assert [a["kind"] for a in shown["audit"]] == [
        "request.created", "decision.approve", "decision.approve", "request.approved",
        "action.executed"]

    # A second resume does not run it again.
    subprocess.run([sys.executable, str(HERE / "run_driver.py"), "resume", str(manifest),
                    run_id], capture_output=True, text=True, timeout=120, env=_env(home),
                   check=True)
    assert len(marker.read_text().splitlines()) == 1

    verified = aios(home, "audit", "verify")
    assert "intact: 5 records" in verified.stdout

    db = home / "aios.db"
    tampering = {
        "edited": ("UPDATE audit_log SET record = replace(record, 'alice', 'mallory') "
                   "WHERE seq = 2", "seq 2"),
        "deleted": ("DELETE FROM audit_log WHERE seq = 3", "seq 3"),
        "reordered": ("UPDATE audit_log SET seq = -1 WHERE seq = 2; "
                      "UPDATE audit_log SET seq = 2 WHERE seq = 3; "
                      "UPDATE audit_log SET seq = 3 WHERE seq = -1", "seq 2"),
    }
    for how, (sql, link) in tampering.items():
        copy = _copy_db(db, tmp_path / f"{how}.db")
        with sqlite3.connect(copy) as conn:
            conn.executescript(sql)
        broken = aios(home, "audit", "verify", check=False,
                      AIOS_DATABASE_URL=f"sqlite:///{copy}")
        assert broken.returncode == 1, (how, broken.stdout, broken.stderr)
        assert f"broken at {link}" in broken.stdout, (how, broken.stdout)
