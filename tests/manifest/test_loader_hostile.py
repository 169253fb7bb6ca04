"""Hostile and malformed manifests: each class ends in the usual file:line error (exit 2),
within bounds of memory and time, and validating never imports the modules handlers name.

The billion-laughs check runs in a subprocess under resource limits (address space and CPU
seconds), so a loader that expands aliases is killed instead of taking the machine with it;
nothing here reads a clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aios.cli.main import app as cli_app
from aios.errors import ManifestError
from aios.manifest import load_manifest

runner = CliRunner()

LAUGHS = "\n".join(
    ["a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]"
       for i in range(8)]
    + ["agents: *i"]) + "\n"

HOSTILE = {
    "deep-nesting.yaml": "agents: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep-mapping.yaml": "agents:\n" + "".join(f"{' ' * (i + 1)}k{i}:\n" for i in range(400)),
    "recursive-anchor.yaml": "agents: &a\n  x: *a\n",
    "recursive-list.yaml": "agents: &a [*a]\n",
    "unknown-tag.yaml": "name: !!python/object/apply:os.system ['echo hi']\nagents: {}\n",
    "custom-tag.yaml": "name: !mytag x\n",
    "list-as-key.yaml": "agents:\n  ? [a, b]\n  : x\n",
    "mapping-as-key.yaml": "agents:\n  ? {a: 1}\n  : x\n",
    "huge-int.yaml": "name: x\nbudget: " + "9" * 4400 + "\n",
    "laughs.yaml": LAUGHS,
    "deep-nesting.json": '{"agents": ' + "[" * 5000 + "]" * 5000 + "}",
    "huge-int.json": '{"name": ' + "9" * 5000 + "}",
    "deep.toml": "a = " + "[" * 2000 + "]" * 2000 + "\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_manifest_is_a_manifest_error_naming_the_file(tmp_path: Path,
                                                                name: str) -> None:
    path = tmp_path / name
    path.write_text(HOSTILE[name])
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    issue = info.value.issues[0]
    assert issue.file == str(path)
    assert issue.message


@pytest.mark.parametrize("name", ["unknown-tag.yaml", "list-as-key.yaml", "huge-int.yaml"])
def test_the_error_names_the_line(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(HOSTILE[name])
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.issues[0].line in (1, 2)


def test_validate_exits_2_on_each_hostile_manifest(tmp_path: Path) -> None:
    for name in ("recursive-anchor.yaml", "unknown-tag.yaml", "list-as-key.yaml",
                 "huge-int.yaml", "deep-nesting.json"):
        path = tmp_path / name
        path.write_text(HOSTILE[name])
        result = runner.invoke(cli_app, ["manifest", "validate", str(path)])
        assert result.exit_code == 2, (name, result.output)
        assert name in result.output


def test_a_manifest_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("name: x\ndescription: " + "y" * (3 * 1024 * 1024) + "\n")
    with pytest.raises(ManifestError, match="larger than"):
        load_manifest(path)


_BOUNDED = """
import resource, sys
from aios.errors import ManifestError
from aios.manifest import load_manifest

used = resource.getrusage(resource.RUSAGE_SELF)
cpu = int(used.ru_utime + used.ru_stime) + 2
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
with open("/proc/self/statm") as fh:
    size = int(fh.read().split()[0]) * resource.getpagesize()
limit = size + 100 * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    load_manifest(sys.argv[1])
except ManifestError as exc:
    print("refused:", exc.issues[0].message)
    sys.exit(2)
sys.exit(0)
"""


def test_billion_laughs_is_refused_within_100_mb_and_a_cpu_second_or_two(
        tmp_path: Path) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(LAUGHS)
    assert len(LAUGHS) < 12_000
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(sys.path)  # the aios these tests import
    done = subprocess.run([sys.executable, "-c", _BOUNDED, str(path)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr[-2000:])
    assert "refused:" in done.stdout


ZEN = "Beautiful is better than ugly"


def test_validate_does_not_import_the_modules_handlers_name(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent("""\
        name: zen
        agents:
          z:
            actions:
              s: {handler: "this:s"}
              gone: {handler: "this:no_such_name"}
        """))
    result = runner.invoke(cli_app, ["manifest", "validate", str(path)])
    assert ZEN not in result.output
    assert result.exit_code == 2, result.output
    assert "no_such_name" in result.output and "m.yaml:6" in result.output


def test_validate_checks_a_handler_module_statically(tmp_path: Path) -> None:
    module = tmp_path / "noisy_handlers_mod.py"
    module.write_text("print('IMPORTED AT VALIDATION')\n\ndef act(ctx):\n    return 1\n"
                      "LABEL = 'text'\n")
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent("""\
        name: noisy
        agents:
          n:
            actions:
              act: {handler: "noisy_handlers_mod:act"}
        """))
    sys.path.insert(0, str(tmp_path))
    try:
        ok = runner.invoke(cli_app, ["manifest", "validate", str(path)])
        assert ok.exit_code == 0, ok.output
        assert "IMPORTED AT VALIDATION" not in ok.output
        assert "noisy_handlers_mod" not in sys.modules
        path.write_text(path.read_text().replace(":act", ":LABEL"))
        bad = runner.invoke(cli_app, ["manifest", "validate", str(path)])
        assert bad.exit_code == 2 and "not callable" in bad.output
        path.write_text(path.read_text().replace(":LABEL", ":act"))
        imported = runner.invoke(cli_app, ["manifest", "validate", str(path), "--import"])
        assert imported.exit_code == 0, imported.output
        assert "noisy_handlers_mod" in sys.modules  # --import imports, as running does
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("noisy_handlers_mod", None)
