"""Loading and checking manifests: schema errors and cross-references, each with file:line."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aios.errors import Issue, ManifestError
from aios.manifest.agents import agent_issues
from aios.manifest.schema import Manifest
from aios.manifest.source import Loc, Source, read_source

__all__ = ["DEFAULT_MANIFEST", "check_manifest", "default_manifest_path", "load_manifest",
           "manifest_digest", "parse_manifest"]

DEFAULT_MANIFEST = "default.yaml"

#: A handler checker returns None when `handler` resolves, else a message saying why not.
HandlerCheck = Callable[[str], str | None]


def default_manifest_path() -> Path:
    """The default manifest shipped inside the package."""
    return Path(str(resources.files("aios.manifest") / DEFAULT_MANIFEST))


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _pydantic_issues(exc: ValidationError, source: Source) -> list[Issue]:
    issues = []
    for err in exc.errors():
        loc: Loc = tuple(p for p in err["loc"] if not str(p).startswith("function-after"))
        if err["type"] == "extra_forbidden":
            message = (f"unknown field {loc[-1]!r}; remove it or check its spelling "
                       "(`aios manifest schema` lists every field)")
        elif err["type"] == "missing":
            message = f"field {loc[-1]!r} is required"
        else:
            message = err["msg"]
            if err["type"] == "enum" and "expected" in err.get("ctx", {}):
                message = f"{message}"
        issues.append(Issue(message, path=".".join(str(p) for p in loc), file=source.path,
                            line=source.line_of(loc)))
    return issues


def _find_cycle(deps: Mapping[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in deps.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if state.get(nxt) is None and nxt in deps:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in deps:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def check_manifest(manifest: Manifest, source: Source | None = None,
                   check_handler: HandlerCheck | None = None) -> list[Issue]:
    """Cross-reference checks that the schema alone cannot make.

    Returns every issue found (empty when the manifest is consistent): steps naming unknown
    actions, unknown or duplicate step ids, `depends_on` cycles, handlers that do not resolve.
    """
    path = source.path if source else None

    def issue(message: str, loc: Loc) -> Issue:
        return Issue(message, path=".".join(str(p) for p in loc), file=path,
                     line=source.line_of(loc) if source else None)

    issues: list[Issue] = []
    actions = set(manifest.action_names())
    for seq_name, seq in manifest.sequences.items():
        ids: dict[str, int] = {}
        duplicated = False
        for index, step in enumerate(seq.steps):
            loc: Loc = ("sequences", seq_name, "steps", index)
            # `server.tool` of an `mcp_servers:` entry is checked when the server is listed.
            if step.action not in actions and \
                    step.action.partition(".")[0] not in manifest.mcp_servers:
                issues.append(issue(
                    f"step runs unknown action {step.action!r}{_suggest(step.action, actions)} "
                    "(declare it under agents:, or fix the name as agent.key)", (*loc, "action")))
            if step.step_id in ids:
                issues.append(issue(
                    f"duplicate step id {step.step_id!r} (also step {ids[step.step_id]}); "
                    "give one of them a distinct `id:`", loc))
                duplicated = True
            ids[step.step_id] = index
        for index, step in enumerate(seq.steps):
            for dep in step.depends_on or []:
                if dep not in ids:
                    issues.append(issue(
                        f"depends_on names unknown step {dep!r}{_suggest(dep, ids)}",
                        ("sequences", seq_name, "steps", index, "depends_on")))
        cycle = None if duplicated else _find_cycle(seq.dependencies())
        if cycle:
            first = ids.get(cycle[0], 0)
            issues.append(issue(
                "depends_on forms a cycle: " + " -> ".join(cycle)
                + "; remove one of these dependencies",
                ("sequences", seq_name, "steps", first, "depends_on")))
    from aios.approvals.conditions import check_conditions  # approval rules' `when:`

    issues += [issue(message, loc) for message, loc in check_conditions(manifest)]
    issues += agent_issues(manifest, issue)
    if check_handler is not None:
        for agent_name, agent in manifest.agents.items():
            for key, action in agent.actions.items():
                problem = check_handler(action.handler)
                if problem:
                    issues.append(issue(problem, ("agents", agent_name, "actions", key,
                                                  "handler")))
    return issues


def parse_manifest(source: Source, env: Mapping[str, str] | None = None,
                   check_handler: HandlerCheck | None = None) -> Manifest:
    """Validate a parsed source into a `Manifest`, applying `env` overrides."""
    data: dict[str, Any] = dict(source.data)
    if env:
        merged = dict(data.get("env") or {})
        merged.update(env)
        data["env"] = merged
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(_pydantic_issues(exc, source)) from None
    issues = check_manifest(manifest, source, check_handler)
    if issues:
        raise ManifestError(issues)
    return manifest


def load_manifest(path: Path | str | None = None, *, env: Mapping[str, str] | None = None,
                  check_handler: HandlerCheck | None = None) -> Manifest:
    """Load, validate and cross-check a manifest file (the packaged default when `path` is None).

    Raises:
        ManifestError: listing every problem with its file, line and field.
    """
    source = read_source(path if path is not None else default_manifest_path())
    return parse_manifest(source, env, check_handler)


def manifest_digest(manifest: Manifest) -> str:
    """A short stable hash of the manifest's content, recorded with every run."""
    blob = json.dumps(manifest.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
