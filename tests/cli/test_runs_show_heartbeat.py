"""`aios runs show` says which process executes a run and when it last beat (text and JSON)."""

from __future__ import annotations

import asyncio
import json
import os
import socket

from typer.testing import CliRunner

from aios.cli.main import app
from aios.settings import Settings
from aios.store import RunStore
from aios.store.open import open_store

runner = CliRunner()


async def _record(run_id: str, *, finish: bool) -> None:
    async with open_store(Settings()) as store:
        runs = RunStore(store)
        await runs.create_run(run_id, kind="sequence", target="boot", forensic=False,
                              manifest_name="m", manifest_path=None, manifest_digest="d",
                              options={})
        if finish:
            await runs.finish_run(run_id, "succeeded")
        await runs.writer.close()


def test_a_running_run_shows_its_executor_and_last_heartbeat() -> None:
    asyncio.run(_record("beating0001", finish=False))
    shown = runner.invoke(app, ["runs", "show", "beating0001", "--json"])
    assert shown.exit_code == 0, shown.output
    beat = json.loads(shown.stdout)["heartbeat"]
    assert beat["host"] == socket.gethostname() and beat["pid"] == os.getpid()
    assert beat["at"] is not None  # written when the run was created
    text = runner.invoke(app, ["runs", "show", "beating0001"], env={"COLUMNS": "200"})
    assert text.exit_code == 0, text.output
    assert f"process {os.getpid()} on {socket.gethostname()}" in text.output
    assert "last heartbeat" in text.output and "s ago" in text.output


def test_a_finished_run_shows_no_heartbeat() -> None:
    asyncio.run(_record("finished0001", finish=True))
    shown = json.loads(runner.invoke(app, ["runs", "show", "finished0001", "--json"]).stdout)
    assert shown["heartbeat"]["at"] is None
    text = runner.invoke(app, ["runs", "show", "finished0001"], env={"COLUMNS": "200"})
    assert "no heartbeat (not executing)" in text.output
