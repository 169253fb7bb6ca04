"""Arguments of a natural-language request: what the user said, and where each value came from.

`aios prompt` must never drop the user's own values nor run a change on values nobody gave.
Every argument of a planned call carries its source:

- ``request``: the user's request states it (read from it by `extract`, or, when a model
  chose the value, found in it by `ground`);
- ``default``: the action's `params` or its schema's `default` supplies it;
- ``model``: a model chose it and the request does not contain it;
- ``missing``: nobody gives it (the action's own handler default, if any, applies).

`refusal` says why a call may not run: a **mutating** action runs only when each of its
**required** arguments comes from the request (a default or a model's guess is refused, with
the argument named). Read-only actions run on defaults; the plan shows which ones.

Reading values out of a request is deliberately plain (no model): ``name=value``,
``name: value`` or ``name value``; an enum member named in the text; a path (``/var/tmp``,
``~/x``, ``./y``) for an argument whose name says path, directory, file...; a number followed by
the argument's unit word (``30 days`` for ``older_than_days``), or the only number for the only
numeric argument; a quoted string for the first string argument still empty; a boolean argument
whose name is a phrase of the request (``dry run``) is true.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the manifest schema imports aios.routing.spec
    from aios.manifest.schema import Action

__all__ = ["SOURCES", "ArgValue", "extract", "ground", "plan_arguments", "refusal"]

#: Where an argument's value came from.
SOURCES = ("request", "default", "model", "missing")

_PATH = re.compile(r"(?<![\w/.~])(?:~|\.{1,2})?/[\w.\-/~*@%+]*")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_QUOTED = re.compile(r"\"([^\"]+)\"|'([^']+)'|`([^`]+)`")
_PATH_NAMES = frozenset(["path", "dir", "directory", "folder", "file", "filename", "root",
                         "mount", "location", "target"])
_VALUE_LIKE = re.compile(r"[\d/._\-\"'`~*]")
_TRUE = frozenset(["true", "yes", "on", "1"])
_FALSE = frozenset(["false", "no", "off", "0"])


@dataclass(frozen=True)
class ArgValue:
    """One argument of a planned call.

    Attributes:
        value: the value (None when `source` is `missing`).
        source: one of `SOURCES`.
    """

    value: Any
    source: str

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able record."""
        return {"value": self.value, "source": self.source}


def _properties(spec: Action) -> dict[str, dict[str, Any]]:
    props = spec.inputs.get("properties", {}) if isinstance(spec.inputs, dict) else {}
    return {k: v if isinstance(v, dict) else {} for k, v in props.items()}


def _required(spec: Action) -> list[str]:
    required = spec.inputs.get("required", []) if isinstance(spec.inputs, dict) else []
    return [r for r in required if isinstance(r, str)]


def _types(prop: dict[str, Any]) -> set[str]:
    kind = prop.get("type")
    if isinstance(kind, list):
        return {str(k) for k in kind}
    if isinstance(kind, str):
        return {kind}
    if "enum" in prop:
        return {type(v).__name__.replace("str", "string") for v in prop["enum"]}
    return {"string"}


def _coerce(text: str, prop: dict[str, Any]) -> Any:
    """`text` as a value of `prop`'s type, or None when it is not one."""
    text = text.strip().strip("\"'`").rstrip(".,;")
    if not text:
        return None
    types = _types(prop)
    if "enum" in prop:
        for member in prop["enum"]:
            if str(member).lower() == text.lower():
                return member
        return None
    if "boolean" in types and text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    if types & {"integer", "number"} and _NUMBER.fullmatch(text):
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    if "string" in types:
        return text
    return None


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[_\-\s]+", name.lower()) if w]


def _phrase(name: str) -> str:
    return r"[\s_\-]+".join(re.escape(w) for w in _words(name))


def extract(text: str, spec: Action) -> dict[str, ArgValue]:
    """The arguments of `spec` that `text` states, each with source `request`."""
    props = _properties(spec)
    found: dict[str, ArgValue] = {}
    used: set[str] = set()

    def take(name: str, raw: str, value: Any) -> None:
        found[name] = ArgValue(value, "request")
        used.add(raw.strip().strip("\"'`").rstrip(".,;").lower())

    order = _required(spec) + [p for p in props if p not in _required(spec)]
    for name in order:  # name=value, name: value, --name value, name value
        prop = props.get(name, {})
        pattern = re.compile(rf"(?:--)?\b{_phrase(name)}\b\s*(=|:|\s)\s*"
                             r"(\"[^\"]*\"|'[^']*'|`[^`]*`|\S+)", re.IGNORECASE)
        for match in pattern.finditer(text):
            raw = match.group(2)
            # "name value" only when the value looks like one: "the directory of logs" is
            # English, "directory /srv" or "service nginx-2" is an argument.
            if match.group(1).isspace() and "enum" not in prop and not _VALUE_LIKE.search(raw):
                continue
            value = _coerce(raw, prop)
            if value is not None:
                take(name, raw, value)
                break
    for name in order:
        if name in found:
            continue
        prop = props.get(name, {})
        types = _types(prop)
        value = _from_text(text, name, prop, types, used)
        if value is not None:
            take(name, str(value[0]), value[1])
    return found


def _from_text(text: str, name: str, prop: dict[str, Any], types: set[str],
               used: set[str]) -> tuple[str, Any] | None:
    lowered = text.lower()
    if "enum" in prop:
        for member in prop["enum"]:
            if re.search(rf"(?<![\w-]){re.escape(str(member).lower())}(?![\w-])", lowered):
                return str(member), member
        return None
    if types == {"boolean"}:
        if re.search(rf"\b{_phrase(name)}\b", lowered):
            return name, True
        return None
    if ("string" in types and set(_words(name)) & _PATH_NAMES) or prop.get("format") == "path":
        for match in _PATH.finditer(text):
            if match.group(0).lower() not in used and len(match.group(0)) > 1:
                return match.group(0), match.group(0).rstrip(".,;")
    if types & {"integer", "number"}:
        unit = _words(name)[-1] if _words(name) else name
        for match in _NUMBER.finditer(text):
            after = text[match.end():].lstrip().lower()
            if match.group(0) not in used and after.startswith(unit.rstrip("s")):
                return match.group(0), _coerce(match.group(0), prop)
    if "string" in types:
        for match in _QUOTED.finditer(text):
            raw = next(g for g in match.groups() if g is not None)
            if raw.lower() not in used:
                return raw, raw
    return None


def _sole_numbers(text: str, spec: Action, found: dict[str, ArgValue]) -> dict[str, ArgValue]:
    """The only number of the text for the only numeric argument, when both are unique."""
    numeric = [n for n, p in _properties(spec).items() if _types(p) & {"integer", "number"}]
    numbers = _NUMBER.findall(text)
    if len(numeric) != 1 or len(numbers) != 1 or numeric[0] in found:
        return {}
    taken = {str(v.value) for v in found.values()}
    if numbers[0] in taken:
        return {}
    value = _coerce(numbers[0], _properties(spec)[numeric[0]])
    return {numeric[0]: ArgValue(value, "request")} if value is not None else {}


def _defaults(spec: Action) -> dict[str, Any]:
    out = {k: p["default"] for k, p in _properties(spec).items() if "default" in p}
    out.update(spec.params)
    return out


def plan_arguments(text: str, spec: Action) -> dict[str, ArgValue]:
    """Every argument of `spec` for a request that names the action but gives no call:
    read from `text`, else a default, else missing (required arguments only)."""
    found = extract(text, spec)
    found.update(_sole_numbers(text, spec, found))
    out = dict(found)
    for name, value in _defaults(spec).items():
        out.setdefault(name, ArgValue(value, "default"))
    for name in _required(spec):
        out.setdefault(name, ArgValue(None, "missing"))
    return out


def _stated(value: Any, text: str) -> bool:
    """Whether the request `text` contains `value`."""
    lowered = " ".join(text.lower().split())
    if isinstance(value, bool):
        return False  # a flag's value is the request's only by name (see `ground`)
    if isinstance(value, int | float):
        return any(float(n) == float(value) for n in _NUMBER.findall(text))
    if isinstance(value, str):
        needle = " ".join(value.lower().split())
        return bool(needle) and (needle in lowered or (needle.rstrip("/") in lowered
                                 and len(needle.rstrip("/")) > 1))
    if isinstance(value, list):
        return bool(value) and all(_stated(v, text) for v in value)
    if isinstance(value, dict):
        return bool(value) and all(_stated(v, text) for v in value.values())
    return False


def ground(text: str, spec: Action, args: dict[str, Any]) -> dict[str, ArgValue]:
    """Where each argument a model chose came from (`request` or `model`), with the defaults
    it left to the action (`default`)."""
    out: dict[str, ArgValue] = {}
    for name, value in args.items():
        named = isinstance(value, bool) and bool(re.search(rf"\b{_phrase(name)}\b", text.lower()))
        out[name] = ArgValue(value, "request" if named or _stated(value, text) else "model")
    for name, value in _defaults(spec).items():
        out.setdefault(name, ArgValue(value, "default"))
    return out


def refusal(action: str, spec: Action, args: dict[str, ArgValue]) -> str | None:
    """Why `action` may not run with `args`, or None.

    A mutating action needs each required argument from the request: a default, a model's
    choice or a missing value is refused, naming the argument.
    """
    if not spec.mutates:
        return None
    for name in _required(spec):
        arg = args.get(name, ArgValue(None, "missing"))
        if arg.source == "request":
            continue
        how = {"missing": "the request does not give it",
               "default": f"only a default ({arg.value!r}) gives it",
               "model": f"the model chose {arg.value!r}, which the request does not "
                        "contain"}[arg.source]
        return (f"{action} changes the system and was not run: its required argument "
                f"`{name}` is not in the request ({how}); say it, e.g. `{name}=...`")
    return None
