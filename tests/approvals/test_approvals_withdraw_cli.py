"""Ctrl-C on `aios run` while a step waits for approval: the run is recorded cancelled and its
request withdrawn, in the name of the user who ran it, before the process exits."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aios.approvals import ApprovalService, default_requester
from aios.store import RunStore, Store

HERE = Path(__file__).parent

MANIFEST = """\
version: 1
name: ctrl-c
env: {{MARKER: "{marker}"}}
agents:
  ops:
    actions:
      check: {{handler: "run_driver:check"}}
      deploy:
        handler: "run_driver:append"
        criticality: high
        mutates: true
        params: {{line: deployed}}
sequences:
  release:
    steps:
      - {{action: ops.check}}
      - {{action: ops.deploy}}
approvals:
  wait_seconds: 300
"""


def _stored_request(db: Path) -> bool:
    if not db.exists():
        return False
    with sqlite3.connect(db) as conn:
        try:
            return bool(conn.execute("SELECT count(*) FROM approval_requests").fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            return False


@pytest.mark.slow
def test_ctrl_c_while_a_step_waits_withdraws_its_request(tmp_path: Path) -> None:
    home = tmp_path / "home"
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(MANIFEST.format(marker=tmp_path / "marker.txt"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    env.update(AIOS_HOME=str(home), PYTHONPATH=os.pathsep.join(
        [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.Popen([sys.executable, "-m", "aios.cli", "run", "release", "--manifest",
                             str(manifest)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while not _stored_request(home / "aios.db"):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no approval request was stored"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "the run is recorded as cancelled" in err

    async def stored() -> None:
        store = await Store.open(f"sqlite+aiosqlite:///{home / 'aios.db'}")
        try:
            service = ApprovalService(store)
            (req,) = await service.queue(statuses=None)
            assert req.status == "withdrawn"
            assert (await RunStore(store).get_run(req.run_id)).status == "cancelled"
            trail = [r async for r in service.audit.records(request_id=req.id)]
            assert [(r.kind, r.actor) for r in trail] == [
                ("request.created", default_requester()),
                ("request.withdrawn", default_requester())]
            assert await service.queue() == []
        finally:
            await store.close()

    asyncio.run(stored())
    assert not (tmp_path / "marker.txt").exists()
