"""Every command's `--json`: valid JSON alone on stdout, the same facts as its text.

One case per command the CLI registers (`test_every_command_has_a_case` fails when a command
is added without one). Each case drives the real CLI against one temporary store, with the
scripted OpenAI-compatible server standing in for the models and the test MCP upstream for
`aios mcp`; the case's setup creates what the command needs (a waiting run, a user's token,
an evaluation run...). Commands whose stdout is not theirs to format are listed in
`NOT_JSON` with the reason.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
from tests.support.agent_cli import call
from tests.support.scripted_llm import Reply, ScriptedLLMServer
from typer.testing import CliRunner, Result

from aios.cli.main import LazyGroup, app

runner = CliRunner()
UPSTREAM = Path(__file__).parents[1] / "mcp" / "upstream_server.py"

MANIFEST = """\
name: everything
models:
  scripted:
    provider: openai
    model: scripted
    base_url: "{url}/v1"
    api_key_env: SCRIPTED_KEY
    capabilities: {{tools: true, json: true}}
    prices: {{input: 1.0, output: 2.0}}
agents:
  k:
    description: a probe
    actions:
      up: {{handler: "kernel.resources", description: "show the resources"}}
  ops:
    description: a gated change
    actions:
      purge: {{handler: "storage.clean_old_files", mutates: true, criticality: high,
              description: "purge old files"}}
  bot:
    description: an agent that decides
    model: scripted
    max_turns: 3
    actions:
      probe: {{handler: "kernel.resources", description: "How busy the host is."}}
sequences:
  boot: {{steps: [{{action: ops.purge}}]}}
  shutdown: {{steps: [{{action: k.up}}]}}
  nightly: {{steps: [{{action: k.up}}]}}
mcp_servers:
  notes:
    command: {python}
    args: ["{upstream}", normal]
    env: {{NOTES_DIR: "{root}", DESC_FILE: "{desc}"}}
"""

SUITE = """\
name: demo
dataset: data.jsonl
target: {type: callable, ref: "target.py:answer", pass_sample: true}
evaluators: [exact_match]
"""
TARGET = "async def answer(sample):\n    return sample.input_text.split('say ', 1)[-1]\n"


@dataclass
class World:
    """One store, one manifest, the scripted model, and helpers to drive `aios`."""

    root: Path
    server: ScriptedLLMServer
    env: dict[str, str | None] = field(default_factory=dict)

    @property
    def manifest(self) -> str:
        return str(self.root / "m.yaml")

    def cli(self, *args: str, text: str | None = None) -> Result:
        return runner.invoke(app, list(args), env=self.env, input=text)

    def json(self, *args: str) -> Any:
        result = self.cli(*args, "--json")
        assert result.exit_code == 0, (args, result.output)
        return json.loads(result.stdout)

    def user(self, name: str, role: str = "approver") -> None:
        if name not in {u["name"] for u in self.json("users", "list")}:
            self.json("users", "add", name, "--role", role)

    def token(self, name: str = "alice") -> str:
        self.user(name)
        return str(self.json("users", "token", name)["token"])

    def waiting_request(self) -> str:
        run_id = self.json("boot", "-m", self.manifest)["run_id"]
        queue = self.json("approvals", "list")
        return next(r["id"] for r in queue if r["run_id"] == run_id)

    def a_run(self) -> str:
        return str(self.json("exec", "k.up", "-m", self.manifest)["run_id"])

    def eval_run(self) -> str:
        suite = self.root / "suite"
        suite.mkdir(exist_ok=True)
        rows = [{"id": f"s{i}", "input": f"say w{i}", "target": f"w{i}"} for i in range(3)]
        (suite / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (suite / "target.py").write_text(TARGET)
        (suite / "suite.yaml").write_text(SUITE)
        return str(self.json("eval", "run", str(suite / "suite.yaml"))["run"]["id"])

    def mission(self) -> str:
        corpus = self.root / "corpus"
        corpus.mkdir(exist_ok=True)
        (corpus / "a.md").write_text("Kestrel Labs was founded by Ada Byron in 1990.\n")
        return str(self.json("discover", "Who founded Kestrel Labs?", "--source",
                             f"corpus:{corpus}", "--budget-steps", "3")["mission_id"])

    def key(self) -> str:
        self.user("alice")
        return str(self.json("keys", "create", "alice")["id"])


Case = Callable[[World], list[str]]


def _changed_tool(w: World) -> list[str]:
    w.json("mcp", "tools", "-m", w.manifest)  # pins the definition (the first time)
    desc = w.root / "desc.txt"
    desc.write_text(desc.read_text() + " More words.")
    w.json("mcp", "tools", "-m", w.manifest)  # sees the change: it waits to be trusted
    return ["mcp", "trust", "notes.read_note", "-m", w.manifest]


#: Command (as typed) -> its arguments, after whatever setup the command needs.
CASES: dict[str, Case] = {
    "boot": lambda w: ["boot", "-m", w.manifest],
    "shutdown": lambda w: ["shutdown", "-m", w.manifest],
    "run": lambda w: ["run", "nightly", "-m", w.manifest],
    "exec": lambda w: ["exec", "k.up", "-m", w.manifest],
    "metadata": lambda w: ["metadata", w.a_run()],
    "runs": lambda w: ["runs"],
    "runs list": lambda w: ["runs", "list"],
    "runs show": lambda w: ["runs", "show", w.a_run()],
    "runs resume": lambda w: ["runs", "resume", w.a_run(), "-m", w.manifest],
    "runs keygen": lambda w: ["runs", "keygen"],
    "agent run": lambda w: ["agent", "run", "bot", "how busy is the host?", "-m", w.manifest],
    "manifest validate": lambda w: ["manifest", "validate", w.manifest],
    "manifest schema": lambda w: ["manifest", "schema"],
    "ask": lambda w: ["ask", "What is 2+2?", "-m", w.manifest],
    "models": lambda w: ["models", "-m", w.manifest],
    "reliability": lambda w: ["reliability", "--steps", "10", "--per-step", "0.95"],
    "breakers": lambda w: ["breakers"],
    "breakers reset": lambda w: ["breakers", "reset", "--all"],
    "traces": lambda w: ["traces"],
    "traces list": lambda w: ["traces", "list"],
    "traces show": lambda w: ["traces", "show", w.a_run()],
    "traces prune": lambda w: ["traces", "prune", "--older-than", "30d"],
    "metrics": lambda w: ["metrics"],
    "approvals list": lambda w: ["approvals", "list"],
    "approvals show": lambda w: ["approvals", "show", w.waiting_request()],
    "approvals approve": lambda w: ["approvals", "approve", w.waiting_request(),
                                    "--token", w.token()],
    "approvals reject": lambda w: ["approvals", "reject", w.waiting_request(), "--reason",
                                   "not now", "--token", w.token()],
    "audit verify": lambda w: ["audit", "verify"],
    "audit export": lambda w: ["audit", "export"],
    "users add": lambda w: ["users", "add", "bob", "--password"],
    "users link-slack": lambda w: (w.user("alice"), ["users", "link-slack", "alice",
                                                     "U0123"])[1],
    "users list": lambda w: ["users", "list"],
    "users role": lambda w: (w.user("carol"), ["users", "role", "carol", "admin"])[1],
    "users passwd": lambda w: (w.user("dave"), ["users", "passwd", "dave"])[1],
    "users disable": lambda w: (w.user("erin"), ["users", "disable", "erin"])[1],
    "users enable": lambda w: (w.user("erin"), ["users", "enable", "erin"])[1],
    "users delete": lambda w: (w.user("frank"), ["users", "delete", "frank"])[1],
    "users token": lambda w: (w.user("alice"), ["users", "token", "alice"])[1],
    "users tokens": lambda w: ["users", "tokens"],
    "users revoke": lambda w: ["users", "revoke", w.json("users", "token", "alice")["id"]]
    if w.token() else [],
    "keys create": lambda w: (w.user("alice"), ["keys", "create", "alice"])[1],
    "keys list": lambda w: ["keys", "list"],
    "keys revoke": lambda w: ["keys", "revoke", w.key()],
    "keys update": lambda w: ["keys", "update", w.key(), "--rpm", "10"],
    "eval run": lambda w: ["eval", "run", str(Path(w.eval_run() and w.root) / "suite"
                                              / "suite.yaml")],
    "eval show": lambda w: ["eval", "show", w.eval_run()],
    "eval runs": lambda w: ["eval", "runs"],
    "eval compare": lambda w: ["eval", "compare", w.eval_run(), w.eval_run()],
    "eval annotate": lambda w: ["eval", "annotate", w.eval_run(), "--label", "s0=pass"],
    "eval from-traces": lambda w: (w.a_run(), ["eval", "from-traces", "--agent", "k",
                                               "--out", str(w.root / "from.jsonl")])[1],
    "discover run": lambda w: ["discover", "run", "Who founded Kestrel Labs?", "--source",
                               f"corpus:{w.root / 'corpus'}", "--budget-steps", "3"]
    if w.mission() else [],
    "discover show": lambda w: ["discover", "show", w.mission()],
    "discover export": lambda w: ["discover", "export", w.mission(), "--out",
                                  str(w.root / "graph.json")],
    "scan": lambda w: ["scan", "--text", "mail me at ops@example.com"],
    "redteam": lambda w: ["redteam", "--target", "model:scripted", "--guardrails", "on",
                          "--attack", _first_attack(), "-m", w.manifest],
    "router show": lambda w: ["router", "show"],
    "router explain": lambda w: ["router", "explain", "What is 2+2?", "-m", w.manifest],
    "prompt": lambda w: ["prompt", "show the resources", "-m", w.manifest, "--no-model"],
    "deploy prepare": lambda w: ["deploy", "prepare"],
    "deploy executor": lambda w: ["deploy", "executor"],
    "mcp tools": lambda w: ["mcp", "tools", "-m", w.manifest],
    "mcp trust": _changed_tool,
}

#: Commands not in CASES, and why.
NOT_JSON = {
    "serve": "runs a server until stopped (its --json start line: tests/server)",
    "mcp serve": "runs a server until stopped; over stdio, stdout is the MCP protocol",
    "discover approve": "needs a mission waiting for approval (tests/discovery)",
    "router train": "needs RouterBench data (tests/routing/test_training.py checks --json)",
    "router evaluate": "needs RouterBench data (tests/routing/test_evaluate_command.py)",
}

#: Typed input for commands that prompt.
INPUT = {"users passwd": "s3cret-Pass\ns3cret-Pass\n",
         "users add": "s3cret-Pass\ns3cret-Pass\n"}
#: Exit codes other than 0 a case may end with (a check that fails is still reported).
CODES: dict[str, tuple[int, ...]] = {"redteam": (0, 1)}


def _first_attack() -> str:
    from aios.security.redteam.catalog import load_catalog

    return load_catalog()[0].id


def _leaf_commands(group: Any, prefix: str = "") -> Iterator[str]:
    for name, command in group.commands.items():
        path = f"{prefix} {name}".strip()
        if getattr(command, "commands", None):
            if getattr(command, "invoke_without_command", False):
                yield path  # `aios runs` lists runs itself
            yield from _leaf_commands(command, path)
        else:
            yield path


def test_every_command_has_a_case() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    group.load_all()
    commands = set(_leaf_commands(group))
    assert commands - set(CASES) - set(NOT_JSON) == set()
    assert set(CASES) | set(NOT_JSON) <= commands


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("everything")
    (root / "desc.txt").write_text("Read a note by name.")
    with ScriptedLLMServer(Reply.ok("4", usage=(10, 2))) as server:
        (root / "m.yaml").write_text(MANIFEST.format(
            url=server.url, python=sys.executable, upstream=UPSTREAM, root=root,
            desc=root / "desc.txt"))
        yield World(root, server, {"AIOS_HOME": str(root / "home"), "SCRIPTED_KEY": "x",
                                   "COLUMNS": "200", "AIOS_DATABASE_URL": None})


@pytest.mark.parametrize("command", sorted(CASES))
def test_json_output_is_json_only(command: str, world: World) -> None:
    if command == "agent run":
        world.server.script(Reply.ok("", tool_calls=[call("bot__probe", {}, "c1")]),
                            Reply.ok("The host is idle."))
    args = CASES[command](world)
    result = world.cli(*args, "--json", text=INPUT.get(command))
    assert result.exit_code in CODES.get(command, (0,)), result.output
    try:
        json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"aios {' '.join(args)} --json printed no JSON:\n{result.stdout}")


def test_mcp_trust_says_the_same_in_text_and_json(world: World) -> None:
    args = _changed_tool(world)
    as_json = world.json(*args)
    assert as_json["server"] == "notes" and as_json["trusted"] == ["notes.read_note"]
    text = world.cli(*_changed_tool(world))
    assert text.exit_code == 0, text.output
    assert (f"trusted the new definition of notes.read_note (by {as_json['by']})"
            in text.stdout)


def test_audit_export_json_is_the_records_the_lines_hold(world: World) -> None:
    world.waiting_request()  # filing a request writes audit records
    lines = world.cli("audit", "export")
    assert lines.exit_code == 0, lines.output
    records = [json.loads(line) for line in lines.stdout.splitlines()]
    assert records and world.json("audit", "export") == records
    out = world.root / "audit.jsonl"
    written = world.json("audit", "export", "--out", str(out))
    assert written == {"records": len(records), "file": str(out)}
    assert out.read_text() == lines.stdout


def test_a_format_that_is_not_json_is_refused_with_json() -> None:
    result = runner.invoke(app, ["manifest", "schema", "--markdown", "--json"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "give one of --markdown and --json" in result.stderr
