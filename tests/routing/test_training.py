"""Training the classifier (`aios router train`) and reading routing data."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from aios.cli.main import app
from aios.embeddings import EmbeddingService
from aios.errors import ConfigError
from aios.llm.types import LLMRequest, ModelInfo
from aios.routing import Router, TierClassifier, assign_tiers, read_routing_data, train_router
from aios.routing.baselines import per_task_mix

runner = CliRunner()
STRONG, WEAK = "gpt-4-1106-preview", "mistralai/mistral-7b-chat"


def slice_csv(source: Path, out: Path, rows_per_file: int) -> Path:
    """A small copy (in tmp_path) of the first rows of each RouterBench file."""
    csv.field_size_limit(sys.maxsize)
    out.mkdir(parents=True, exist_ok=True)
    for file in sorted(source.glob("*.csv")):
        with file.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = [row for _, row in zip(range(rows_per_file), reader, strict=False)]
            fields = reader.fieldnames or []
        with (out / file.name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    return out


def test_train_command_prints_the_baseline_table(routing_dir: Path, tmp_path: Path) -> None:
    data = slice_csv(routing_dir, tmp_path / "slice", 100)
    out = tmp_path / "router.npz"
    result = runner.invoke(app, ["router", "train", "--folder", str(data), "--out", str(out),
                                 "--strong", STRONG, "--weak", WEAK, "--seed", "1", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    names = [o["name"] for o in report["outcomes"]]
    assert names == ["router", "always-strongest", "always-cheapest", "random",
                     "per-task mix (hindsight)", "oracle"]
    assert report["strongest"] == STRONG and report["cheapest"] == WEAK
    assert report["n_train"] + report["n_test"] + report["dropped_rows"] == 300
    oracle = report["outcomes"][-1]
    assert all(o["accuracy"] <= oracle["accuracy"] for o in report["outcomes"])
    classifier = TierClassifier.load(out)
    assert [r.name for r in classifier.references] == [WEAK, STRONG]
    assert classifier.tiers == ["simple", "complex"]
    human = runner.invoke(app, ["router", "train", "--folder", str(data), "--strong", STRONG,
                                "--weak", WEAK])
    assert human.exit_code == 0 and "always-strongest" in human.stdout
    assert "oracle" in human.stdout and "target" in human.stdout
    shown = runner.invoke(app, ["router", "show", str(out), "--json"])
    assert json.loads(shown.stdout)["embedder"] == classifier.embedder


def test_training_on_every_model_assigns_tiers_by_price(routing_dir: Path, tmp_path: Path,
                                                        embedder: EmbeddingService) -> None:
    data = read_routing_data([], folders=[slice_csv(routing_dir, tmp_path / "s", 80)])
    assert len(data.models) == 11
    classifier, report = train_router(data, embedder, seed=0, folds=3)
    tiers = {r.name: r.tier for r in classifier.references}
    assert tiers[STRONG] == "complex" and tiers[WEAK] == "simple"
    assert report.outcome("router").cost <= report.outcome("always-strongest").cost * 1.001
    router = Router(classifier=classifier, embedder=embedder)
    decision = router.route(LLMRequest.of("Write a function to reverse a string."), [
        ModelInfo("s", "openai", "s", tier="simple"),
        ModelInfo("m", "openai", "m", tier="medium"),
        ModelInfo("c", "openai", "c", tier="complex")])
    assert decision.model in ("s", "m", "c") and decision.scores


def test_assign_tiers_cuts_at_the_largest_price_gaps() -> None:
    tiers = assign_tiers({"a": 0.1, "b": 0.12, "c": 0.4, "d": 0.45, "e": 5.0, "f": 6.0})
    assert tiers == {"a": "simple", "b": "simple", "c": "medium", "d": "medium",
                     "e": "complex", "f": "complex"}
    assert assign_tiers({"x": 1.0, "y": 2.0}) == {"x": "simple", "y": "complex"}


def test_a_missing_column_names_the_file_and_the_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("prompt,m1,m1|total_cost,m2\nhello,1,0.1,0\n")
    with pytest.raises(ConfigError, match=r"bad\.csv:1: column 'm2\|total_cost' is missing"):
        read_routing_data([bad], ["m1", "m2"])
    no_prompt = tmp_path / "noprompt.csv"
    no_prompt.write_text("text,m1,m1|total_cost\nhello,1,0.1\n")
    result = runner.invoke(app, ["router", "train", str(no_prompt)])
    assert result.exit_code == 2
    assert "noprompt.csv:1: column 'prompt' is missing" in result.output
    assert "no such file" in runner.invoke(
        app, ["router", "train", str(tmp_path / "none.csv")]).output
    one = runner.invoke(app, ["router", "train", str(bad), "--strong", "m1"])
    assert one.exit_code == 2 and "--weak" in one.output


def test_bad_values_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "values.csv"
    bad.write_text("prompt,a,a|total_cost,b,b|total_cost\nhi,1,0.1,0,0.2\nho,yes,0.1,0,0.2\n")
    with pytest.raises(ConfigError, match=r"values\.csv:3"):
        read_routing_data([bad])


def test_the_packaged_classifier_loads_and_routes(embedder: EmbeddingService) -> None:
    classifier = TierClassifier.packaged()
    assert classifier is not None, "src/aios/routing/data/default_router.npz is missing"
    assert classifier.embedder == embedder.name
    assert classifier.tiers == ["simple", "medium", "complex"]
    router = Router(classifier=classifier, embedder=embedder)
    decision = router.route(LLMRequest.of("What is 2 + 2?"), [
        ModelInfo("s", "openai", "mistralai/mistral-7b-chat", tier="simple"),
        ModelInfo("c", "openai", "gpt-4-1106-preview", tier="complex")])
    assert decision.model in ("s", "c") and "classifier" in decision.reason
    shown = runner.invoke(app, ["router", "show"])
    assert shown.exit_code == 0 and "gpt-4-1106-preview" in shown.stdout


def test_router_explain_routes_over_the_manifest_models() -> None:
    result = runner.invoke(app, ["router", "explain", "--json", "hello there"])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["model"] and decision["policy"] == "cheapest-adequate"
    bad = runner.invoke(app, ["router", "explain", "--policy", "nope", "hi"])
    assert bad.exit_code == 2 and "known policies" in bad.output


def test_the_per_task_mix_spends_the_cap_where_it_buys_most_accuracy() -> None:
    # Two tasks of two prompts; a cheap model (cost 1) and a strong one (cost 10, always
    # right). Upgrading task B buys twice the accuracy per dollar that upgrading A does.
    correct = np.array([[1, 1], [0, 1], [0, 1], [0, 1]], dtype=float)
    cost = np.array([[1, 10]] * 4, dtype=float)
    tasks = ["a", "a", "b", "b"]
    assert per_task_mix(correct, cost, tasks, 5.5) == pytest.approx((0.75, 5.5))
    assert per_task_mix(correct, cost, tasks, 3.25) == pytest.approx((0.5, 3.25))
    assert per_task_mix(correct, cost, tasks, 100.0) == pytest.approx((1.0, 10.0))
    # Below the cheapest model's cost nothing fits: the cheapest model of each task.
    assert per_task_mix(correct, cost, tasks, 0.5) == pytest.approx((0.25, 1.0))


def test_each_row_knows_its_task(routing_dir: Path, tmp_path: Path) -> None:
    data = read_routing_data([], folders=[slice_csv(routing_dir, tmp_path / "t", 20)])
    assert len(data.tasks) == len(data)
    assert set(data.tasks) >= {"mbpp"}  # the `eval_name` column; else the file's name
