"""Issue 23 item 10: `list` subcommands, global options anywhere, `scan` of a missing file,
one set of exit codes (a waiting run, bare groups, resuming a finished run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aios.cli import exitcodes
from aios.cli.main import app, hoist_global_options

runner = CliRunner()


def test_runs_list_and_traces_list_are_commands() -> None:
    for group in ("runs", "traces"):
        result = runner.invoke(app, [group, "list", "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == []


@pytest.mark.parametrize("args", [
    ["traces", "show", "nosuchrun", "--forensic"],
    ["runs", "show", "nosuchrun", "--env", "A=1"],
    ["metrics", "--forensic", "--json"],
    ["approvals", "list", "--manifest", "nowhere.yaml", "--json"],
])
def test_global_options_are_accepted_after_any_command(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert "No such option" not in result.output, result.output


def test_hoisting_moves_only_global_options_and_their_values() -> None:
    assert hoist_global_options(["traces", "show", "X", "--env", "A=1", "--forensic"]) == [
        "--env", "A=1", "--forensic", "traces", "show", "X"]
    assert hoist_global_options(["ask", "--", "--json"]) == ["ask", "--", "--json"]
    assert hoist_global_options(["runs", "--manifest=m.yaml"]) == ["--manifest=m.yaml", "runs"]


def test_scan_of_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "notes.txt"
    result = runner.invoke(app, ["scan", str(missing)])
    assert result.exit_code == exitcodes.USAGE
    assert "does not exist" in result.output and "--text" in result.output
    literal = runner.invoke(app, ["scan", "--text", "mail me at ops@example.com", "--json"])
    assert literal.exit_code == 0
    assert any(f["type"] == "EMAIL_ADDRESS" for f in json.loads(literal.stdout)["findings"])


@pytest.mark.parametrize("group", ["approvals", "audit", "users", "manifest", "deploy"])
def test_a_bare_command_group_shows_its_help_and_exits_0(group: str) -> None:
    result = runner.invoke(app, [group])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_exit_codes_of_run_states() -> None:
    assert exitcodes.for_run("succeeded") == exitcodes.for_run("waiting") == exitcodes.OK
    assert exitcodes.for_run("failed") == exitcodes.for_run("cancelled") == exitcodes.FAILED


def test_a_waiting_run_exits_0_from_boot_exec_and_prompt_alike(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text("""
name: waits
agents:
  ops:
    description: a gated change
    actions:
      purge: {handler: "storage.clean_old_files", mutates: true, criticality: high,
              description: "purge old files"}
sequences:
  boot: {steps: [{action: ops.purge}]}
""")
    boot = runner.invoke(app, ["boot", "--manifest", str(manifest), "--json"])
    assert json.loads(boot.stdout)["status"] == "waiting", boot.output
    assert boot.exit_code == exitcodes.OK
    exec_ = runner.invoke(app, ["exec", "ops.purge", "--manifest", str(manifest), "--json"])
    assert json.loads(exec_.stdout)["status"] == "waiting" and exec_.exit_code == exitcodes.OK
    prompt = runner.invoke(app, ["prompt", "purge old files", "--manifest", str(manifest),
                                 "--json"])
    assert prompt.exit_code == exitcodes.OK, prompt.output


def test_resuming_a_finished_run_says_so(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text("""
name: quick
agents:
  k:
    description: a probe
    actions:
      up: {handler: "kernel.resources"}
sequences: {}
""")
    done = runner.invoke(app, ["exec", "k.up", "--manifest", str(manifest), "--json"])
    run_id = json.loads(done.stdout)["run_id"]
    again = runner.invoke(app, ["runs", "resume", run_id, "--manifest", str(manifest)])
    assert again.exit_code == 0, again.output
    assert "already finished" in again.output and "nothing to resume" in again.output
