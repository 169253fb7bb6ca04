"""Manifest loading: every bad input names its file, line and field, and says how to fix it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from aios.app import load_manifest as load_checked
from aios.errors import ManifestError
from aios.manifest import json_schema, load_manifest
from aios.runtime.handlers import HandlerRegistry

GOOD = """\
name: demo
agents:
  kernel:
    description: kernel things
    actions:
      ps:
        handler: kernel.processes
      kill:
        handler: kernel.terminate_process
        mutates: true
        criticality: critical
sequences:
  boot:
    steps:
      - action: kernel.ps
      - action: kernel.kill
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def issues_of(path: Path, **kwargs: object) -> list:
    with pytest.raises(ManifestError) as info:
        load_manifest(path, **kwargs)  # type: ignore[arg-type]
    return list(info.value.issues)


def test_valid_yaml_loads_with_defaults(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, "m.yaml", GOOD))
    assert manifest.action_names() == ["kernel.ps", "kernel.kill"]
    assert manifest.action("kernel.kill").mutates is True
    assert manifest.sequences["boot"].dependencies() == {"kernel.ps": [],
                                                         "kernel.kill": ["kernel.ps"]}


def test_json_and_toml_load_the_same_manifest(tmp_path: Path) -> None:
    yaml_manifest = load_manifest(write(tmp_path, "m.yaml", GOOD))
    data = yaml_manifest.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    json_manifest = load_manifest(write(tmp_path, "m.json", json.dumps(data, indent=2)))
    toml_text = """\
    name = "demo"
    [agents.kernel]
    description = "kernel things"
    [agents.kernel.actions.ps]
    handler = "kernel.processes"
    [agents.kernel.actions.kill]
    handler = "kernel.terminate_process"
    mutates = true
    criticality = "critical"
    [[sequences.boot.steps]]
    action = "kernel.ps"
    [[sequences.boot.steps]]
    action = "kernel.kill"
    """
    toml_manifest = load_manifest(write(tmp_path, "m.toml", toml_text))
    assert json_manifest == yaml_manifest == toml_manifest


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "name: demo\nagents:\n  kernel: [unclosed\n")
    (issue,) = issues_of(path)
    assert issue.file == str(path)
    assert issue.line is not None and issue.line >= 3
    assert "YAML syntax error" in issue.message


def test_json_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", '{\n  "name": "demo",\n  "agents": {,}\n}\n')
    (issue,) = issues_of(path)
    assert issue.line == 3
    assert "JSON syntax error" in issue.message


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", 'name = "demo"\n[agents\n')
    (issue,) = issues_of(path)
    assert issue.line == 2
    assert "TOML syntax error" in issue.message


def test_unknown_field_names_its_line_and_path(tmp_path: Path) -> None:
    text = GOOD.replace("        handler: kernel.processes\n",
                        "        handler: kernel.processes\n        timeot: 5\n")
    (issue,) = issues_of(write(tmp_path, "m.yaml", text))
    assert issue.path == "agents.kernel.actions.ps.timeot"
    assert issue.line == 8
    assert "unknown field 'timeot'" in issue.message


def test_bad_enum_value_names_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("criticality: critical", "criticality: severe")
    (issue,) = issues_of(write(tmp_path, "m.yaml", text))
    assert issue.path == "agents.kernel.actions.kill.criticality"
    assert issue.line == 11
    assert "'critical'" in issue.message


def test_step_naming_an_undeclared_action_suggests_the_close_one(tmp_path: Path) -> None:
    text = GOOD.replace("- action: kernel.kill", "- action: kernel.kil")
    (issue,) = issues_of(write(tmp_path, "m.yaml", text))
    assert issue.path == "sequences.boot.steps.1.action"
    assert issue.line == 16
    assert "unknown action 'kernel.kil'" in issue.message
    assert "did you mean 'kernel.kill'" in issue.message


def test_duplicate_agent_key_in_yaml_names_both_lines(tmp_path: Path) -> None:
    text = GOOD + "agents:\n  other: {}\n"
    (issue,) = issues_of(write(tmp_path, "m.yaml", text))
    assert "duplicate key 'agents'" in issue.message
    assert issue.line == 17
    assert "line 2" in issue.message


def test_duplicate_action_key_in_json_is_not_silently_merged(tmp_path: Path) -> None:
    text = ('{"agents": {"kernel": {"actions": {\n'
            '  "ps": {"handler": "kernel.processes"},\n'
            '  "ps": {"handler": "kernel.resources"}\n'
            "}}}}\n")
    (issue,) = issues_of(write(tmp_path, "m.json", text))
    assert issue.path == "agents.kernel.actions.ps"
    assert issue.line == 3


def test_duplicate_step_ids_are_reported(tmp_path: Path) -> None:
    text = GOOD + "      - action: kernel.ps\n"
    (issue,) = issues_of(write(tmp_path, "m.yaml", text))
    assert "duplicate step id 'kernel.ps'" in issue.message
    assert issue.line == 17


def test_depends_on_cycle_is_reported_with_the_loop(tmp_path: Path) -> None:
    text = GOOD + (
        "  loop:\n"
        "    steps:\n"
        "      - {id: a, action: kernel.ps, depends_on: [c]}\n"
        "      - {id: b, action: kernel.ps, depends_on: [a]}\n"
        "      - {id: c, action: kernel.ps, depends_on: [b]}\n")
    (issue,) = issues_of(write(tmp_path, "m.yaml", text))
    assert "cycle" in issue.message and "a -> c -> b -> a" in issue.message
    assert issue.line == 19


def test_depends_on_unknown_step_is_reported(tmp_path: Path) -> None:
    text = GOOD.replace("- action: kernel.kill", "- {action: kernel.kill, depends_on: [nope]}")
    (issue,) = issues_of(write(tmp_path, "m.yaml", text))
    assert "depends_on names unknown step 'nope'" in issue.message
    assert issue.line == 16


def test_handler_that_cannot_be_imported_is_reported(tmp_path: Path) -> None:
    text = GOOD.replace("handler: kernel.processes", "handler: no_such_module_xyz:fn")
    with pytest.raises(ManifestError) as info:
        load_checked(write(tmp_path, "m.yaml", text))
    (issue,) = info.value.issues
    assert issue.path == "agents.kernel.actions.ps.handler"
    assert issue.line == 7
    assert "cannot import module 'no_such_module_xyz'" in issue.message


def test_handler_that_is_not_a_builtin_lists_the_builtins(tmp_path: Path) -> None:
    text = GOOD.replace("handler: kernel.processes", "handler: kernel.procs")
    registry = HandlerRegistry.builtin()
    with pytest.raises(ManifestError) as info:
        load_manifest(write(tmp_path, "m.yaml", text), check_handler=registry.check)
    assert "kernel.processes" in info.value.issues[0].message


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("- action: kernel.ps", "- action: kernel.nope").replace(
        "- action: kernel.kill", "- action: other.kill")
    issues = issues_of(write(tmp_path, "m.yaml", text))
    assert len(issues) == 2


def test_unknown_extension_and_missing_file_are_clear(tmp_path: Path) -> None:
    (issue,) = issues_of(write(tmp_path, "m.ini", "x=1"))
    assert "unknown manifest format '.ini'" in issue.message
    (issue,) = issues_of(tmp_path / "absent.yaml")
    assert "file not found" in issue.message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    (issue,) = issues_of(write(tmp_path, "m.yaml", "- a\n- b\n"))
    assert "top level must be a mapping" in issue.message


def test_env_overrides_replace_manifest_values(tmp_path: Path) -> None:
    text = "env:\n  A: one\n  B: two\n" + GOOD
    manifest = load_manifest(write(tmp_path, "m.yaml", text), env={"B": "three"})
    assert manifest.env == {"A": "one", "B": "three"}


def test_agent_and_action_names_must_be_identifiers(tmp_path: Path) -> None:
    (issue,) = issues_of(write(tmp_path, "m.yaml", GOOD.replace("  kernel:\n", "  Kernel-X:\n")))
    assert "agent name 'Kernel-X'" in issue.message


def test_default_manifest_is_valid_and_every_mutating_action_is_gated() -> None:
    manifest = load_checked()
    mutating = [n for n in manifest.action_names() if manifest.action(n).mutates]
    assert mutating, "the default manifest declares mutating actions"
    assert all(manifest.action(n).criticality.rank >= 2 for n in mutating)
    assert {"boot", "shutdown"} <= set(manifest.sequences)


def test_json_schema_describes_every_top_level_field() -> None:
    schema = json_schema()
    assert {"agents", "sequences", "env"} <= set(schema["properties"])  # type: ignore[arg-type]
    json.dumps(schema)
