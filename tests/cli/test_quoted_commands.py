"""Every `aios ...` command quoted in an error message, a docstring, README.md or
docs/deployment.md names subcommands and options that exist: a hint that sends the user to an
option the command does not have (`aios router train --data DIR` did) is a dead end."""

from __future__ import annotations

import re
from pathlib import Path

import typer
import typer._click.core as click

from aios.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
GLOBAL = {"--manifest", "-m", "--env", "-e", "--forensic", "--json", "--verbose", "--help"}


def _quoted() -> list[tuple[str, int, str]]:
    files = [*sorted((ROOT / "src" / "aios").rglob("*.py")), ROOT / "README.md",
             ROOT / "docs" / "deployment.md"]
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"`(aios [^`]+)`", text):
            line = text[: match.start()].count("\n") + 1
            found.append((str(path.relative_to(ROOT)), line, match.group(1)))
    return found


def _problems(root: click.Command, command: str) -> list[str]:
    words = command.split()[1:]
    node, used, i = root, ["aios"], 0
    while i < len(words) and hasattr(node, "list_commands"):
        word = words[i]
        if word.startswith("-"):
            break
        sub = node.get_command(click.Context(node), word)  # type: ignore[attr-defined]
        if sub is None:
            # A placeholder (NAME, FILE...) or a quoted argument is not a subcommand.
            return [f"no subcommand {word!r} of {' '.join(used)}"] \
                if re.fullmatch(r"[a-z][a-z-]*", word) else []
        node, i = sub, i + 1
        used.append(word)
    if hasattr(node, "list_commands"):
        return []
    options = set(GLOBAL)
    for param in node.params:
        options.update(param.opts)
        options.update(getattr(param, "secondary_opts", ()))
    problems = []
    for word in words[i:]:
        for option in word.split("=")[0].split("/"):
            option = option.rstrip(",.;:)")
            if option.startswith("--") and option not in options:
                problems.append(f"no option {option} of {' '.join(used)}")
    return problems


def test_every_quoted_aios_command_exists() -> None:
    root = typer.main.get_command(app)
    quoted = _quoted()
    assert len(quoted) > 100  # the scan found the hints
    bad = [f"{path}:{line}: `{command}`: {problem}" for path, line, command in quoted
           for problem in _problems(root, command)]
    assert bad == []
