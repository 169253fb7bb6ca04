"""`aios traces show RUN` after a resume: every trace of the run, in order (issue 23 item 4)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.observability.obs_helpers import Traced
from typer.testing import CliRunner

from aios.cli.main import app
from aios.manifest import Manifest
from aios.observability import get_trace
from aios.runtime import ActionContext, HandlerRegistry, Runtime, default_layers, handler
from aios.store import RunStore

STATE: dict[str, Any] = {"fail": True}


@handler("obs.flaky")
async def flaky(ctx: ActionContext) -> str:
    if STATE["fail"]:
        raise RuntimeError("not yet")
    return "done"


@handler("obs.first")
async def first(ctx: ActionContext) -> str:
    return "first"


def _runtime(traced: Traced, runs: RunStore) -> Runtime:
    registry = HandlerRegistry()
    registry.add(flaky)
    registry.add(first)
    manifest = Manifest.model_validate({
        "agents": {"obs": {"actions": {"first": {"handler": "obs.first"},
                                       "flaky": {"handler": "obs.flaky"}}}},
        "sequences": {"s": {"steps": [{"id": "a", "action": "obs.first"},
                                      {"id": "b", "action": "obs.flaky"}]}}})
    return Runtime(manifest, runs, registry=registry,
                   layers=[traced.tracing.layer(), *default_layers(runs, assume_yes=True)],
                   listeners=[traced.tracing.listener()])


async def test_a_resumed_run_shows_every_trace_in_order(traced: Traced, runs: RunStore,
                                                       settings: Any, monkeypatch: Any) -> None:
    STATE["fail"] = True
    runtime = _runtime(traced, runs)
    failed = await runtime.run("s")
    assert failed.status == "failed"
    STATE["fail"] = False
    resumed = await runtime.resume(failed.run_id)
    assert resumed.ok
    await traced.tracing.flush()

    tree = await get_trace(traced.store, failed.run_id)
    assert len(tree.trace_ids) == 2 and tree.run_id == failed.run_id
    assert [root.name for root in tree.roots] == ["run s", "run s"]
    first_run, resume = tree.roots
    assert first_run.start <= resume.start
    assert [c.name for c in first_run.children] == ["action obs.first", "action obs.flaky"]
    assert [c.name for c in resume.children] == ["action obs.flaky"]
    assert tree.trace_id == tree.trace_ids[0]

    if traced.store.url.startswith("sqlite"):  # the CLI reads the same store
        monkeypatch.setenv("AIOS_DATABASE_URL", traced.store.url)
        shown = await asyncio.to_thread(CliRunner().invoke, app,
                                        ["traces", "show", failed.run_id[:12]])
        assert shown.exit_code == 0, shown.output
        assert "2 traces" in shown.stdout
        assert shown.stdout.count("run s") == 2 and "action obs.first" in shown.stdout
