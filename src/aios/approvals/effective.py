"""Effective arguments: the given arguments with the action's JSON Schema defaults filled in.

An approver must see what will run, not only what was typed: a cleanup's target directory
may come from a `default:` in the action's `inputs` schema that nobody wrote in the step.
`effective_args` fills every default of an object schema's `properties` that the arguments
leave out (also inside nested objects that are given), and names each filled value by its
dotted path, so views can mark it as a default.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["EffectiveArgs", "effective_args"]


@dataclass(frozen=True)
class EffectiveArgs:
    """Arguments as they will reach the handler, and which of them are schema defaults.

    Attributes:
        values: the given arguments plus every schema default they leave out.
        defaults: dotted paths (`target`, `options.depth`) of the values filled from defaults.
    """

    values: dict[str, Any]
    defaults: tuple[str, ...]

    def is_default(self, path: str) -> bool:
        """True when the value at dotted `path` came from the schema, not the caller."""
        return path in self.defaults

    def rows(self) -> list[tuple[str, Any, bool]]:
        """(dotted path, value, is default) for each leaf, in key order, for tables."""
        out: list[tuple[str, Any, bool]] = []
        _leaves(self.values, "", self.defaults, out)
        return out


def _leaves(value: Mapping[str, Any], prefix: str, defaults: tuple[str, ...],
            out: list[tuple[str, Any, bool]]) -> None:
    for key in sorted(value):
        path = f"{prefix}{key}"
        item = value[key]
        # A nested object shows its own leaves unless it is a default as a whole.
        if isinstance(item, Mapping) and item and path not in defaults:
            _leaves(item, f"{path}.", defaults, out)
        else:
            out.append((path, item, path in defaults))


def _fill(args: dict[str, Any], schema: Mapping[str, Any], prefix: str,
          filled: list[str]) -> None:
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return
    for key, prop in props.items():
        if not isinstance(prop, Mapping):
            continue
        path = f"{prefix}{key}"
        if key not in args:
            if "default" in prop:
                args[key] = copy.deepcopy(prop["default"])
                filled.append(path)
        elif isinstance(args[key], dict):
            _fill(args[key], prop, f"{path}.", filled)


def effective_args(args: Mapping[str, Any], schema: Mapping[str, Any] | None) -> EffectiveArgs:
    """`args` with the defaults of `schema` (an action's `inputs`) filled in.

    Args:
        args: the arguments given (proposed, or as edited by an approver).
        schema: the action's JSON Schema; an empty or non-object schema adds nothing.

    Returns:
        The effective arguments and the paths of the defaulted values.
    """
    values = copy.deepcopy(dict(args))
    filled: list[str] = []
    if schema:
        _fill(values, schema, "", filled)
    return EffectiveArgs(values, tuple(sorted(filled)))
