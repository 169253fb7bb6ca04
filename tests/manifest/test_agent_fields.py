"""Model-driven agent fields: documented in the schema, references checked at load."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from aios.errors import ManifestError
from aios.manifest import json_schema, load_manifest

BASE = """\
agents:
  ops:
    actions:
      df: {handler: kernel.processes}
      wipe: {handler: kernel.processes, mutates: true, criticality: high}
  storage:
    actions:
      read_usage: {handler: kernel.processes}
      read_quota: {handler: kernel.processes}
"""


def load(tmp_path: Path, agent_extra: str) -> object:
    path = tmp_path / "m.yaml"
    path.write_text(BASE.replace("  ops:\n", "  ops:\n" + textwrap.indent(
        textwrap.dedent(agent_extra), "    ")))
    return load_manifest(path)


def issues(tmp_path: Path, agent_extra: str) -> list:
    with pytest.raises(ManifestError) as info:
        load(tmp_path, agent_extra)
    return list(info.value.issues)


def test_every_agent_field_is_documented_in_the_json_schema() -> None:
    props = json_schema()["$defs"]["Agent"]["properties"]
    for name in ("model", "instructions", "tools", "max_turns", "autonomy", "budget"):
        assert props[name].get("description"), name
    assert props["autonomy"]["minimum"] == 0 and props["autonomy"]["maximum"] == 4


def test_tools_default_to_own_actions_and_globs_resolve(tmp_path: Path) -> None:
    manifest = load(tmp_path, "model: auto\n")
    assert manifest.agent_tools("ops") == ["ops.df", "ops.wipe"]  # type: ignore[attr-defined]
    manifest = load(tmp_path, "tools: [ops.df, 'storage.read_*', ops.df]\n")
    assert manifest.agent_tools("ops") == [  # type: ignore[attr-defined]
        "ops.df", "storage.read_usage", "storage.read_quota"]


def test_a_tool_glob_matching_nothing_names_the_field_and_line(tmp_path: Path) -> None:
    found = issues(tmp_path, "tools: [ops.df, 'network.*']\n")
    assert [(i.path, i.line) for i in found] == [("agents.ops.tools.1", 3)]
    assert "'network.*' matches no declared action" in found[0].message


def test_an_unknown_model_names_the_alternatives(tmp_path: Path) -> None:
    found = issues(tmp_path, "model: gpt-5\n")
    assert found[0].path == "agents.ops.model"
    assert "local" in found[0].message and "simple" in found[0].message
    assert load(tmp_path, "model: complex\n")  # a tier is fine


@pytest.mark.parametrize("bad", ["autonomy: 5\n", "autonomy: -1\n", "max_turns: 0\n",
                                 "budget: {tokens: -1}\n"])
def test_out_of_range_values_are_refused(tmp_path: Path, bad: str) -> None:
    found = issues(tmp_path, bad)
    assert found[0].path.startswith("agents.ops.")
