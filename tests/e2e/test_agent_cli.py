"""`aios agent run` end to end: a scripted OpenAI-format model, real subprocesses, real store.

The issue's "done when": a read-only tool runs; a high-criticality mutating tool stops the
run `waiting`; after an approval with a token and `aios runs resume`, it runs exactly once
(the side-effect counter file) and the model's final answer comes back.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.support.agent_cli import aios, call, lines, rows, spawn
from tests.support.scripted_llm import Reply, ScriptedLLMServer

MANIFEST = """\
name: agent-e2e
env:
  COUNTER: {counter}
models:
  scripted:
    provider: openai
    model: scripted
    base_url: "{url}/v1"
    api_key_env: SCRIPTED_KEY
    capabilities: {{tools: true}}
    prices: {{input: 0, output: 0}}
agents:
  ops:
    description: keeps disks healthy
    model: scripted
    instructions: You keep every disk below 80% full.
    max_turns: 6
    actions:
      disk_usage:
        handler: "agent_handlers:disk_usage"
        description: How full a path's disk is.
        inputs: {{type: object, properties: {{path: {{type: string}}}}, required: [path]}}
      cleanup:
        handler: "agent_handlers:cleanup"
        description: Delete temporary files under a path.
        mutates: true
        criticality: high
        inputs: {{type: object, properties: {{path: {{type: string}}}}, required: [path]}}
"""


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as srv:
        yield srv


@pytest.fixture
def setup(tmp_path: Path, server: ScriptedLLMServer) -> dict[str, Path]:
    counter = tmp_path / "counter.txt"
    manifest = tmp_path / "agent.yaml"
    manifest.write_text(MANIFEST.format(counter=counter, url=server.url))
    return {"home": tmp_path / "home", "manifest": manifest, "counter": counter}


def approve(home: Path, request_id: str) -> None:
    aios("users", "add", "alice", "--role", "approver", home=home)
    token = aios("users", "token", "alice", "--expires", "1h", home=home).stdout.strip()
    aios("approvals", "approve", request_id, "--token", token, home=home)


def test_agent_run_waits_on_a_gated_tool_then_resume_runs_it_once(
        setup: dict[str, Path], server: ScriptedLLMServer) -> None:
    home, manifest, counter = setup["home"], setup["manifest"], setup["counter"]
    server.script(
        Reply.ok("", tool_calls=[call("ops__disk_usage", {"path": "/var"}, "c1")]),
        Reply.ok("", tool_calls=[call("ops__cleanup", {"path": "/var/tmp"}, "c2")]),
        Reply.ok("Freed 120 MB under /var/tmp."))

    first = aios("agent", "run", "ops", "free space on /var", "-m", str(manifest), home=home)
    assert "waiting" in first.stdout and "ops.disk_usage: succeeded" in first.stdout
    assert lines(counter) == []  # the gated call did not run
    assert len(server.requests) == 2
    tools = {t["function"]["name"] for t in server.requests[0]["tools"]}
    assert tools == {"ops__disk_usage", "ops__cleanup"}
    # The read-only tool's result went back to the model.
    sent = server.requests[1]["messages"]
    assert sent[-1]["role"] == "tool" and '"used_pct": 91' in sent[-1]["content"]

    shown = json.loads(aios("runs", "show", "--json", first.stdout.split("run ")[1].split()[0],
                            home=home).stdout)
    run_id = shown["run_id"]
    assert shown["kind"] == "agent" and shown["status"] == "waiting"
    queue = json.loads(aios("approvals", "list", "--json", home=home).stdout)
    assert [r["action"] for r in queue] == ["ops.cleanup"]
    assert queue[0]["id"] in first.stdout  # the request ids are printed

    approve(home, queue[0]["id"])
    resumed = json.loads(aios("runs", "resume", run_id, "--json", home=home).stdout)
    assert resumed["status"] == "succeeded"
    assert resumed["agent"]["end_reason"] == "final_answer"
    assert resumed["agent"]["answer"] == "Freed 120 MB under /var/tmp."
    assert len(lines(counter)) == 1 and lines(counter)[0].endswith("/var/tmp")
    last = server.requests[2]["messages"]
    assert last[-1]["role"] == "tool" and '"freed_mb": 120' in last[-1]["content"]

    again = json.loads(aios("runs", "resume", run_id, "--json", home=home).stdout)
    assert again["status"] == "succeeded" and again["agent"]["answer"].startswith("Freed")
    assert len(lines(counter)) == 1 and len(server.requests) == 3


def test_a_rejected_call_returns_the_reason_to_the_model(
        setup: dict[str, Path], server: ScriptedLLMServer) -> None:
    home, manifest, counter = setup["home"], setup["manifest"], setup["counter"]
    server.script(
        Reply.ok("", tool_calls=[call("ops__cleanup", {"path": "/"}, "c1")]),
        Reply.ok("Understood, I will not clean /."))
    first = json.loads(aios("agent", "run", "ops", "clean up", "-m", str(manifest), "--json",
                            home=home).stdout)
    assert first["status"] == "waiting" and len(first["requests"]) == 1
    aios("users", "add", "bob", "--role", "approver", home=home)
    token = aios("users", "token", "bob", "--expires", "1h", home=home).stdout.strip()
    aios("approvals", "reject", first["requests"][0], "--reason", "never wipe the root",
         "--token", token, home=home)
    resumed = json.loads(aios("runs", "resume", first["run_id"], "--json", home=home).stdout)
    assert resumed["status"] == "succeeded" and lines(counter) == []
    result = server.requests[1]["messages"][-1]
    assert result["role"] == "tool" and "rejected" in result["content"]
    assert "never wipe the root" in result["content"]
    tool_entry = [e for e in resumed["agent"]["conversation"] if e["kind"] == "tool"]
    assert tool_entry[0]["status"] == "rejected"


def test_a_model_without_tools_is_refused_before_any_run(setup: dict[str, Path]) -> None:
    home, manifest = setup["home"], setup["manifest"]
    text = manifest.read_text().replace("capabilities: {tools: true}",
                                        "capabilities: {tools: false}")
    manifest.write_text(text)
    proc = aios("agent", "run", "ops", "anything", "-m", str(manifest), home=home, code=2)
    assert "does not support tools" in proc.stderr and "agents.ops.model" in proc.stderr
    assert json.loads(aios("runs", "--json", home=home).stdout) == []


def poll(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"never saw {what}")


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


FLAG = "guardrails: {agents: {ops: {injection: flag}}}\n"


@pytest.mark.slow
def test_sigkill_during_a_tool_call_never_repeats_its_side_effect(
        setup: dict[str, Path], server: ScriptedLLMServer, tmp_path: Path) -> None:
    home, manifest, counter = setup["home"], setup["manifest"], setup["counter"]
    # Low criticality: the cleanup runs at once (no approval), then hangs after its effect.
    # The refusal that comes back names the duplicate; the classifier would block it as an
    # injection (see the loop tests), so this agent's tool output is flagged, not blocked.
    manifest.write_text(manifest.read_text().replace("criticality: high", "criticality: low")
                        + FLAG)
    for attempt in range(2):  # a bounded number of repeats, each a fresh run
        started = tmp_path / f"started-{attempt}"
        server.script(Reply.ok("", tool_calls=[call("ops__cleanup", {"path": "/tmp"}, "c1")]),
                      Reply.ok("The cleanup may have run; please check."))
        proc = spawn("agent", "run", "ops", "clean /tmp", "-m", str(manifest), "--env",
                     f"STARTED={started}", "--env", "CLEANUP_SECONDS=60", home=home)
        poll(started.exists, "the cleanup start")
        kill(proc)
        run_id = started.read_text()
        assert len(lines(counter)) == attempt + 1
        resumed = json.loads(aios("runs", "resume", run_id, "--json", home=home).stdout)
        assert len(lines(counter)) == attempt + 1  # 0 double executions
        assert resumed["status"] == "succeeded"
        result = next(e for e in resumed["agent"]["conversation"] if e["kind"] == "tool")
        assert result["status"] == "failed" and "DuplicateExecution" in result["content"]


@pytest.mark.slow
def test_sigkill_during_the_approval_wait_loses_no_decision_and_runs_once(
        setup: dict[str, Path], server: ScriptedLLMServer) -> None:
    home, manifest, counter = setup["home"], setup["manifest"], setup["counter"]
    manifest.write_text(manifest.read_text() + "approvals: {wait_seconds: 120}\n")
    db = home / "aios.db"
    server.script(Reply.ok("", tool_calls=[call("ops__cleanup", {"path": "/srv"}, "c1")]),
                  Reply.ok("Cleaned /srv."))
    proc = spawn("agent", "run", "ops", "clean /srv", "-m", str(manifest), home=home)
    for attempt in range(2):  # killed while it waits in-process, twice
        poll(lambda: bool(rows(db, "select id from approval_requests where status='pending'")),
             "the approval request")
        pid = proc.pid  # the resumed run is this process's once it reopened the run
        poll(lambda pid=pid: rows(db, "select pid, status from runs") == [(pid, "running")],  # type: ignore[misc]
             "the run held by the waiting process")
        time.sleep(1.0)  # past the request look-up, into the wait
        kill(proc)
        run_id = str(rows(db, "select id from runs")[0][0])
        if attempt == 0:
            proc = spawn("runs", "resume", run_id, home=home)
    requests = rows(db, "select id from approval_requests")
    assert len(requests) == 1 and lines(counter) == []  # the same request, nothing ran
    approve(home, str(requests[0][0]))
    resumed = json.loads(aios("runs", "resume", run_id, "--json", home=home).stdout)
    assert resumed["status"] == "succeeded" and resumed["agent"]["answer"] == "Cleaned /srv."
    assert len(lines(counter)) == 1
    assert len(rows(db, "select id from approval_requests")) == 1


@pytest.mark.slow
def test_sigkill_during_a_model_call_asks_the_model_again_on_resume(
        setup: dict[str, Path], server: ScriptedLLMServer) -> None:
    home, manifest, counter = setup["home"], setup["manifest"], setup["counter"]
    db = home / "aios.db"
    server.script(Reply.ok("", tool_calls=[call("ops__disk_usage", {"path": "/var"}, "c1")]),
                  Reply.hang(60))
    proc = spawn("agent", "run", "ops", "how full is /var?", "-m", str(manifest), home=home)
    poll(lambda: len(server.requests) == 2, "the second model call")
    # A turn is committed within the writer's flush cycle (milliseconds) unless a lasting
    # effect forces it sooner; a kill inside that cycle may lose the read-only call's result,
    # which tests/e2e/test_agent_commit_window.py covers. Here the kill comes while the model
    # call hangs, after the cycle.
    poll(lambda: rows(db, "select count(*) from agent_turns where kind='tool'") == [(1,)],
         "the tool result committed")
    kill(proc)
    run_id = str(rows(db, "select id from runs")[0][0])
    server.script(Reply.ok("/var is 91% full."))
    resumed = json.loads(aios("runs", "resume", run_id, "--json", home=home).stdout)
    assert resumed["status"] == "succeeded" and resumed["agent"]["answer"] == "/var is 91% full."
    assert len(server.requests) == 3  # the call in flight was issued again, once
    again = server.requests[2]["messages"]
    assert again[-1]["role"] == "tool" and '"used_pct": 91' in again[-1]["content"]
    assert [e["kind"] for e in resumed["agent"]["conversation"]].count("model") == 2
    assert lines(counter) == []


@pytest.mark.slow
def test_two_processes_resuming_one_agent_run_at_once_one_gets_a_clear_error(
        setup: dict[str, Path], server: ScriptedLLMServer, tmp_path: Path) -> None:
    home, manifest, counter = setup["home"], setup["manifest"], setup["counter"]
    db = home / "aios.db"
    server.script(Reply.ok("", tool_calls=[call("ops__cleanup", {"path": "/srv"}, "c1")]),
                  Reply.ok("Cleaned /srv."))
    first = json.loads(aios("agent", "run", "ops", "clean /srv", "-m", str(manifest), "--json",
                            home=home).stdout)
    assert first["status"] == "waiting"
    approve(home, first["requests"][0])
    started, release = tmp_path / "started", tmp_path / "release"
    # The first resume claims the run and holds it inside the approved call ...
    holder = spawn("runs", "resume", first["run_id"], "--json", "--env", f"STARTED={started}",
                   "--env", f"RELEASE={release}", home=home)
    poll(started.exists, "the approved call running in the first resume")
    # ... while a second one is refused before it writes anything.
    before = rows(db, "select seq, kind from agent_turns order by seq")
    second = aios("runs", "resume", first["run_id"], "--json", home=home, code=2)
    assert f"is being executed by process {holder.pid} on this host" in second.stderr
    assert "nothing was written" in second.stderr and "resume it again" in second.stderr
    assert rows(db, "select seq, kind from agent_turns order by seq") == before
    release.touch()
    out, err = holder.communicate(timeout=120)
    assert holder.returncode == 0, err
    resumed = json.loads(out)
    assert resumed["status"] == "succeeded" and resumed["agent"]["answer"] == "Cleaned /srv."
    assert len(lines(counter)) == 1  # the approved call ran once
    seqs = [r[0] for r in rows(db, "select seq from agent_turns order by seq")]
    assert seqs == list(range(len(seqs)))  # one conversation, no entry written twice
    assert len(server.requests) == 2


@pytest.mark.slow
def test_ctrl_c_mid_turn_cancels_the_agent_run_and_withdraws_its_requests(
        setup: dict[str, Path], server: ScriptedLLMServer) -> None:
    home, manifest = setup["home"], setup["manifest"]
    manifest.write_text(manifest.read_text() + "approvals: {wait_seconds: 120}\n")
    db = home / "aios.db"
    server.script(Reply.ok("", tool_calls=[call("ops__cleanup", {"path": "/srv"}, "c1")]))
    proc = spawn("agent", "run", "ops", "clean /srv", "-m", str(manifest), home=home)
    poll(lambda: bool(rows(db, "select id from approval_requests where status='pending'")),
         "the approval request")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    assert rows(db, "select status from runs") == [("cancelled",)]
    assert rows(db, "select status from approval_requests") == [("withdrawn",)]
    kinds = rows(db, "select kind, data from agent_turns order by seq")
    assert kinds[-1][0] == "end" and json.loads(str(kinds[-1][1]))["reason"] == "cancelled"
