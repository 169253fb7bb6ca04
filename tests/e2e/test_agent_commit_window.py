"""SIGKILL in the agent loop's commit window: between a model turn and its first lasting effect.

The loop does not commit a model turn on its own: the turn is committed by the first thing
of its calls that outlives the process (a mutating call's idempotency claim, the filing of an
approval request) or within the writer's flush cycle. These tests kill the process at known
points of that window (a handler SIGKILLs its own process) and check the guarantees: a
read-only call may run again (counted, never hidden), a mutating call never does, and an
approval request is never filed for a call the recorded conversation does not hold.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.agent_cli import AIOS, aios, call, env, lines
from tests.support.scripted_llm import Reply, ScriptedLLMServer

MANIFEST = """\
name: agent-window
env:
  COUNTER: {counter}
  PROBES: {probes}
  KILL_ONCE: {marker}
models:
  scripted:
    provider: openai
    model: scripted
    base_url: "{url}/v1"
    api_key_env: SCRIPTED_KEY
    capabilities: {{tools: true}}
    prices: {{input: 0, output: 0}}
guardrails: {{agents: {{ops: {{injection: flag}}}}}}
agents:
  ops:
    model: scripted
    max_turns: 6
    actions:
      probe:
        handler: "agent_handlers:probe"
        description: How full a path's disk is.
        inputs: {{type: object, properties: {{path: {{type: string}}}}, required: [path]}}
      cleanup:
        handler: "agent_handlers:cleanup"
        description: Delete temporary files under a path.
        mutates: true
        criticality: low
        inputs: {{type: object, properties: {{path: {{type: string}}}}, required: [path]}}
      purge:
        handler: "agent_handlers:cleanup"
        preview: "agent_handlers:preview_once"
        description: Delete everything under a path.
        mutates: true
        criticality: high
        inputs: {{type: object, properties: {{path: {{type: string}}}}, required: [path]}}
"""


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as srv:
        yield srv


def killed_run(*args: str, home: Path) -> None:
    """Run `aios ARGS` to the moment a handler SIGKILLs it."""
    proc = subprocess.run([*AIOS, *args], capture_output=True, text=True, env=env(home),
                          timeout=120)
    assert proc.returncode == -9, (proc.stdout, proc.stderr)


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    """Strict: the process is dead when these tests read, so a locked store is a failure."""
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql).fetchall())


def well_formed(conversation: list[dict[str, object]]) -> None:
    """Entries numbered without a gap; every call of every model turn has one result."""
    assert [e["seq"] for e in conversation] == list(range(len(conversation)))
    asked = [(e["turn"], c["id"]) for e in conversation if e["kind"] == "model"
             for c in e["tool_calls"]]  # type: ignore[attr-defined]
    answered = [(e["turn"], e["call_id"]) for e in conversation if e["kind"] == "tool"]
    assert sorted(asked) == sorted(answered)  # type: ignore[type-var]


def write_manifest(tmp_path: Path, server: ScriptedLLMServer, marker: Path) -> Path:
    manifest = tmp_path / "agent.yaml"
    manifest.write_text(MANIFEST.format(counter=tmp_path / "counter.txt", url=server.url,
                                        probes=tmp_path / "probes.txt", marker=marker))
    return manifest


@pytest.mark.slow
def test_sigkill_in_a_read_only_call_before_its_turn_is_committed(
        tmp_path: Path, server: ScriptedLLMServer) -> None:
    home, db = tmp_path / "home", tmp_path / "home" / "aios.db"
    counter, probes = tmp_path / "counter.txt", tmp_path / "probes.txt"
    for attempt in range(2):  # repeated, each a fresh run killed in its read-only call
        marker = tmp_path / f"killed-{attempt}"
        manifest = write_manifest(tmp_path, server, marker)
        server.script(Reply.ok("", tool_calls=[call("ops__probe", {"path": "/var"}, "c1")]))
        killed_run("agent", "run", "ops", "check /var, then clean it", "-m", str(manifest),
                   home=home)
        run_id = marker.read_text()
        assert len(lines(probes)) == 2 * attempt + 1
        # The kill came before any commit of the turn, or after one: either is consistent.
        recorded = rows(db, f"select count(*) from agent_turns where run_id='{run_id}' "
                            "and kind='model'")[0][0]
        asked_again = [] if recorded else [
            Reply.ok("", tool_calls=[call("ops__probe", {"path": "/var"}, "c1")])]
        server.script(*asked_again,
                      Reply.ok("", tool_calls=[call("ops__cleanup", {"path": "/var/tmp"}, "c2")]),
                      Reply.ok("Cleaned /var/tmp."))
        before = len(server.requests)
        resumed = json.loads(aios("runs", "resume", run_id, "--json", home=home).stdout)
        assert resumed["status"] == "succeeded", resumed
        assert resumed["agent"]["answer"] == "Cleaned /var/tmp."
        assert len(server.requests) - before == len(asked_again) + 2
        # The read-only call ran again (allowed: no side effect); the mutating one once.
        assert len(lines(probes)) == 2 * attempt + 2
        assert len(lines(counter)) == attempt + 1
        conversation = resumed["agent"]["conversation"]
        well_formed(conversation)
        assert [e["kind"] for e in conversation].count("model") == 3
        assert conversation[1] == {"seq": 1, "kind": "message", "role": "user",
                                   "content": "check /var, then clean it"}


@pytest.mark.slow
def test_sigkill_between_the_model_turn_and_the_approval_filing(
        tmp_path: Path, server: ScriptedLLMServer) -> None:
    home, db = tmp_path / "home", tmp_path / "home" / "aios.db"
    counter, marker = tmp_path / "counter.txt", tmp_path / "killed"
    manifest = write_manifest(tmp_path, server, marker)
    server.script(Reply.ok("", tool_calls=[call("ops__purge", {"path": "/srv"}, "c1")]))
    # Killed by the call's preview, which runs as its approval request is being filed.
    killed_run("agent", "run", "ops", "purge /srv", "-m", str(manifest), home=home)
    run_id = marker.read_text()
    # The turn that asked for the call was committed before the filing began.
    assert [r[0] for r in rows(db, "select kind from agent_turns order by seq")] == [
        "message", "message", "model"]
    assert rows(db, "select id from approval_requests") == []
    waiting = json.loads(aios("runs", "resume", run_id, "--json", home=home).stdout)
    assert waiting["status"] == "waiting"
    assert len(server.requests) == 1  # the recorded call was replayed, the model not asked
    requests = rows(db, "select id, step_id from approval_requests")
    assert len(requests) == 1 and requests[0][1] == "t1.0:ops.purge"
    aios("users", "add", "alice", "--role", "approver", home=home)
    token = aios("users", "token", "alice", "--expires", "1h", home=home).stdout.strip()
    aios("approvals", "approve", str(requests[0][0]), "--token", token, home=home)
    server.script(Reply.ok("Purged /srv."))
    resumed = json.loads(aios("runs", "resume", run_id, "--json", home=home).stdout)
    assert resumed["status"] == "succeeded" and resumed["agent"]["answer"] == "Purged /srv."
    assert len(lines(counter)) == 1  # 0 double executions, the decision kept
    assert len(rows(db, "select id from approval_requests")) == 1
    well_formed(resumed["agent"]["conversation"])
