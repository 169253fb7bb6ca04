"""No secret or e-mail address from an action's arguments reaches the store or the traces.

Runs through the `aios` command in-process, as a user would: `aios exec` (succeeding, failing
validation, failing in the handler, waiting for approval), a sequence whose gated step waits,
approval and `aios runs resume` (the handler must receive the real values). Then every table of
the SQLite store, `aios runs show --json` and `aios traces show --json` are searched for the
secrets' text.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from aios.cli.main import app

GITHUB = "ghp_R7sKq2ZxW9mNv4LpT8cYb3HdJ6fGa1Ue5Qo0"
AWS = "AKIAZ3MHQL7VXK2RTP4N"
EMAIL = "dana.lee@example.org"
SECRETS = (GITHUB, AWS, EMAIL)
ARGS = {"note": f"deploy with {GITHUB} for {AWS}", "contact": EMAIL, "region": "eu-west-1"}

MANIFEST = """\
name: masked-records
env:
  RECORD: {record}
agents:
  keys:
    actions:
      check:
        handler: "masked_handlers:check"
        inputs: {{type: object, properties: {{count: {{type: integer}}}}}}
      fail: {{handler: "masked_handlers:fail"}}
      rotate: {{handler: "masked_handlers:rotate", mutates: true, criticality: high}}
sequences:
  rotate:
    steps:
      - {{id: look, action: keys.check, with: {args}}}
      - {{id: broken, action: keys.fail, critical: false, with: {args}}}
      - {{id: change, action: keys.rotate, with: {args}, depends_on: [look]}}
"""

runner = CliRunner()


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    record = tmp_path / "received.jsonl"
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(MANIFEST.format(record=record, args=json.dumps(ARGS)))
    monkeypatch.setenv("AIOS_ARGS_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("AIOS_MANIFEST", str(manifest))
    return {"record": record, "home": tmp_path / "home"}


def cli(*args: str, code: int = 0, **env: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", **env})
    assert result.exit_code == code, (args, result.output, result.exception)
    return result.stdout


def cli_json(*args: str, code: int = 0, **env: str) -> Any:
    return json.loads(cli(*args, "--json", code=code, **env))


def received(record: Path, action: str) -> list[dict[str, Any]]:
    lines = record.read_text().splitlines() if record.exists() else []
    return [json.loads(line)["args"] for line in lines if json.loads(line)["action"] == action]


def store_dump(home: Path) -> str:
    """Every row of every table of the SQLite store, as text."""
    (db,) = home.glob("*.db")
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute(
            "select name from sqlite_master where type = 'table'")]
        assert {"runs", "step_events", "idempotency", "approval_requests", "audit_log",
                "spans"} <= set(tables)
        return "\n".join(f"{table}: {row!r}" for table in tables
                         for row in conn.execute(f'select * from "{table}"'))


def test_no_secret_from_the_arguments_reaches_the_store_or_the_traces(
        setup: dict[str, Any]) -> None:
    record: Path = setup["record"]
    runs: list[str] = []

    done = cli_json("exec", "keys.check", "--args", json.dumps(ARGS))
    assert done["status"] == "succeeded"
    runs.append(done["run_id"])
    invalid = cli_json("exec", "keys.check", "--arg", f"count={AWS}", code=1)
    assert invalid["status"] == "failed"
    runs.append(invalid["run_id"])
    failed = cli_json("exec", "keys.fail", "--args", json.dumps(ARGS), code=1)
    assert failed["status"] == "failed"
    runs.append(failed["run_id"])
    waiting = cli_json("exec", "keys.rotate", "--args", json.dumps(ARGS))
    assert waiting["status"] == "waiting"
    sequence = cli_json("run", "rotate")
    assert sequence["status"] == "waiting"
    runs += [waiting["run_id"], sequence["run_id"]]

    cli("users", "add", "alice", "--role", "approver")
    token = cli("users", "token", "alice", "--expires", "1h").strip()
    queue = cli_json("approvals", "list")
    assert len(queue) == 2 and all(r["masked"] for r in queue)
    for request in queue:
        cli("approvals", "approve", request["id"], "--token", token)
    # Without the key, or with another one, resume refuses (exit 2), naming the setting.
    for key in ("", Fernet.generate_key().decode()):
        refused = runner.invoke(app, ["runs", "resume", waiting["run_id"]],
                                env={"COLUMNS": "200", "AIOS_ARGS_KEY": key})
        assert refused.exit_code == 2 and "AIOS_ARGS_KEY" in refused.output, refused.output
    for run_id in (waiting["run_id"], sequence["run_id"]):
        assert cli_json("runs", "resume", run_id)["status"] == "succeeded"
    # The handler got the real values on resume, in the exec'd run and in the sequence.
    assert received(record, "keys.rotate") == [ARGS, ARGS]
    assert received(record, "keys.check")[0] == ARGS

    shown = [cli("runs", "show", run_id, "--json") for run_id in runs]
    traces = [cli("traces", "show", run_id, "--json") for run_id in runs]
    dump = store_dump(setup["home"])
    assert "keys.rotate" in dump and "<SECRET>" in dump  # the dump holds the runs, masked
    for secret in SECRETS:
        for where, text in (("store", dump), ("runs show", "\n".join(shown)),
                            ("traces show", "\n".join(traces))):
            assert secret not in text, f"{secret!r} found in the {where}: " + text[
                max(0, text.find(secret) - 300):text.find(secret) + 100]
