"""The `aios` command end to end, as a user runs it (real subprocesses, real store)."""

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

HERE = Path(__file__).parent
AIOS = [sys.executable, "-m", "aios.cli"]

SEQUENCE = """\
name: e2e
env:
  MARKER: {marker}
agents:
  e2e:
    description: end-to-end helpers
    actions:
      note: {{handler: "e2e_handlers:note"}}
      mutate: {{handler: "e2e_handlers:mutate", mutates: true, criticality: low}}
      slow: {{handler: "e2e_handlers:slow", timeout: null}}
sequences:
  boot:
    steps:
      - {{id: first, action: e2e.note}}
      - {{id: change, action: e2e.mutate}}
      - {{id: second, action: e2e.note}}
      - {{id: wait, action: e2e.slow}}
      - {{id: last, action: e2e.note}}
"""


def aios(*args: str, home: Path, check: bool = False,
         **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIOS_HOME": str(home), "PYTHONPATH": str(HERE)}
    env.pop("AIOS_DATABASE_URL", None)
    proc = subprocess.run([*AIOS, *args], capture_output=True, text=True, env=env, timeout=120,
                          **kw)  # type: ignore[call-overload]
    if check and proc.returncode != 0:
        raise AssertionError(f"aios {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def wait_for_step(db: Path, step: str) -> str:
    """Poll the SQLite store until `step` is running; return its run id."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    row = conn.execute("select run_id from step_events where step_id=? "
                                       "and status='running'", (step,)).fetchone()
            except sqlite3.OperationalError:  # tables not migrated yet
                row = None
            if row:
                return str(row[0])
        time.sleep(0.05)
    raise AssertionError(f"the run never reached step {step!r}")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_forensic_boot_prints_json_and_skips_every_mutating_action(home: Path) -> None:
    proc = aios("boot", "--forensic", "--json", home=home)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "succeeded"
    from aios.app import load_manifest

    manifest = load_manifest()
    by_action = {s["action"]: s for s in data["steps"]}
    mutating = [a for a in by_action if manifest.action(a).mutates]
    assert mutating
    for action in mutating:
        assert by_action[action]["status"] == "skipped"
        assert "forensic" in by_action[action]["error"]
    assert any(s["status"] == "succeeded" for s in data["steps"])
    assert "orchestration.summarize" in by_action


def test_env_value_without_equals_is_a_usage_error(home: Path) -> None:
    proc = aios("boot", "--env", "NOEQUALS", home=home)
    assert proc.returncode == 2
    assert "--env 'NOEQUALS' is not KEY=VALUE" in proc.stderr
    assert not (home / "aios.db").exists(), "nothing may be written on bad input"


def test_invalid_manifest_fails_with_file_and_line_and_runs_nothing(home: Path,
                                                                    tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("agents:\n  k:\n    actions:\n      a: {handler: 'x:y', colour: red}\n")
    proc = aios("boot", "--manifest", str(bad), home=home)
    assert proc.returncode == 2
    assert f"{bad}:4" in proc.stderr and "unknown field 'colour'" in proc.stderr
    assert not (home / "aios.db").exists()
    proc = aios("manifest", "validate", str(bad), "--json", home=home)
    assert proc.returncode == 2
    issues = json.loads(proc.stdout)["issues"]
    assert {i["line"] for i in issues} == {4}


def test_manifest_validate_and_schema(home: Path) -> None:
    proc = aios("manifest", "validate", home=home, check=True)
    assert "valid" in proc.stdout and "storage.clean_old_files" in proc.stdout
    schema = json.loads(aios("manifest", "schema", home=home, check=True).stdout)
    assert "agents" in schema["properties"]


def test_unknown_run_id_is_a_usage_error(home: Path) -> None:
    proc = aios("runs", "show", "doesnotexist", home=home)
    assert proc.returncode == 2
    assert "no run with id 'doesnotexist'" in proc.stderr


def test_unreachable_database_url_is_a_usage_error(home: Path) -> None:
    env = {**os.environ, "AIOS_HOME": str(home),
           "AIOS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing"}
    proc = subprocess.run([*AIOS, "runs"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert "AIOS_DATABASE_URL" in proc.stderr


def test_exec_of_a_gated_action_waits_for_approval_then_runs_once(home: Path,
                                                                   tmp_path: Path) -> None:
    old = tmp_path / "junk"
    old.mkdir()
    (old / "a.log").write_text("x")
    os.utime(old / "a.log", (time.time() - 30 * 86400,) * 2)
    proc = aios("exec", "storage.clean_old_files", "--arg", f"directory={old}",
                "--arg", "older_than_days=7", "--json", home=home)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "waiting", "a high-criticality mutation waits for a human"
    assert data["steps"][0]["status"] == "waiting"
    assert (old / "a.log").exists()

    aios("users", "add", "alice", "--role", "approver", home=home, check=True)
    token = aios("users", "token", "alice", "--expires", "1h", home=home,
                 check=True).stdout.strip()
    pending = json.loads(aios("approvals", "list", "--json", home=home, check=True).stdout)
    (request,) = pending if isinstance(pending, list) else pending["requests"]
    aios("approvals", "approve", request["id"], "--token", token, home=home, check=True)
    resumed = aios("runs", "resume", data["run_id"], "--json", home=home)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "succeeded"
    assert not (old / "a.log").exists()

    again = aios("runs", "resume", data["run_id"], "--json", home=home)
    assert json.loads(again.stdout)["status"] == "succeeded"


def test_exec_argument_errors_are_usage_errors(home: Path) -> None:
    bad = aios("exec", "storage.clean_old_files", "--args", "{not json", home=home)
    assert bad.returncode == 2 and "--args is not valid JSON" in bad.stderr
    unknown = aios("exec", "kernel.nope", home=home)
    assert unknown.returncode == 2 and "no action 'kernel.nope'" in unknown.stderr


def test_sigkill_mid_boot_keeps_what_finished_and_resume_never_repeats_a_mutation(
        home: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    manifest = tmp_path / "m.yaml"
    manifest.write_text(SEQUENCE.format(marker=marker))
    env = {**os.environ, "AIOS_HOME": str(home), "PYTHONPATH": str(HERE)}
    env.pop("AIOS_DATABASE_URL", None)
    proc = subprocess.Popen([*AIOS, "boot", "--manifest", str(manifest), "--json"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run_id = wait_for_step(home / "aios.db", "wait")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    shown = json.loads(aios("runs", "show", run_id, "--json", home=home, check=True).stdout)
    assert shown["status"] == "interrupted"
    states = {s["step"]: s["status"] for s in shown["steps"]}
    assert states == {"first": "succeeded", "change": "succeeded", "second": "succeeded",
                      "wait": "running"}
    assert marker.read_text().count("\n") == 1

    resumed = aios("runs", "resume", run_id[:10], "--env", "SLOW_SECONDS=0", "--json",
                   home=home)
    assert resumed.returncode == 0, resumed.stderr
    final = json.loads(resumed.stdout)
    assert final["status"] == "succeeded"
    assert [s["status"] for s in final["steps"]] == ["succeeded"] * 5
    assert marker.read_text().count("\n") == 1, "the mutating step ran twice"


def test_ctrl_c_stops_the_run_cleanly_and_records_it(home: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(SEQUENCE.format(marker=tmp_path / "marker.txt"))
    env = {**os.environ, "AIOS_HOME": str(home), "PYTHONPATH": str(HERE)}
    env.pop("AIOS_DATABASE_URL", None)
    proc = subprocess.Popen([*AIOS, "boot", "--manifest", str(manifest), "--json"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    run_id = wait_for_step(home / "aios.db", "wait")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    shown = json.loads(aios("runs", "show", run_id, "--json", home=home, check=True).stdout)
    assert shown["status"] == "cancelled"
    states = {s["step"]: s["status"] for s in shown["steps"]}
    assert states["wait"] == "cancelled" and states["last"] == "cancelled"
    assert states["first"] == "succeeded"


def test_a_bad_environment_setting_names_the_variable(home: Path) -> None:
    env = {**os.environ, "AIOS_HOME": str(home), "AIOS_MAX_CONCURRENCY": "many"}
    proc = subprocess.run([*AIOS, "runs"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert "AIOS_MAX_CONCURRENCY" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(("name", "value", "hint"), [
    ("AIOS_DURABLE_STEPS", "maybe", "use 1 or 0"),
    ("AIOS_MAX_CONCURRENCY", "many", "use a whole number"),
    ("AIOS_RUN_HEARTBEAT_SECONDS", "abc", "use a number"),
])
def test_a_bad_environment_setting_says_what_values_it_takes(home: Path, name: str, value: str,
                                                               hint: str) -> None:
    env = {**os.environ, "AIOS_HOME": str(home), name: value}
    proc = subprocess.run([*AIOS, "runs"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert f"{name}: " in proc.stderr and f"'{value}'" in proc.stderr and hint in proc.stderr
