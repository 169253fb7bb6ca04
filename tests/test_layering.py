"""Subsystems are leaves: the policy models of the manifest come from the subsystems, so no
subsystem imports `aios.manifest` back at run time; each layer or factory takes its own
section of the manifest, handed to it by the composition root (app.py, services.py, cli) or
the runtime. An import-linter-style check on the source, plus both import orders for real."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "aios"

#: The subsystems the manifest schema imports policy models from, and their neighbours.
LEAVES = ("llm", "routing", "reliability", "security", "approvals", "evaluation",
          "observability")

#: Modules of a leaf that may import the manifest, and why.
ALLOWED = {
    # The red-team suite attacks a manifest of its own target actions and reads its attack
    # catalog with the manifest's file:line source reader; nothing imports it back.
    "aios.security.redteam.agent_target",
    "aios.security.redteam.catalog",
}


def _runtime_imports(path: Path) -> set[str]:
    """The modules `path` imports when it runs: `if TYPE_CHECKING:` blocks are left out,
    imports inside functions are kept (they run too)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_leaf_imports_the_manifest() -> None:
    offenders = {}
    for leaf in LEAVES:
        for path in sorted((SRC / leaf).rglob("*.py")):
            name = _module_name(path)
            manifest = sorted(m for m in _runtime_imports(path)
                              if m == "aios.manifest" or m.startswith("aios.manifest."))
            if manifest and name not in ALLOWED:
                offenders[name] = manifest
    assert not offenders, offenders


def test_the_allowed_list_is_not_stale() -> None:
    for name in ALLOWED:
        path = SRC.parent / (name.replace(".", "/") + ".py")
        assert any(m.startswith("aios.manifest") for m in _runtime_imports(path)), name


def test_the_checker_sees_imports_inside_functions_and_skips_type_checking(
        tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from aios.manifest.schema import Manifest\n"
                      "def f():\n    import aios.manifest.loader\n")
    assert "aios.manifest.loader" in _runtime_imports(module)
    assert "aios.manifest.schema" not in _runtime_imports(module)


@pytest.mark.parametrize("first", ["aios.manifest", *(f"aios.{leaf}" for leaf in LEAVES)])
def test_any_import_order_works(first: str) -> None:
    """No cycle: the manifest first, or any subsystem first, then everything else."""
    rest = ["aios.manifest", *(f"aios.{leaf}" for leaf in LEAVES)]
    code = "; ".join(f"import {m}" for m in [first, *rest])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
