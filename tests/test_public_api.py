"""The public API: what `import aios` exports, and the README's example actually runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import aios

ROOT = Path(__file__).resolve().parents[1]


def test_every_exported_name_exists() -> None:
    for name in aios.__all__:
        assert hasattr(aios, name), name


def test_public_api_is_pinned() -> None:
    assert set(aios.__all__) >= {"ActionContext", "AiosError", "HandlerRegistry", "Manifest",
                                 "RunResult", "Runtime", "Settings", "Store", "handler",
                                 "load_manifest", "open_runtime"}


def test_readme_python_example_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Python API\s+```python\n(.*?)```", readme, re.S)
    assert block, "the README lost its Python example"
    script = tmp_path / "example.py"
    script.write_text(block.group(1))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env={"AIOS_HOME": str(tmp_path / "home"),
                                            "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "succeeded {'greeting': 'hello team'}"


def test_readme_manifest_example_is_valid(tmp_path: Path) -> None:
    from aios.manifest import load_manifest

    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## A manifest\s+```yaml\n(.*?)```", readme, re.S)
    assert block, "the README lost its manifest example"
    path = tmp_path / "readme.yaml"
    path.write_text(block.group(1))
    manifest = load_manifest(path)  # schema and references; its handler module is fictional
    assert manifest.action("storage.rotate_logs").mutates
    assert set(manifest.models) == {"fast", "smart"}


def test_manifest_reference_in_docs_matches_the_schema() -> None:
    from aios.manifest import json_schema
    from aios.manifest.reference import markdown_reference

    assert (ROOT / "docs" / "manifest.md").read_text() == markdown_reference(json_schema()), \
        "regenerate: aios manifest schema --markdown > docs/manifest.md"
