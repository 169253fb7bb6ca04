"""`aios ask` never shows an answer that only loops (the packaged 135M model's `ls` x 9)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import Reply, ScriptedLLMServer
from typer.testing import CliRunner

from aios.cli.main import app

runner = CliRunner()


def manifest(tmp_path: Path, server: ScriptedLLMServer) -> Path:
    path = tmp_path / "aios.yaml"
    path.write_text(f"""
models:
  gpt:
    provider: openai
    model: gpt-4o-mini
    base_url: {server.url}/v1
    api_key_env: TEST_OPENAI_KEY
    tier: simple
""")
    return path


def test_a_looping_answer_is_withheld_with_a_note(tmp_path, server, monkeypatch) -> None:
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-test")
    server.script(Reply.ok("ls\n" * 9, usage=(10, 18)))
    result = runner.invoke(app, ["ask", "How do I list files?", "--manifest",
                                 str(manifest(tmp_path, server))])
    assert result.exit_code == 0, result.output
    assert "not shown: it loops" in result.output and "'ls' 9 times" in result.output
    assert "\nls\n" not in result.output
    assert "tokens:" in result.output  # the footer still says what it cost


def test_a_looping_answer_is_withheld_from_json(tmp_path, server, monkeypatch) -> None:
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-test")
    server.script(Reply.ok("The answer is ls, and the answer is ls, and the answer is ls"))
    result = runner.invoke(app, ["ask", "?", "--json", "--manifest",
                                 str(manifest(tmp_path, server))])
    data = json.loads(result.stdout)
    assert data["text"] is None and "loops" in data["withheld"]


def test_a_plain_answer_is_shown(tmp_path, server, monkeypatch) -> None:
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-test")
    server.script(Reply.ok("Use ls -la to list files, including hidden ones."))
    result = runner.invoke(app, ["ask", "?", "--manifest", str(manifest(tmp_path, server))])
    assert "Use ls -la to list files" in result.output and "not shown" not in result.output
