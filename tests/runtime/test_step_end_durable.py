"""With durable step ends (AIOS_DURABLE_STEPS=1, `Runtime(durable_step_ends=True)`), a step's
end is committed before the step counts as finished to anyone: before its result is handed to
the steps that depend on it and before its progress line is printed, so a kill at any later
instant cannot lose it. Off (the default, one commit per step is costly), the end is
committed within the writer's next flush cycle."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import select

from aios.manifest import Manifest
from aios.runtime import ActionContext, HandlerRegistry, Runtime, handler
from aios.runtime.events import StepFinished
from aios.store import RunStore
from aios.store.tables import step_events

RUNS: list[RunStore] = []
SEEN: dict[str, list[str]] = {}


async def _committed(runs: RunStore, run_id: str) -> dict[str, str]:
    """Each step's latest committed state, read on a connection of its own."""
    async with runs.store.engine.connect() as conn:
        rows = (await conn.execute(select(step_events.c.step_id, step_events.c.status).where(
            step_events.c.run_id == run_id).order_by(step_events.c.id))).all()
    return {str(step): str(status) for step, status in rows}


@handler("d.quick")
async def quick(ctx: ActionContext) -> dict[str, Any]:
    return {"step": ctx.step_id}


@handler("d.look")
async def look(ctx: ActionContext) -> dict[str, Any]:
    committed = await _committed(RUNS[0], ctx.run_id)
    SEEN[ctx.step_id] = [f"{k}={v}" for k, v in sorted(committed.items())]
    return {"saw": SEEN[ctx.step_id]}


def _manifest() -> Manifest:
    return Manifest.model_validate({
        "agents": {"d": {"actions": {"quick": {"handler": "d.quick"},
                                     "look": {"handler": "d.look"}}}},
        "sequences": {"s": {"steps": [
            {"id": "a", "action": "d.quick"}, {"id": "b", "action": "d.quick"},
            {"id": "after", "action": "d.look", "depends_on": ["a", "b"]}]}}})


def _registry() -> HandlerRegistry:
    reg = HandlerRegistry()
    reg.add(quick)
    reg.add(look)
    return reg


async def test_a_dependent_starts_only_after_its_dependencies_ends_are_committed(
        runs: RunStore) -> None:
    RUNS[:] = [runs]
    SEEN.clear()
    result = await Runtime(_manifest(), runs, registry=_registry(),
                           durable_step_ends=True).run("s")
    assert result.ok
    assert "a=succeeded" in SEEN["after"] and "b=succeeded" in SEEN["after"], SEEN


async def test_the_progress_event_comes_after_the_commit(runs: RunStore) -> None:
    if runs.store.dialect != "sqlite":
        return  # the listener reads the file directly; the dependent test covers PostgreSQL
    database = runs.store.engine.url.database
    assert database is not None
    committed_at_event: dict[str, str] = {}

    def listener(event: Any) -> None:
        if isinstance(event, StepFinished):
            with sqlite3.connect(database) as conn:
                rows = conn.execute("SELECT status FROM step_events WHERE run_id = ? AND "
                                    "step_id = ? ORDER BY id", (event.run_id,
                                                                event.step_id)).fetchall()
            committed_at_event[event.step_id] = rows[-1][0] if rows else "(none)"

    RUNS[:] = [runs]
    result = await Runtime(_manifest(), runs, registry=_registry(), listeners=[listener],
                           durable_step_ends=True).run("s")
    assert result.ok
    assert committed_at_event == {"a": "succeeded", "b": "succeeded", "after": "succeeded"}


def test_the_setting_turns_durable_step_ends_on(monkeypatch: Any) -> None:
    from aios.settings import Settings

    assert Settings().durable_steps is False
    monkeypatch.setenv("AIOS_DURABLE_STEPS", "1")
    assert Settings().durable_steps is True
