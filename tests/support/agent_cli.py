"""Driving `aios` as a user does in the agent end-to-end tests: subprocesses on a temporary
home, the scripted model's key, and the e2e handlers (`agent_handlers`) on the path."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

E2E = Path(__file__).parent.parent / "e2e"
AIOS = [sys.executable, "-m", "aios.cli"]


def call(name: str, args: dict[str, object], call_id: str) -> dict[str, object]:
    """A tool call as the scripted model returns it."""
    return {"id": call_id, "name": name, "arguments": args}


def env(home: Path) -> dict[str, str]:
    """The environment of an `aios` subprocess on `home` (embedded SQLite store)."""
    out = {**os.environ, "AIOS_HOME": str(home), "SCRIPTED_KEY": "x", "COLUMNS": "200",
           "PYTHONPATH": os.pathsep.join([str(E2E), os.environ.get("PYTHONPATH", "")])}
    out.pop("AIOS_DATABASE_URL", None)
    return out


def aios(*args: str, home: Path, code: int | None = 0) -> subprocess.CompletedProcess[str]:
    """Run `aios ARGS` to its end; checks its exit code unless `code` is None."""
    proc = subprocess.run([*AIOS, *args], capture_output=True, text=True, env=env(home),
                          timeout=120)
    if code is not None:
        assert proc.returncode == code, (args, proc.stdout, proc.stderr)
    return proc


def spawn(*args: str, home: Path) -> subprocess.Popen[str]:
    """Start `aios ARGS` without waiting for it."""
    return subprocess.Popen([*AIOS, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env(home))


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    """`sql`'s rows in the store file `db` ([] before it exists or while it is locked)."""
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db) as conn:
            return list(conn.execute(sql).fetchall())
    except sqlite3.OperationalError:  # not migrated yet, or locked for a moment
        return []


def lines(path: Path) -> list[str]:
    """The lines of a side-effect counter file (none before it exists)."""
    return path.read_text().splitlines() if path.exists() else []
