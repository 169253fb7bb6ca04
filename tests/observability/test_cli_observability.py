"""`aios traces`, `aios traces show`, `aios traces prune`, `aios metrics` on a real store."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from aios.cli.main import app
from aios.manifest import Manifest
from aios.observability import setup_tracing
from aios.runtime import ActionContext, HandlerRegistry, Runtime, handler
from aios.settings import Settings
from aios.store import RunStore, Store


@handler("cli.ok")
async def ok(ctx: ActionContext) -> int:
    return 1


@handler("cli.fail")
async def fail(ctx: ActionContext) -> None:
    raise RuntimeError("the disk is on fire")


async def _record_runs(settings: Settings) -> dict[str, str]:
    store = await Store.open(settings.store_url())
    tracing = setup_tracing(settings)
    runs = RunStore(store)
    registry = HandlerRegistry()
    registry.add(ok)
    registry.add(fail)
    manifest = Manifest.model_validate({
        "agents": {"cli": {"actions": {"ok": {"handler": "cli.ok"},
                                       "fail": {"handler": "cli.fail"}}}},
        "sequences": {"good": {"steps": [{"id": "a", "action": "cli.ok"},
                                         {"id": "b", "action": "cli.ok"}]}}})
    runtime = Runtime(manifest, runs, registry=registry, layers=[tracing.layer()],
                      listeners=[tracing.listener()])
    good = await runtime.run("good")
    bad = await runtime.execute("cli.fail")
    await runs.writer.close()
    tracing.shutdown()  # flushes every span to the store
    await store.close()
    return {"good": good.run_id, "bad": bad.run_id}


@pytest.fixture
def recorded(settings: Settings) -> dict[str, str]:
    # The CLI builds Settings() from AIOS_HOME, which the root conftest points at this home.
    return asyncio.run(_record_runs(Settings()))


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "160"})


def test_traces_lists_filters_and_shows_as_json(recorded: dict[str, str]) -> None:
    listed = _invoke("traces", "--json")
    assert listed.exit_code == 0, listed.output
    traces = json.loads(listed.stdout)
    assert {t["name"] for t in traces} == {"run good", "run cli.fail"}
    errors = json.loads(_invoke("traces", "--status", "error", "--json").stdout)
    assert [t["run_id"] for t in errors] == [recorded["bad"]]
    by_run = json.loads(_invoke("traces", "--run", recorded["good"], "--json").stdout)
    assert [t["spans"] for t in by_run] == [3]

    shown = json.loads(_invoke("traces", "show", recorded["bad"], "--json").stdout)
    (root,) = shown["roots"]
    (action,) = root["children"]
    assert action["error"] == "RuntimeError: the disk is on fire"


def test_traces_show_takes_the_run_id_prefix_that_boot_prints(recorded: dict[str, str]) -> None:
    shown = json.loads(_invoke("traces", "show", recorded["bad"][:12], "--json").stdout)
    (root,) = shown["roots"]
    assert root["name"] == "run cli.fail"


def test_traces_show_renders_a_tree_with_the_stack_trace(recorded: dict[str, str]) -> None:
    trace_id = json.loads(_invoke("traces", "--status", "error", "--json").stdout)[0]["trace_id"]
    shown = _invoke("traces", "show", trace_id[:10])
    assert shown.exit_code == 0, shown.output
    assert "run cli.fail" in shown.stdout and "action cli.fail" in shown.stdout
    assert "RuntimeError: the disk is on fire" in shown.stdout
    assert "Traceback" in shown.stdout and "in fail" in shown.stdout
    table = _invoke("traces")
    assert "run good" in table.stdout and "error" in table.stdout


def test_metrics_summarise_the_stored_spans(recorded: dict[str, str]) -> None:
    as_json = _invoke("metrics", "--since", "1h", "--json")
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    actions = report["overall"][0]
    assert (actions["calls"], actions["errors"]) == (3, 1)
    assert {g["key"]: g["calls"] for g in report["by"]["action"]} == {"cli.ok": 2, "cli.fail": 1}
    table = _invoke("metrics")
    assert table.exit_code == 0 and "by action" in table.stdout and "cli.fail" in table.stdout


def test_metrics_in_a_narrow_terminal_split_rather_than_cut_figures(
        recorded: dict[str, str]) -> None:
    report = json.loads(_invoke("metrics", "--json").stdout)
    p99 = report["overall"][0]["p99_ms"]
    shown = f"{p99 / 1000:.2f}s" if p99 >= 1000 else f"{p99:.1f}ms"
    wide = _invoke("metrics")
    assert "overall: latency" not in wide.stdout and shown in wide.stdout
    narrow = CliRunner().invoke(app, ["metrics"], env={"COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.output
    assert "overall: latency" in narrow.stdout and "overall: usage" in narrow.stdout
    assert shown in narrow.stdout and "…" not in narrow.stdout
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80


def test_the_trace_list_in_a_narrow_terminal_keeps_ids_and_figures_whole(
        recorded: dict[str, str]) -> None:
    listed = json.loads(_invoke("traces", "--json").stdout)
    narrow = CliRunner().invoke(app, ["traces"], env={"COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.output
    assert "…" not in narrow.stdout
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    for trace in listed:
        assert trace["trace_id"][:8] in narrow.stdout
    shown = _invoke("traces", "show", listed[0]["trace_id"][:8], "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["trace_id"] == listed[0]["trace_id"]


def test_prune_deletes_old_spans(recorded: dict[str, str]) -> None:
    kept = json.loads(_invoke("traces", "prune", "--older-than", "30d", "--json").stdout)
    assert kept["deleted"] == 0
    # Everything is older than a tiny age once a moment has passed.
    pruned = _invoke("traces", "prune", "--older-than", "0.001s")
    assert pruned.exit_code == 0 and "deleted 5 spans" in pruned.stdout
    assert json.loads(_invoke("traces", "--json").stdout) == []


def test_bad_input_gets_a_message_and_exit_code_2(recorded: dict[str, str]) -> None:
    window = _invoke("metrics", "--since", "last week")
    assert window.exit_code == 2 and "30m, 1h, 7d" in window.stderr
    unknown = _invoke("traces", "show", "ffffffffffffffff")
    assert unknown.exit_code == 2 and "aios traces" in unknown.stderr
    age = _invoke("traces", "prune", "--older-than", "soon")
    assert age.exit_code == 2 and "30d" in age.stderr
