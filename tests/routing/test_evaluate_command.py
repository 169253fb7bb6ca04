"""`aios router evaluate` and `aios router train` with named train and test files: formats
(0/1, graded, pairwise; costs per row or from prices), the curve, APGR/CPT, bad input."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from aios.cli.main import app
from aios.errors import ConfigError
from aios.routing.evaluation import CurvePoint, apgr, cpt, mix_apgr
from aios.routing.outcomes import read_routing_data

runner = CliRunner()
STRONG, WEAK = "gpt-4-1106-preview", "mistralai/mistral-7b-chat"


def rows_of(source: Path, out: Path, start: int, stop: int) -> Path:
    """Records start..stop of a RouterBench file, as a CSV file of their own."""
    csv.field_size_limit(sys.maxsize)
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        records = list(reader)[start:stop]
        fields = reader.fieldnames or []
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)
    return out


def test_apgr_of_random_routing_is_one_half_and_a_perfect_router_more() -> None:
    weak, strong = CurvePoint(9.0, 0.5, 1.0), CurvePoint(0.0, 0.9, 11.0)
    # Random routing: each share of the strong model recovers that share of the gap.
    diagonal = [CurvePoint(0.0, 0.5 + 0.4 * s, 1.0 + 10 * s) for s in np.linspace(0, 1, 201)]
    assert apgr(diagonal, weak, strong) == pytest.approx(0.5, abs=0.01)
    assert cpt(diagonal, weak, strong, 0.5) == pytest.approx(0.5, abs=0.01)
    # Recovering the whole gap at a fifth of the cost: area 1 - 0.2 step = 0.8.
    knee = [CurvePoint(1.0, 0.9, 3.0)]
    assert apgr(knee, weak, strong) == pytest.approx(0.8, abs=0.01)
    assert cpt(knee, weak, strong, 0.8) == pytest.approx(0.2)
    assert cpt([CurvePoint(1.0, 0.6, 3.0)], weak, strong, 0.8) is None
    # Blind mixes of the models: weak and strong alone give the diagonal; a mid model that
    # is as good as the strong one at a fifth of the cost lifts the hull.
    assert mix_apgr([weak, strong], weak, strong) == pytest.approx(0.5, abs=0.01)
    assert mix_apgr([weak, strong, CurvePoint(0.0, 0.9, 3.0)], weak, strong) == \
        pytest.approx(0.9, abs=0.01)


def test_evaluate_scores_a_file_it_did_not_train_on(routing_dir: Path, tmp_path: Path) -> None:
    train = [rows_of(routing_dir / name, tmp_path / f"train_{name}", 0, 60)
             for name in ("arc_challenge_train.csv", "mbpp_train.csv", "winograde_train.csv")]
    test_file = rows_of(routing_dir / "mbpp_train.csv", tmp_path / "test.csv", 200, 260)
    out = tmp_path / "r.npz"
    trained = runner.invoke(app, ["router", "train", *map(str, train),
                                  "--test", str(test_file), "--strong", STRONG, "--weak", WEAK,
                                  "--out", str(out), "--json"])
    assert trained.exit_code == 0, trained.output
    report = json.loads(trained.stdout)
    assert report["n_train"] == 180 and report["evaluation"]["rows"] == 60
    result = runner.invoke(app, ["router", "evaluate", str(test_file), "--classifier",
                                 str(out), "--json"])
    assert result.exit_code == 0, result.output
    ev = json.loads(result.stdout)
    assert ev == report["evaluation"]  # the same decision, the same figures
    assert ev["weak"] == WEAK and ev["strong"] == STRONG and 0.0 <= ev["apgr"] <= 1.0
    costs = [p["cost"] for p in ev["curve"]]
    assert costs == sorted(costs) and len(ev["curve"]) > 10
    human = runner.invoke(app, ["router", "evaluate", str(test_file), "--classifier",
                                str(out)])
    assert human.exit_code == 0 and "APGR" in human.stdout and "random" in human.stdout
    assert "operating point" in human.stdout


def test_graded_scores_are_scaled_and_out_of_range_grades_refused(tmp_path: Path) -> None:
    graded = tmp_path / "graded.csv"
    graded.write_text("prompt,a,a|total_cost,b,b|total_cost\nhi,7,0.1,10,0.2\nho,2,0.1,5,0.2\n")
    data = read_routing_data([graded], score_max=10)
    assert data.correct.tolist() == [[0.7, 1.0], [0.2, 0.5]]
    with pytest.raises(ConfigError, match=r"graded\.csv:2: column 'a': score 7 is outside "
                                          r"0-1; for grades pass --score-max"):
        read_routing_data([graded])


def test_pairwise_rows_become_win_tie_loss_scores(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("prompt,winner\nq1,strong\nq2,weak\nq3,tie\nq4,gpt-4\n")
    data = read_routing_data([pairs], strong="gpt-4", weak="mixtral",
                             prices={"gpt-4": (10.0, 30.0), "mixtral": (0.5, 0.5)})
    assert data.models == ["mixtral", "gpt-4"]
    assert data.correct.tolist() == [[0, 1], [1, 0], [0.5, 0.5], [0, 1]]
    assert (data.cost[:, 1] > data.cost[:, 0]).all()  # from the price table


@pytest.mark.parametrize(("content", "where"), [
    ("", "empty.csv:1: the file is empty"),
    ("prompt,a,a|total_cost,b,b|total_cost\n", "no usable rows"),
    ("text,a,a|total_cost,b,b|total_cost\nhi,1,0.1,0,0.2\n", "empty.csv:1: column 'prompt'"),
    ("prompt,a,a|total_cost,b,b|total_cost\nhi,1,0.1,0,0.2\nho,1,cheap,0,0.2\n",
     "empty.csv:3: column 'a|total_cost': 'cheap' is not a number"),
    ("prompt,winner\nq1,maybe\n", "empty.csv:2: column 'winner': 'maybe' is none of"),
    ("prompt,a,b\nhi,1,0\n", "empty.csv:1: needs at least two models"),
])
def test_bad_input_exits_2_naming_file_line_and_column(tmp_path: Path, content: str,
                                                      where: str) -> None:
    bad = tmp_path / "empty.csv"
    bad.write_text(content)
    for command in ("evaluate", "train"):
        result = runner.invoke(app, ["router", command, str(bad)])
        assert result.exit_code == 2, result.output
        assert where in " ".join(result.output.split()), result.output


def test_a_folder_is_read_only_with_the_folder_flag(tmp_path: Path) -> None:
    result = runner.invoke(app, ["router", "evaluate", str(tmp_path)])
    assert result.exit_code == 2 and "--folder" in result.output
