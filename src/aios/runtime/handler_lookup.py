"""Checking a `module:function` handler reference without importing anything.

Importing a module runs its code, so validating an untrusted manifest must not import the
modules its handlers name (`handler: "this:s"` would print the Zen of Python, and worse is
easy). `check_statically` finds the module's file the way the import system would, without
executing it or its parent packages, and reads the file's syntax tree for the name.
"""

from __future__ import annotations

import ast
import sys
from importlib.machinery import BuiltinImporter, FrozenImporter, ModuleSpec, PathFinder
from pathlib import Path

__all__ = ["check_statically", "find_module_spec"]


def find_module_spec(name: str) -> ModuleSpec | None:
    """The spec of module `name`, found without importing it or its parent packages."""
    parts = name.split(".")
    if not all(part.isidentifier() for part in parts):
        return None
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__spec__", None) is not None:
        return loaded.__spec__
    spec = (BuiltinImporter.find_spec(parts[0]) or FrozenImporter.find_spec(parts[0])
            or PathFinder.find_spec(parts[0], sys.path))
    for depth in range(1, len(parts)):
        if spec is None or spec.submodule_search_locations is None:
            return None
        spec = PathFinder.find_spec(".".join(parts[:depth + 1]),
                                    list(spec.submodule_search_locations))
    return spec


def _bindings(tree: ast.Module) -> dict[str, ast.AST]:
    """Names bound at the top level of a module, with the statement that binds them."""
    found: dict[str, ast.AST] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found[stmt.name] = stmt
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                for node in ast.walk(target):
                    if isinstance(node, ast.Name):
                        found[node.id] = stmt
        elif isinstance(stmt, ast.AnnAssign | ast.AugAssign) and isinstance(stmt.target,
                                                                             ast.Name):
            found[stmt.target.id] = stmt
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            for alias in stmt.names:
                found[(alias.asname or alias.name).split(".")[0]] = stmt
        elif isinstance(stmt, ast.If | ast.Try):  # `try: import x` and platform branches
            inner = ast.Module(body=[s for s in ast.walk(stmt) if isinstance(s, ast.stmt)
                                     and s is not stmt], type_ignores=[])
            for key, value in _bindings(inner).items():
                found.setdefault(key, value)
    return found


def check_statically(ref: str) -> str | None:
    """None when `module:function` plausibly resolves, else why not; nothing is imported.

    The module must exist on the import path; when it is Python source, its top level must
    bind the first part of the name, and not to a plain constant (not callable). Names
    created dynamically (star imports, `globals()`) or modules without source (extensions)
    are accepted: running imports them and checks again.
    """
    module_name, _, attr = ref.partition(":")
    spec = find_module_spec(module_name)
    if spec is None:
        return (f"handler {ref!r}: cannot find module {module_name!r}; is it installed and on "
                "PYTHONPATH? (`aios manifest validate --import` imports it to check)")
    origin = spec.origin
    if not origin or not origin.endswith(".py") or not Path(origin).is_file():
        return None  # built-in, frozen, extension or namespace: only importing can tell
    try:
        tree = ast.parse(Path(origin).read_bytes(), filename=origin)
    except (OSError, SyntaxError, ValueError) as exc:
        return f"handler {ref!r}: module {module_name!r} cannot be read ({exc})"
    if any(isinstance(s, ast.ImportFrom) and any(a.name == "*" for a in s.names)
           for s in tree.body):
        return None  # a star import binds names only importing can see
    first = attr.split(".")[0]
    binding = _bindings(tree).get(first)
    if binding is None:
        return f"handler {ref!r}: module {module_name!r} has no attribute {first!r}"
    if (len(attr.split(".")) == 1 and isinstance(binding, ast.Assign)
            and isinstance(binding.value, ast.Constant)):
        return f"handler {ref!r} is not callable (it is a {type(binding.value.value).__name__})"
    return None
