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

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_INT_DIGITS", "MAX_NODES", "Source", "read_source"]

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


#: The largest manifest file read, in bytes.
MAX_BYTES = 2 * 1024 * 1024
#: The deepest nesting of mappings and lists accepted.
MAX_DEPTH = 64
#: The most nodes a document may hold, counting each alias as the whole subtree it repeats
#: (a "billion laughs" document is a few kilobytes that expand to billions of nodes).
MAX_NODES = 100_000
#: The longest integer accepted, in digits (Python refuses past 4,300).
MAX_INT_DIGITS = 100

_INT_TAG = "tag:yaml.org,2002:int"


class _TooMuch(Exception):
    """The document exceeds a bound; `issue` says which and where."""

    def __init__(self, issue: Issue):
        super().__init__(issue.message)
        self.issue = issue


@dataclass
class _Walk:
    """One bounded pass over a composed YAML document: line map, duplicate keys, limits."""

    path: str
    lines: dict[Loc, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    nodes: int = 0
    open: set[int] = field(default_factory=set)  # ids of nodes being walked (cycles)

    def stop(self, message: str, node: yaml.Node, loc: Loc) -> _TooMuch:
        return _TooMuch(Issue(message, path=".".join(str(p) for p in loc),
                              file=self.path, line=node.start_mark.line + 1))

    def visit(self, node: yaml.Node, loc: Loc, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.stop(f"the document holds more than {MAX_NODES:,} values once its "
                            "aliases (*name) are expanded; a manifest needs far fewer: "
                            "remove the repeated aliases", node, loc)
        if depth > MAX_DEPTH:
            raise self.stop(f"nested more than {MAX_DEPTH} levels deep; flatten the "
                            "structure", node, loc)
        if id(node) in self.open:
            raise self.stop("an alias refers to a value that contains it (a recursive "
                            "anchor); repeat the value instead", node, loc)
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _INT_TAG and len(node.value.lstrip("+-")) > MAX_INT_DIGITS:
                raise self.stop(f"an integer of {len(node.value)} digits is out of range (at "
                                f"most {MAX_INT_DIGITS})", node, loc)
            return
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                self._mapping(node, loc, depth)
            elif isinstance(node, yaml.SequenceNode):
                for index, item in enumerate(node.value):
                    self.lines[(*loc, index)] = item.start_mark.line + 1
                    self.visit(item, (*loc, index), depth + 1)
        finally:
            self.open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> None:
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                raise self.stop(f"a {kind} is used as a mapping key; keys must be plain "
                                "names", key_node, loc)
            key = key_node.value
            if key in seen:
                dotted = ".".join(str(p) for p in (*loc, key))
                self.issues.append(Issue(
                    f"duplicate key {key!r} (first defined on line {seen[key]}); "
                    "keys must be unique: rename or merge one of them",
                    path=dotted, file=self.path, line=line,
                ))
                continue
            seen[key] = line
            self.lines[(*loc, key)] = line
            self.visit(value_node, (*loc, key), depth + 1)


def _walk(node: yaml.Node | None, path: str) -> _Walk:
    """Walk `node` within the bounds; ManifestError when it exceeds one."""
    walk = _Walk(path)
    if node is not None:
        try:
            walk.visit(node, (), 0)
        except _TooMuch as exc:
            raise ManifestError([exc.issue]) from None
    return walk


def _yaml_error(exc: yaml.YAMLError, path: str, what: str) -> ManifestError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if "constructor" in problem or "tag" in problem:
        problem = f"{problem}; manifests use plain YAML (no !tags)"
    return ManifestError([Issue(f"{what}: {problem}", file=path,
                                line=mark.line + 1 if mark else None)])


def _read_yaml(text: str, path: str) -> Source:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path, "YAML syntax error") from None
    except RecursionError:
        raise ManifestError([Issue("YAML nested too deeply to read; flatten the structure",
                                   file=path)]) from None
    walk = _walk(node, path)
    if walk.issues:
        raise ManifestError(walk.issues)
    if node is None:
        return Source(path, {}, walk.lines)
    # Construct from the node just checked: its size is bounded, aliases included.
    loader = yaml.SafeLoader(text)
    try:
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path, "YAML value not allowed") from None
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise ManifestError([Issue(f"YAML value cannot be read ({type(exc).__name__}: "
                                   f"{str(exc)[:200]})", file=path)]) from None
    finally:
        loader.dispose()
    return Source(path, data if data is not None else {}, walk.lines)


def _read_json(text: str, path: str) -> Source:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError([Issue(f"JSON syntax error: {exc.msg} (column {exc.colno})",
                                   file=path, line=exc.lineno)]) from exc
    except (ValueError, RecursionError) as exc:  # huge integers, deep nesting
        raise ManifestError([Issue(f"JSON cannot be read ({type(exc).__name__}: "
                                   f"{str(exc)[:200]}); check for very long numbers or "
                                   "deep nesting", file=path)]) from None
    # JSON is YAML for line numbers and duplicate keys, which json.loads silently merges.
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        node = None
    walk = _walk(node, path)
    if walk.issues:
        raise ManifestError(walk.issues)
    return Source(path, data, walk.lines)


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
    except (ValueError, RecursionError) as exc:
        raise ManifestError([Issue(f"TOML cannot be read ({type(exc).__name__}); check for "
                                   "very long numbers or deep nesting", file=path)]) from None
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
            if path.stat().st_size > MAX_BYTES:
                raise ManifestError([Issue(
                    f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB; a manifest is "
                    "a few kilobytes: is this the right file?", file=str(path))])
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ManifestError([Issue(
                "file not found; check the path (the FILE argument, --manifest or "
                "AIOS_MANIFEST)",
                file=str(path))]) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ManifestError([Issue(f"cannot read file: {exc}", file=str(path))]) from exc
    if len(text) > MAX_BYTES:
        raise ManifestError([Issue(f"the text is larger than {MAX_BYTES // (1024 * 1024)} "
                                   "MiB; a manifest is a few kilobytes", file=str(path))])
    try:
        source = reader(text, str(path))
    except (RecursionError, MemoryError) as exc:
        raise ManifestError([Issue(f"the manifest cannot be read ({type(exc).__name__}): it "
                                   "is nested too deeply or too large", file=str(path))]
                            ) from None
    if not isinstance(source.data, dict):
        raise ManifestError([Issue("the top level must be a mapping (agents:, sequences:, ...)",
                                   file=str(path), line=1)])
    return source
