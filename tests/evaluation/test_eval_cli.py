"""`aios eval`: run (reports, CI exit codes), show, runs, compare, annotate, from-traces, and
the error messages for bad suites and datasets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from tests.evaluation.eval_helpers import calls, say_rows, write_suite
from typer.testing import CliRunner

from aios.app import open_store
from aios.cli.main import app
from aios.evaluation import EvalStore, ResultRecord, load_dataset, load_suite
from aios.settings import Settings

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _run_json(suite: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    code, out, err = _invoke("eval", "run", str(suite), "--json", *extra)
    assert code in (0, 1), err
    return json.loads(out)  # type: ignore[no-any-return]


def test_run_writes_reports_and_gates_ci(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "a", say_rows(10, fail_every=5), evaluators=["exact_match"])
    html, out = tmp_path / "r.html", tmp_path / "r.json"
    code, stdout, _ = _invoke("eval", "run", str(suite), "--html", str(html), "--out", str(out))
    assert code == 0, stdout
    assert "accuracy" in stdout and "80.0%" in stdout and "exact_match" in stdout
    assert "<svg" in html.read_text() and json.loads(out.read_text())["summary"]["results"] == 10
    code, _, _ = _invoke("eval", "run", str(suite), "--fail-under", "0.9", "--json")
    assert code == 1
    code, _, _ = _invoke("eval", "run", str(suite), "--fail-under", "0.8", "--json")
    assert code == 0


def test_show_runs_and_compare_give_a_verdict(tmp_path: Path) -> None:
    base = write_suite(tmp_path / "base", say_rows(40, fail_every=2), name="base",
                       evaluators=["exact_match"])
    cand = write_suite(tmp_path / "cand", say_rows(40), name="cand", evaluators=["exact_match"])
    run_a = _run_json(base)["run"]["id"]
    run_b = _run_json(cand)["run"]["id"]
    code, out, _ = _invoke("eval", "runs", "--json")
    assert code == 0 and {r["id"] for r in json.loads(out)} >= {run_a, run_b}
    code, out, _ = _invoke("eval", "show", run_a[:10], "--json")
    assert json.loads(out)["summary"]["accuracy"] == 0.5
    code, out, _ = _invoke("eval", "compare", run_a, run_b, "--json")
    data = json.loads(out)
    assert code == 0 and data["significant"] and data["better"] == run_b[:12]
    assert data["mcnemar"]["p_value"] < 1e-5 and data["mcnemar"]["b_only"] == 20
    assert data["pass_diff"]["low"] > 0
    code, out, _ = _invoke("eval", "compare", run_b, run_a, "--fail-on-regression")
    assert code == 1 and "is better" in out and "McNemar exact" in out


def test_annotate_labels_and_reports_kappa(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, say_rows(4, fail_every=2), evaluators=["exact_match"])
    run_id = _run_json(suite)["run"]["id"]
    code, out, err = _invoke("eval", "annotate", run_id, "--annotator", "ann", "--json",
                             "--label", "s0=fail", "--label", "s1=pass",
                             "--label", "s2@0=fail", "--label", "s3=pass")
    assert code == 0, err
    rows = {(a["rater_a"], a["rater_b"]): a for a in json.loads(out)}
    assert rows[("ann", "judge:overall")]["kappa"] == 1.0
    code, _, err = _invoke("eval", "annotate", run_id, "--label", "s0")
    assert code == 2 and "SAMPLE_ID=LABEL" in err


def test_from_traces_writes_a_dataset(tmp_path: Path) -> None:
    code, out, err = _invoke("exec", "kernel.resources", "--json")
    assert code == 0, err
    target = tmp_path / "reg.jsonl"
    code, out, err = _invoke("eval", "from-traces", "--agent", "kernel", "--since", "1h",
                             "--out", str(target), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["written"] == 1 and "runs" in data["sources"]
    row = json.loads(target.read_text())
    assert row["metadata"]["action"] == "kernel.resources" and "load_average" in row["target"]


def test_unknown_evaluator_and_malformed_dataset_fail_clearly(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "x", say_rows(2), evaluators=["exact_mtch"])
    code, _, err = _invoke("eval", "run", str(suite))
    assert code == 2 and "unknown evaluator 'exact_mtch'; known:" in err
    assert "exact_match" in err and f"{suite}:" in err
    bad = write_suite(tmp_path / "y", say_rows(2), evaluators=["exact_match"])
    (bad.parent / "data.jsonl").write_text('{"input": "ok"}\n{"target": "no input"}\n')
    code, _, err = _invoke("eval", "run", str(bad))
    assert code == 2 and "data.jsonl:2 [input]: missing `input`" in err
    code, _, err = _invoke("eval", "show", "nope")
    assert code == 2 and "no evaluation run with id 'nope'" in err


def test_annotate_interactively_with_prompts(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, say_rows(3), evaluators=["exact_match"])
    run_id = _run_json(suite)["run"]["id"]
    result = runner.invoke(app, ["eval", "annotate", run_id, "--annotator", "eve"],
                           input="pass\n\nfail\nlooks wrong\nquit\n")
    assert result.exit_code == 0, result.stderr
    assert "s0" in result.stdout and "automatic verdict: passed" in result.stdout
    _, out, _ = _invoke("eval", "annotate", run_id, "--annotator", "eve", "--json",
                           "--label", "s2=pass")
    rows = {(a["rater_a"], a["rater_b"]): a for a in json.loads(out)}
    assert rows[("eve", "judge:overall")]["items"] == 3
    assert rows[("eve", "judge:overall")]["observed"] == pytest.approx(2 / 3)


def test_resume_from_the_cli_runs_only_what_is_missing(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, say_rows(6), evaluators=["exact_match"])

    async def interrupted() -> str:
        settings = Settings()
        async with open_store(settings) as store:
            evals = EvalStore(store)
            await evals.create_run("half-done", suite="demo", suite_path=str(suite),
                                   spec=load_suite(suite).model_dump(mode="json",
                                                                     by_alias=True),
                                   dataset_digest=load_dataset(tmp_path / "data.jsonl").digest,
                                   target="callable", samples=6, repeats=1)
            for sid in ("s0", "s1"):
                evals.put_result(ResultRecord("half-done", sid, 0, "passed", output=sid))
            await evals.finish_run("half-done", "interrupted", summary=None)
            await evals.close()
        return "half-done"

    run_id = asyncio.run(interrupted())
    code, out, err = _invoke("eval", "run", "--resume", run_id, "--json")
    assert code == 0, err
    assert sorted(calls(tmp_path)) == ["s2", "s3", "s4", "s5"]
    assert json.loads(out)["summary"]["results"] == 6
