"""`when:` conditions of approval rules: CEL over the call's arguments, confidence and context.

A rule's `when:` is a CEL expression (the Common Expression Language, through the
`common-expression-language` package) that must be true for the rule to match. Variables:

- `args`: the action's EFFECTIVE arguments (given ones, plus the schema's defaults);
- `confidence`: the agent's stated confidence (a double 0-1), or `null` when none was stated;
- `ctx`: the run's context: `run_id`, `step_id`, `action`, `agent`, `criticality`,
  `mutates`, `forensic`, and `env` (the manifest's `env` with `--env` overrides).

Examples: `args.count > 100`, `ctx.env.ENVIRONMENT == 'prod'`,
`confidence != null && confidence < 0.7`, `has(args.dry_run) && !args.dry_run`.

At manifest load every condition is parsed (`ApprovalRule`), then evaluated against sample
arguments of each action the rule can match (`check_conditions`): a condition that names an
argument the action does not declare, compares values of the wrong type, may read an optional
argument without `has()`, or does not yield true/false is refused with its file and line.
At run time a condition that cannot be evaluated fails closed: the call is denied, naming
the rule, never silently let through.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from aios.errors import ConfigError
from aios.extras import import_extra

if TYPE_CHECKING:
    from aios.manifest.schema import Manifest

__all__ = ["ConditionError", "check_conditions", "compile_condition", "evaluate_condition"]

_KEY = re.compile(r"^'?([^']*)'?$")


class ConditionError(ConfigError):
    """A `when:` condition could not be evaluated (a missing argument, a type mismatch)."""


def _cel() -> Any:
    return import_extra("cel", "approval rules with `when:` need the CEL package: "
                               "pip install 'aios[approvals]' (common-expression-language)")


@functools.lru_cache(maxsize=512)
def compile_condition(text: str) -> Any:
    """The compiled CEL program of `text`.

    Raises:
        ValueError: it does not parse (CEL's message, with a caret under the column).
    """
    try:
        return _cel().compile(text)
    except ValueError as exc:
        raise ValueError(f"`when:` does not parse as CEL: {exc}") from None


def _explain(exc: Exception) -> str:
    """CEL's error in words an author can act on."""
    if isinstance(exc, KeyError):
        name = _KEY.match(str(exc))
        return f"no value named {name.group(1) if name else exc!s}"
    text = str(exc)
    if "No such overload" in text:
        return ("the operand types do not fit (for example a number compared with a string, "
                "or null compared with a number; CEL does not convert types)")
    return text.split(". ")[0]


def evaluate_condition(text: str, variables: Mapping[str, Any]) -> bool:
    """Evaluate `text` with `variables`.

    Raises:
        ConditionError: it failed or did not yield a boolean.
    """
    try:
        value = compile_condition(text).execute(dict(variables))
    except ValueError as exc:
        raise ConditionError(str(exc)) from None
    except Exception as exc:  # the binding raises KeyError, TypeError, RuntimeError
        raise ConditionError(f"`{text}` could not be evaluated: {_explain(exc)}") from None
    if not isinstance(value, bool):
        raise ConditionError(f"`{text}` yields {type(value).__name__} {value!r}, not true or "
                             "false; write a comparison (for example args.count > 100)")
    return value


def variables_of(args: Mapping[str, Any], confidence: float | None,
                 context: Mapping[str, Any]) -> dict[str, Any]:
    """The CEL variables of one call."""
    return {"args": dict(args), "confidence": confidence, "ctx": dict(context)}


# -- load-time checks ---------------------------------------------------------------------

_SAMPLES: dict[str, Any] = {"string": "", "integer": 0, "number": 0.5, "boolean": False,
                            "array": [], "object": {}, "null": None}


def _sample(prop: Mapping[str, Any]) -> Any:
    if "default" in prop:
        return prop["default"]
    if prop.get("enum"):
        return prop["enum"][0]
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" and isinstance(prop.get("properties"), Mapping):
        return {k: _sample(v) for k, v in prop["properties"].items() if isinstance(v, Mapping)}
    return _SAMPLES.get(str(kind), "")


def _samples(schema: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(every declared argument, only those always present: required or defaulted)."""
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    full = {k: _sample(v) for k, v in props.items() if isinstance(v, Mapping)}
    minimal = {k: v for k, v in full.items()
               if k in required or "default" in props[k]}
    return full, minimal


def _matched_actions(manifest: Manifest, rule: Any) -> Iterator[tuple[str, Any]]:
    for name in manifest.action_names():
        spec = manifest.action(name)
        if rule.action is not None and not fnmatchcase(name, rule.action):
            continue
        if rule.agent is not None and not fnmatchcase(name.partition(".")[0], rule.agent):
            continue
        if rule.criticality is not None and spec.criticality.value not in rule.criticality:
            continue
        if rule.mutates is not None and spec.mutates != rule.mutates:
            continue
        yield name, spec


def _context(manifest: Manifest, name: str, spec: Any) -> dict[str, Any]:
    return {"run_id": "r", "step_id": name, "action": name, "agent": name.partition(".")[0],
            "criticality": spec.criticality.value, "mutates": spec.mutates, "forensic": False,
            "env": dict(manifest.env)}


def _problem(text: str, name: str, spec: Any, manifest: Manifest) -> str | None:
    """What is wrong with condition `text` for action `name`, or None."""
    schema = spec.inputs or {}
    if not isinstance(schema.get("properties"), Mapping):
        return None  # arguments not declared: nothing to check them against
    full, minimal = _samples(schema)
    declared = ", ".join(sorted(full)) or "none"
    ctx = _context(manifest, name, spec)
    for args, confidence, case in (
            (full, 0.5, "all arguments given"), (full, None, "no stated confidence"),
            (minimal, 0.5, "optional arguments left out")):
        try:
            evaluate_condition(text, variables_of(args, confidence, ctx))
        except ConditionError as exc:
            missing = re.search(r"no value named (\S+)", str(exc))
            if missing and args is full:
                key = missing.group(1)
                if f"env.{key}" in text:
                    return (f"reads ctx.env.{key}, which the manifest's env does not set; "
                            f"set it under env:, or guard it: has(ctx.env.{key}) && ...")
                return f"names an unknown argument {key!r} of {name} (its arguments: {declared})"
            if missing and args is minimal:
                return (f"reads the optional argument {missing.group(1)!r} of {name}, which "
                        f"may be absent (not required, no default); guard it: "
                        f"has(args.{missing.group(1)}) && ...")
            if case == "no stated confidence":
                return (f"fails when the agent states no confidence ({exc}); guard it: "
                        "confidence != null && ...")
            return f"for {name}: {exc}"
    return None


def check_conditions(manifest: Manifest) -> list[tuple[str, tuple[str | int, ...]]]:
    """Every problem of the manifest's `when:` conditions: (message, location)."""
    found: list[tuple[str, tuple[str | int, ...]]] = []
    for index, rule in enumerate(manifest.approvals.rules):
        if rule.when is None:
            continue
        loc: tuple[str | int, ...] = ("approvals", "rules", index, "when")
        matched = list(_matched_actions(manifest, rule))
        if not matched and manifest.agents:
            found.append((f"the rule matches no declared action, so `when: {rule.when}` is "
                          "never used; fix its action/agent/criticality/mutates matchers", loc))
        for name, spec in matched:
            problem = _problem(rule.when, name, spec, manifest)
            if problem is not None:
                found.append((f"`when: {rule.when}` {problem}", loc))
                break  # one message per rule
    return found
