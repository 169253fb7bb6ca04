"""The manifests README.md shows are valid as written (given the handler modules they name)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aios.cli.main import app

README = Path(__file__).parents[2] / "README.md"
runner = CliRunner()


def _yaml_after(heading: str) -> str:
    text = README.read_text()
    section = text[text.index(heading):]
    found = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert found, heading
    return found.group(1)


def test_the_agent_manifest_of_agents_that_decide_validates(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "ops.py").write_text(
        "def disk_usage(ctx):\n    return {}\n\n\ndef cleanup(ctx):\n    return {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    manifest = tmp_path / "agent.yaml"
    manifest.write_text("name: agents\n" + _yaml_after("### Agents that decide"))
    result = runner.invoke(app, ["manifest", "validate", str(manifest)])
    assert result.exit_code == 0, result.output
    assert "ops.cleanup" in result.stdout
    sys.modules.pop("mypkg", None)
