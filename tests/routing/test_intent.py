"""Natural-language prompts: clause splitting, matching, `aios prompt`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aios.app import load_manifest
from aios.cli.main import app
from aios.embeddings import EmbeddingService
from aios.errors import ConfigError
from aios.routing import IntentMatcher, split_clauses

runner = CliRunner()

MANIFEST = """
version: 1
name: intent-test
agents:
  web:
    description: The web server.
    actions:
      restart:
        description: Restart the nginx web server.
        handler: kernel.resources
        criticality: high
        mutates: true
      status:
        description: Show whether nginx is running and its open connections.
        handler: kernel.resources
  db:
    description: The database.
    actions:
      backup:
        description: Dump the Postgres database to a backup file.
        handler: kernel.resources
        criticality: medium
        mutates: true
"""


def test_split_clauses_carries_the_verb() -> None:
    assert split_clauses("enable firewall and check container load") == [
        "enable firewall", "check container load"]
    assert split_clauses("check disks, memory and network interfaces") == [
        "check disks", "check memory", "check network interfaces"]
    assert split_clauses("restart nginx; then back up the database.") == [
        "restart nginx", "back up the database"]


def test_intent_matching_on_a_manifest_of_our_own(tmp_path: Path,
                                                  embedder: EmbeddingService) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST)
    manifest = load_manifest(path)
    plan = IntentMatcher(manifest, embedder).match(
        "restart the web server and back up the database, then bake a cake")
    assert [m.action for m in plan.matches] == ["web.restart", "db.backup", None]
    assert plan.matches[0].mutates and plan.matches[0].criticality == "high"
    assert plan.unmatched[0].alternatives  # the closest actions are listed
    assert plan.actions == ["web.restart", "db.backup"]
    assert IntentMatcher(manifest, embedder).match("is nginx running?").actions == [
        "web.status"]


def test_empty_prompt_is_refused(embedder: EmbeddingService) -> None:
    with pytest.raises(ConfigError, match="empty"):
        IntentMatcher(load_manifest(), embedder).match("   ")


def test_prompt_dry_run_matches_container_load_on_the_default_manifest() -> None:
    result = runner.invoke(app, ["prompt", "--dry-run", "--json", "check container load"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["dry_run"] and plan["runs"] == []
    assert plan["actions"][0] in ("application.containers", "scalability.assess",
                                  "kernel.resources")
    human = runner.invoke(app, ["prompt", "--dry-run",
                                "enable firewall and check container load"])
    assert human.exit_code == 0 and "criticality" in human.stdout
    assert "application.containers" in human.stdout


def test_prompt_runs_matched_actions_through_the_runtime_and_forensic_applies() -> None:
    result = runner.invoke(app, ["prompt", "--json", "--forensic",
                                 "show disk space and delete old temp files"])
    plan = json.loads(result.stdout)
    assert plan["actions"] == ["storage.disks", "storage.clean_old_files"]
    runs = {r["action"]: r for r in plan["runs"]}
    assert runs["storage.disks"]["status"] == "succeeded"
    step = next(iter(runs["storage.clean_old_files"]["steps"].values()))
    assert step["status"] == "skipped"  # forensic mode: the mutating action never runs


def test_prompt_without_any_match_exits_non_zero_and_lists_the_closest() -> None:
    result = runner.invoke(app, ["prompt", "--dry-run", "bake a chocolate cake"])
    assert result.exit_code == 1
    assert "no action found" in result.stdout and "closest" in result.stdout
    empty = runner.invoke(app, ["prompt", ""])
    assert empty.exit_code == 2 and "empty" in empty.output
