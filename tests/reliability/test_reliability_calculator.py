"""The reliability calculator (library and CLI) and `aios breakers`."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from aios.cli.main import app
from aios.cli.reliability import parse_probability
from aios.errors import ConfigError
from aios.manifest import Manifest
from aios.observability.window import parse_since
from aios.reliability import BreakerStore, end_to_end, measure, required_per_step
from aios.reliability.calculator import success_interval
from aios.reliability.store import BreakerRow
from aios.settings import Settings
from aios.store import RunStore, Store


def test_compounding_and_its_inverse() -> None:
    assert f"{end_to_end(0.95, 20):.1%}" == "35.8%"
    assert f"{required_per_step(0.9, 20):.2%}" == "99.47%"
    assert required_per_step(end_to_end(0.99, 7), 7) == pytest.approx(0.99)
    with pytest.raises(ConfigError, match="between 0 and 1"):
        end_to_end(95, 20)
    with pytest.raises(ConfigError, match="--steps"):
        required_per_step(0.9, 0)


def test_intervals_come_from_scipy() -> None:
    low, high = success_interval(95, 100)
    assert low == pytest.approx(0.8883, abs=1e-3) and high == pytest.approx(0.9785, abs=1e-3)
    exact_low, exact_high = success_interval(95, 100, method="exact")
    assert exact_low < low and exact_high > 0.98  # Clopper-Pearson is wider
    assert success_interval(10, 10)[1] == pytest.approx(1.0)


def test_parsing_cli_values() -> None:
    assert parse_probability("95%", "--x") == pytest.approx(0.95)
    assert parse_probability("0.9", "--x") == 0.9
    with pytest.raises(ConfigError):
        parse_probability("1.5", "--x")
    now = datetime(2025, 1, 31, tzinfo=UTC)
    assert parse_since("7d", now=now) == now - timedelta(days=7)
    assert parse_since("90m", now=now) == now - timedelta(minutes=90)
    assert parse_since("2025-01-01", now=now) == datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(ConfigError, match="7d"):
        parse_since("yesterday", now=now)


SEQUENCES = Manifest.model_validate({
    "agents": {"t": {"actions": {a: {"handler": "kernel.processes"}
                                 for a in ("read", "write", "flaky", "optional")}}},
    "sequences": {
        "boot": {"steps": [{"action": "t.read"}, {"action": "t.flaky"},
                           {"action": "t.optional", "critical": False}]},
        "deploy": {"steps": [{"action": "t.read"}, {"action": "t.write"}]},
    }})


async def record(runs: RunStore, action: str, outcomes: list[str], tag: str = "") -> None:
    for i, final in enumerate(outcomes):
        run_id = f"{action}-{tag}{i}"
        runs.step_event(run_id, action, action, "running")
        runs.step_event(run_id, action, action, final)  # the last event is the final state
    await runs.writer.flush()


async def test_measured_rates_and_sequence_forecasts(runs: RunStore) -> None:
    await record(runs, "t.read", ["succeeded"] * 99 + ["failed"])
    await record(runs, "t.flaky", ["succeeded"] * 8 + ["failed"] * 2)
    await record(runs, "t.optional", ["failed"] * 5)
    await record(runs, "t.read", ["skipped", "cancelled"], "x")  # neither success nor failure
    report = await measure(runs.store, SEQUENCES.sequences)
    read, flaky = report.actions["t.read"], report.actions["t.flaky"]
    assert (read.succeeded, read.failed) == (99, 1) and read.rate == 0.99
    assert flaky.rate == 0.8 and flaky.low < 0.8 < flaky.high
    boot = next(s for s in report.sequences if s.sequence == "boot")
    assert boot.success == pytest.approx(0.99 * 0.8)  # the non-critical step is left out
    assert boot.low == pytest.approx(read.low * flaky.low)
    assert boot.weakest[0] == "t.flaky"
    deploy = next(s for s in report.sequences if s.sequence == "deploy")
    assert deploy.success is None and deploy.unmeasured == ("t.write",)
    data = report.to_json()
    assert data["actions"]["t.flaky"]["rate"] == 0.8


async def test_since_keeps_recent_steps_only(runs: RunStore) -> None:
    await record(runs, "t.read", ["failed"] * 3)
    report = await measure(runs.store, SEQUENCES.sequences,
                           since=datetime.now(UTC) + timedelta(minutes=1))
    assert report.actions == {}


# -- CLI ------------------------------------------------------------------------------------


def test_cli_end_to_end_and_required_per_step() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["reliability", "--steps", "20", "--per-step", "0.95"])
    assert result.exit_code == 0 and "35.8%" in result.output
    result = runner.invoke(app, ["reliability", "--target", "0.9", "--steps", "20"])
    assert result.exit_code == 0 and "99.47%" in result.output
    result = runner.invoke(app, ["reliability", "--steps", "20", "--per-step", "95%", "--json"])
    assert json.loads(result.output)["end_to_end"] == pytest.approx(0.3585, abs=1e-4)
    result = runner.invoke(app, ["reliability", "--per-step", "0.95"])
    assert result.exit_code == 2 and "--steps" in result.output


def _seed(settings: Settings) -> None:
    async def go() -> None:
        store = await Store.open(settings.store_url())
        runs = RunStore(store)
        await record(runs, "kernel.processes", ["succeeded"] * 19 + ["failed"])
        await runs.writer.close()
        now = time.time()
        await BreakerStore(store).save([
            BreakerRow("model:openai/gpt", "open", opened_at=now - 5, changed_at=now - 5,
                       failure_rate=0.8, calls=10, reason="8 of the last 10 calls failed",
                       changed_by="host:1")])
        await store.close()

    asyncio.run(go())


def test_cli_measured_and_breakers(settings: Settings) -> None:
    _seed(settings)
    runner = CliRunner()
    result = runner.invoke(app, ["reliability", "--measured", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["actions"]["kernel.processes"]["rate"] == 0.95
    assert {s["sequence"] for s in data["sequences"]} >= {"boot"}
    result = runner.invoke(app, ["reliability", "--measured", "--since", "7d"])
    assert result.exit_code == 0 and "kernel.processes" in result.output

    result = runner.invoke(app, ["breakers", "--json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert row["name"] == "model:openai/gpt" and row["state"] == "open"
    assert row["open_for_s"] >= 5
    result = runner.invoke(app, ["breakers"], env={"COLUMNS": "200"})
    assert "model:openai/gpt" in result.output and "open" in result.output

    result = runner.invoke(app, ["breakers", "reset", "model:openai/gpt"])
    assert result.exit_code == 0 and "closed 1 breaker" in result.output
    (row,) = json.loads(runner.invoke(app, ["breakers", "--json"]).output)
    assert row["state"] == "closed"
    result = runner.invoke(app, ["breakers", "reset", "nope"])
    assert result.exit_code == 2 and "no breaker named" in result.output
