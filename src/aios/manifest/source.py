"""Reading manifest files (YAML, JSON, TOML) into plain data plus a map from field to line.

The line map lets every later error name `file:line`, which is what a user needs to fix it.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aios.errors import Issue, ManifestError

__all__ = ["Source", "read_source"]

Loc = tuple[str | int, ...]


@dataclass
class Source:
    """A parsed manifest document.

    Attributes:
        path: the file it came from (or a label such as `<string>`).
        data: the parsed document.
        lines: document location (tuple of keys) -> 1-based line.
    """

    path: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its closest enclosing location that has one."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)


def _yaml_lines(node: yaml.Node, loc: Loc, out: dict[Loc, int], issues: list[Issue],
                path: str) -> None:
    out.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                dotted = ".".join(str(p) for p in (*loc, key))
                issues.append(Issue(
                    f"duplicate key {key!r} (first defined on line {seen[key]}); "
                    "keys must be unique: rename or merge one of them",
                    path=dotted, file=path, line=line,
                ))
                continue
            seen[key] = line
            out[(*loc, key)] = line
            _yaml_lines(value_node, (*loc, key), out, issues, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            out[(*loc, index)] = item.start_mark.line + 1
            _yaml_lines(item, (*loc, index), out, issues, path)


def _read_yaml(text: str, path: str) -> Source:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ManifestError([Issue(f"YAML syntax error: {exc.problem or exc}",
                                   file=path, line=line)]) from exc
    lines: dict[Loc, int] = {}
    issues: list[Issue] = []
    if node is not None:
        _yaml_lines(node, (), lines, issues, path)
    if issues:
        raise ManifestError(issues)
    data = yaml.safe_load(text)
    return Source(path, data if data is not None else {}, lines)


def _read_json(text: str, path: str) -> Source:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError([Issue(f"JSON syntax error: {exc.msg} (column {exc.colno})",
                                   file=path, line=exc.lineno)]) from exc
    # JSON is YAML for line numbers and duplicate keys, which json.loads silently merges.
    lines: dict[Loc, int] = {}
    issues: list[Issue] = []
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        node = None
    if node is not None:
        _yaml_lines(node, (), lines, issues, path)
    if issues:
        raise ManifestError(issues)
    return Source(path, data, lines)


_TOML_LINE = re.compile(r"at line (\d+)")


def _toml_lines(text: str) -> dict[Loc, int]:
    """Best-effort map of TOML tables and keys to lines (tomllib keeps no positions)."""
    lines: dict[Loc, int] = {}
    table: Loc = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", stripped)
        if header:
            table = tuple(part.strip().strip('"') for part in header.group(1).split("."))
            lines.setdefault(table, number)
            continue
        key = re.match(r'^([A-Za-z0-9_\-".]+)\s*=', stripped)
        if key:
            parts = tuple(p.strip().strip('"') for p in key.group(1).split("."))
            lines.setdefault((*table, *parts), number)
    return lines


def _read_toml(text: str, path: str) -> Source:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        raise ManifestError([Issue(f"TOML syntax error: {exc}", file=path,
                                   line=int(match.group(1)) if match else None)]) from exc
    return Source(path, data, _toml_lines(text))


_READERS: dict[str, Callable[[str, str], Source]] = {
    ".yaml": _read_yaml,
    ".yml": _read_yaml,
    ".json": _read_json,
    ".toml": _read_toml,
}


def read_source(path: Path | str, text: str | None = None) -> Source:
    """Parse a manifest file by its extension (.yaml, .yml, .json or .toml)."""
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        known = ", ".join(sorted(_READERS))
        raise ManifestError([Issue(
            f"unknown manifest format {path.suffix or '(no extension)'!r}; use one of {known}",
            file=str(path))])
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ManifestError([Issue("file not found; check the path given to --manifest",
                                       file=str(path))]) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ManifestError([Issue(f"cannot read file: {exc}", file=str(path))]) from exc
    source = reader(text, str(path))
    if not isinstance(source.data, dict):
        raise ManifestError([Issue("the top level must be a mapping (agents:, sequences:, ...)",
                                   file=str(path), line=1)])
    return source
