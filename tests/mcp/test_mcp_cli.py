"""`aios mcp tools`, `aios mcp trust`, and the CLI's answers to bad input (exit code 2)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mcp_helpers import write_demo
from typer.testing import CliRunner

from aios.cli.main import app

runner = CliRunner()
UPSTREAM = str(Path(__file__).with_name("upstream_server.py"))


def proxied_manifest(tmp_path: Path, mode: str = "normal", desc: Path | None = None) -> Path:
    manifest, _ = write_demo(tmp_path, extra=f"""
mcp_servers:
  notes:
    command: {sys.executable}
    args: [{UPSTREAM}, {mode}]
    env: {{NOTES_DIR: "{tmp_path}", DESC_FILE: "{desc or ''}"}}
""")
    return manifest


def test_tools_lists_served_and_proxied_tools_with_their_gates(tmp_path: Path) -> None:
    sys.path.insert(0, str(tmp_path))  # the demo handlers
    try:
        manifest = proxied_manifest(tmp_path, "duplicate")
        result = runner.invoke(app, ["mcp", "tools", "--manifest", str(manifest), "--json"])
    finally:
        sys.path.remove(str(tmp_path))
    assert result.exit_code == 0, result.output
    rows = {row["action"]: row for row in json.loads(result.stdout)}
    assert rows["demo.echo"]["source"] == "served"
    assert rows["demo.echo"]["gate"] == "runs at once (low)"
    assert rows["demo.touch"]["gate"] == "needs approval (high)"
    assert rows["notes.read_note"]["source"] == "proxied from notes"
    assert rows["notes.read_note"]["tool"] == "notes-read_note"
    assert rows["notes.delete_note"]["gate"] == "needs approval (high)"
    assert rows["notes.plain"]["gate"] == "not offered: the server lists 2 tools named 'plain'"


def test_trust_accepts_a_changed_definition(tmp_path: Path) -> None:
    desc = tmp_path / "desc.txt"
    desc.write_text("Read a note by name.")
    manifest = proxied_manifest(tmp_path, desc=desc)
    sys.path.insert(0, str(tmp_path))
    try:
        def gate() -> str:
            out = runner.invoke(app, ["mcp", "tools", "-m", str(manifest), "--json"])
            assert out.exit_code == 0, out.output
            return {r["action"]: r for r in json.loads(out.stdout)}["notes.read_note"]["gate"]

        assert gate() == "runs at once (low)"
        desc.write_text("Read a note by name. Now with more words.")
        assert "definition changed" in gate()
        trusted = runner.invoke(app, ["mcp", "trust", "notes.read_note", "-m", str(manifest)])
        assert trusted.exit_code == 0, trusted.output
        assert "trusted the new definition of notes.read_note" in trusted.output
        assert gate() == "runs at once (low)"
        nothing = runner.invoke(app, ["mcp", "trust", "notes", "-m", str(manifest)])
        unknown = runner.invoke(app, ["mcp", "trust", "nope.x", "-m", str(manifest)])
    finally:
        sys.path.remove(str(tmp_path))
    assert nothing.exit_code == 2 and "no changed tool definition of notes" in nothing.output
    assert unknown.exit_code == 2 and "no MCP server 'nope'" in unknown.output


def test_bad_input_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    sys.path.insert(0, str(tmp_path))
    try:
        manifest = proxied_manifest(tmp_path, "exit_at_start")
        broken = runner.invoke(app, ["mcp", "tools", "-m", str(manifest)])
        (tmp_path / "plain").mkdir()
        demo, _ = write_demo(tmp_path / "plain")
        bind = runner.invoke(app, ["mcp", "serve", "-m", str(demo), "--http", "nowhere"])
        agent = runner.invoke(app, ["mcp", "serve", "-m", str(demo), "--agent", "ghost"])
    finally:
        sys.path.remove(str(tmp_path))
    assert broken.exit_code == 2
    assert "MCP server notes" in broken.output and "cannot open its database" in broken.output
    assert bind.exit_code == 2 and "--http 'nowhere' is not HOST:PORT" in bind.output
    assert agent.exit_code == 2 and "no agent 'ghost'" in agent.output


def test_a_manifest_server_named_like_an_agent_is_refused(tmp_path: Path) -> None:
    manifest, _ = write_demo(tmp_path, extra="""
mcp_servers:
  demo: {url: "http://127.0.0.1:1/mcp"}
""")
    result = runner.invoke(app, ["manifest", "validate", str(manifest)])
    assert result.exit_code == 2
    assert "an agent has the same name" in result.output
