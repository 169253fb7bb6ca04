"""Issue 23 item 11: 80 columns and pipes: nothing cut, split or repeated."""

from __future__ import annotations

from rich.console import Console
from typer.testing import CliRunner

from aios.cli.common import Options
from aios.cli.main import app
from aios.cli.render import _plain, render_run
from aios.cli.run import _finish
from aios.runtime.engine import RunResult, StepOutcome
from aios.store.runs import RunRecord, StepRecord, utcnow


def test_highlights_do_not_repeat_their_key() -> None:
    text = _plain({"application.containers": {"containers": 0},
                   "kernel.processes": {"processes": 157, "zombies": 0}})
    assert "containers containers" not in text and "containers=0" in text
    assert "processes processes" not in text


def test_models_at_80_columns_cut_and_split_nothing() -> None:
    result = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    assert "SmolLM2-135M-Instruct" in result.stdout and "…" not in result.stdout
    assert all(len(line) <= 80 for line in result.stdout.splitlines())


def test_runs_show_at_80_columns_keeps_names_and_results_whole(capsys: object) -> None:
    long_result = {"mounts": [{"mountpoint": f"/data/volume{i}", "percent": 40 + i}
                              for i in range(4)]}
    record = RunRecord(
        id="a" * 32, kind="sequence", target="boot", status="succeeded", forensic=False,
        manifest_name="m", manifest_path=None, manifest_digest="", options={}, error=None,
        pid=None, host=None, created_at=utcnow(), finished_at=utcnow(),
        steps=[StepRecord(step_id="application.containers", action="application.containers",
                          status="succeeded", attempt=1, at=utcnow(), duration_ms=12.5,
                          result=long_result, error=None)])
    out = Console(width=80, record=True, force_terminal=False)
    render_run(out, record)
    text = out.export_text()
    assert "application.containers" in text  # the step name on one line, not split
    assert "/data/volume3" in text  # the result whole, not squeezed into a narrow column
    assert all(len(line) <= 80 for line in text.splitlines())


def test_a_waiting_boot_prints_the_request_id_whole(capsys: object) -> None:
    request = "9da03cd28292a1b2c3d4e5f6a7b8c9d0"
    result = RunResult("r" * 32, "boot", "waiting", {"clean": StepOutcome(
        "clean", "storage.clean_old_files", "waiting",
        error=f"storage.clean_old_files waits for approval: request {request} needs 1 "
              "approver of group ops; approve with `aios approvals approve "
              f"{request[:12]}`")})
    _finish(Options(), result, report=False)
    printed = capsys.readouterr().out  # type: ignore[attr-defined]
    assert request in printed.replace("\n", "")
    assert request in printed  # on one line, never cut at the terminal's width
