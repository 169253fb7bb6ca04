"""Start-up is lazy: `aios --help` imports no command module, `aios runs` only the store.

Bounded checks on what a fresh process imports, not timings (bench/startup.py times them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer

from aios.cli.main import COMMANDS, LazyGroup, app

PROBE = """
import json, sys
from aios.cli.main import app
try:
    app({args})
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith("aios"))), file=sys.stderr)
"""


def _modules(args: list[str], tmp_path: Path) -> list[str]:
    env = {**os.environ, "AIOS_HOME": str(tmp_path / "home")}
    env.pop("AIOS_DATABASE_URL", None)
    proc = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], env=env,
                          capture_output=True, text=True, timeout=120)
    return list(json.loads(proc.stderr.strip().splitlines()[-1]))


def test_help_imports_no_command_module(tmp_path: Path) -> None:
    loaded = _modules(["--help"], tmp_path)
    assert not [m for m in loaded if m.startswith("aios.cli.") and m not in (
        "aios.cli.main", "aios.cli.common", "aios.cli.exitcodes")], loaded
    assert "aios.app" not in loaded and "aios.settings" not in loaded


def test_runs_imports_the_store_and_not_the_application(tmp_path: Path) -> None:
    loaded = _modules(["runs"], tmp_path)
    assert "aios.cli.runs" in loaded and "aios.store.runs" in loaded
    heavy = ("aios.app", "aios.llm", "aios.observability", "aios.security", "aios.routing",
             "aios.manifest.schema")
    assert not [m for m in loaded if m.startswith(heavy)], loaded


def test_the_command_table_matches_what_the_modules_register() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    group.load_all()
    ctx = typer.Context(group)
    assert set(group.commands) == set(COMMANDS)
    for name, (_, line) in COMMANDS.items():
        assert group.commands[name].get_short_help_str(limit=1000) == line, name
    assert group.list_commands(ctx) == list(COMMANDS)
