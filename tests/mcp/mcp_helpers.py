"""Shared parts of the MCP tests: a demo manifest and its handlers, the `aios` command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

HANDLERS = '''
from pathlib import Path


def echo(ctx):
    return {"echo": ctx.args["text"]}


def now(ctx):
    return {"agent": ctx.agent}


def touch(ctx):
    marker = Path(ctx.env["MARKER"])
    with marker.open("a", encoding="utf-8") as fh:
        fh.write(ctx.args["name"] + "\\n")
    return {"touched": ctx.args["name"]}
'''

MANIFEST = '''
name: mcp-demo
env:
  MARKER: "{marker}"
agents:
  demo:
    description: Demo actions for the MCP gateway tests.
    actions:
      echo:
        description: Echo a text back.
        handler: mcp_demo_handlers:echo
        inputs:
          type: object
          properties:
            text: {{type: string}}
          required: [text]
          additionalProperties: false
      now:
        description: Say which agent answers.
        handler: mcp_demo_handlers:now
      touch:
        description: Append a name to the marker file.
        handler: mcp_demo_handlers:touch
        mutates: true
        criticality: high
        inputs:
          type: object
          properties:
            name: {{type: string}}
          required: [name]
{extra}
'''


def write_demo(tmp_path: Path, extra: str = "") -> tuple[Path, Path]:
    """Write the demo handlers and manifest; returns (manifest, marker file)."""
    (tmp_path / "mcp_demo_handlers.py").write_text(HANDLERS, encoding="utf-8")
    marker = tmp_path / "marker.txt"
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(MANIFEST.format(marker=marker, extra=extra), encoding="utf-8")
    return manifest, marker


def aios_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of an `aios` subprocess: this worktree's code, the test's home."""
    path = os.pathsep.join([str(REPO / "src"), str(tmp_path), str(REPO / "tests" / "mcp")])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({"PYTHONPATH": path, "AIOS_HOME": str(tmp_path / "home"),
                "PYTHONUNBUFFERED": "1"}, **extra)
    return env


def aios_args(*args: str) -> list[str]:
    """`python -m aios.cli ARGS` as (command, args)."""
    return [sys.executable, "-m", "aios.cli", *args]


def texts(result: Any) -> str:
    """The text content of a CallToolResult."""
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")
