"""`StoreWatcher`: runs, steps and approvals of other processes reach the live event stream.

"Another process" is the real `aios` command run in a subprocess on the same store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import bearer
from sqlalchemy import insert, text

from aios.app import load_manifest
from aios.approvals import ApprovalService
from aios.runtime import HandlerRegistry, Runtime
from aios.server.hub import EventHub, Message
from aios.server.watch import StoreWatcher
from aios.settings import Settings
from aios.store import RunStore, Store
from aios.store.runs import utcnow
from aios.store.tables import runs, step_events

HERE = Path(__file__).parent


def aios_cli(settings: Settings, *args: str, token: str | None = None) -> dict[str, Any]:
    """Run the `aios` command in another process on the tests' store; its JSON output."""
    env = {**os.environ, "AIOS_HOME": str(settings.home), "PYTHONPATH": str(HERE)}
    if settings.database_url:
        env["AIOS_DATABASE_URL"] = settings.database_url
    if token:
        env["AIOS_TOKEN"] = token
    proc = subprocess.run([sys.executable, "-m", "aios.cli", *args, "--json"], env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode in (0, 3), proc.stderr  # 3: the run waits for approval
    return json.loads(proc.stdout)


def steps_of(messages: list[Message]) -> list[str]:
    return [m.data["step_id"] for m in messages if m.kind.startswith("step.")]


def drain(queue: asyncio.Queue[Message | None]) -> list[Message]:
    out = []
    while not queue.empty():
        message = queue.get_nowait()
        assert message is not None
        out.append(message)
    return out


async def test_another_process_run_is_published_in_order_and_once(
        settings: Settings, manifest_path: Path) -> None:
    await published_in_order_and_once(settings, manifest_path)


@pytest.mark.postgres
def test_another_process_run_is_published_on_postgresql(pg_settings: Settings,
                                                        manifest_path: Path) -> None:
    asyncio.run(published_in_order_and_once(pg_settings, manifest_path))


async def published_in_order_and_once(settings: Settings, manifest_path: Path) -> None:
    store = await Store.open(settings.store_url())
    hub = EventHub()
    watcher = StoreWatcher(store, hub)
    await watcher.prime()
    with hub.subscribe() as queue:
        result = await asyncio.to_thread(aios_cli, settings, "run", "quick",
                                         "--manifest", str(manifest_path))
        assert await watcher.poll() > 0
        seen = drain(queue)
        assert await watcher.poll() == 0  # nothing twice
    run_id = result["run_id"]
    kinds = [(m.kind, m.data.get("step_id")) for m in seen if m.data["run_id"] == run_id]
    assert kinds == [("run.started", None), ("step.started", "one"), ("step.finished", "one"),
                     ("step.started", "two"), ("step.finished", "two"), ("run.finished", None)]
    assert all(m.data["external"] is True for m in seen)
    assert seen[0].data["target"] == "quick" and seen[0].data["resumed"] is False
    assert seen[-1].data["status"] == "succeeded"
    await store.close()


async def test_runs_of_this_process_are_left_to_the_hub(settings: Settings,
                                                        manifest_path: Path) -> None:
    store = await Store.open(settings.store_url())
    hub = EventHub()
    watcher = StoreWatcher(store, hub)
    await watcher.prime()
    run_store = RunStore(store)
    runtime = Runtime(load_manifest(manifest_path), run_store,
                      registry=HandlerRegistry.builtin([]))
    sys.path.insert(0, str(HERE))
    try:
        result = await runtime.run("quick")
    finally:
        sys.path.remove(str(HERE))
    assert result.status == "succeeded"
    await run_store.writer.flush()
    assert await watcher.poll() == 0
    await run_store.writer.close()
    await store.close()


async def test_approvals_decided_elsewhere_are_published_and_own_ones_are_not(
        settings: Settings, manifest_path: Path, tokens: dict[str, str]) -> None:
    store = await Store.open(settings.store_url())
    hub = EventHub()
    watcher = StoreWatcher(store, hub)
    await watcher.prime()
    with hub.subscribe() as queue:
        waiting = await asyncio.to_thread(aios_cli, settings, "run", "deploy",
                                          "--manifest", str(manifest_path))
        assert waiting["status"] == "waiting"
        await watcher.poll()
        await watcher.poll()  # approval records are published one poll after they are read
        first = drain(queue)
        created = [m for m in first if m.kind == "approval.created"]
        assert len(created) == 1 and created[0].data["action"] == "demo.write"
        assert created[0].data["run_id"] == waiting["run_id"] and created[0].data["external"]
        finished = [m for m in first if m.kind == "run.finished"]
        assert len(finished) == 1 and finished[0].data["status"] == "waiting"
        request_id = created[0].data["request_id"]

        # alice approves from another process: published; bob through this process's
        # approval service (as the server would): left to the hub.
        await asyncio.to_thread(aios_cli, settings, "approvals", "approve", request_id,
                                token=tokens["alice"])
        service = ApprovalService(store, listeners=[watcher.approval_listener])
        from aios.auth import UserStore

        bob = await UserStore(store).get("bob")
        await service.approve(request_id, bob)
        await watcher.poll()
        await watcher.poll()
        decided = [(m.kind, m.data["actor"]) for m in drain(queue)]
        assert decided == [("approval.decided", "alice")]

        resumed = await asyncio.to_thread(aios_cli, settings, "runs", "resume", waiting["run_id"],
                                          "--manifest", str(manifest_path))
        assert resumed["status"] == "succeeded"
        await watcher.poll()
        await watcher.poll()
        after = drain(queue)
    assert after[0].kind == "run.started" and after[0].data["resumed"] is True
    assert ("step.finished", "change") in [(m.kind, m.data.get("step_id")) for m in after]
    assert "approval.executed" in [m.kind for m in after]
    assert [m.kind for m in after if m.kind.startswith("run.")] == ["run.started",
                                                                      "run.finished"]
    await store.close()


async def test_a_skipped_step_event_id_is_waited_for_then_given_up(
        settings: Settings, manifest_path: Path) -> None:
    # Two writers on PostgreSQL can commit ids out of order: id N+2 is seen before N+1.
    store = await Store.open(settings.store_url())
    now = [0.0]
    hub = EventHub()
    watcher = StoreWatcher(store, hub, gap_wait_s=10, clock=lambda: now[0])
    await watcher.prime()
    result = await asyncio.to_thread(aios_cli, settings, "run", "quick",
                                     "--manifest", str(manifest_path))
    await watcher.poll()
    async with store.engine.connect() as conn:
        last = int((await conn.execute(text("SELECT max(id) FROM step_events"))).scalar_one())

    async def add(row_id: int, step: str) -> None:
        async with store.engine.begin() as conn:
            await conn.execute(insert(step_events).values(
                id=row_id, run_id=result["run_id"], step_id=step, action="demo.probe",
                status="succeeded", attempt=2, at=utcnow(), duration_ms=1.0))

    with hub.subscribe() as queue:
        await add(last + 2, "late-two")
        await watcher.poll()
        assert steps_of(drain(queue)) == ["late-two"]
        await add(last + 1, "late-one")  # the earlier id commits afterwards
        now[0] += 5
        await watcher.poll()
        assert steps_of(drain(queue)) == ["late-one"]
        now[0] += 20  # a gap nobody fills is forgotten after gap_wait_s
        await add(last + 4, "four")
        await watcher.poll()
        now[0] += 11
        await add(last + 3, "three-too-late")
        await watcher.poll()
        assert steps_of(drain(queue)) == ["four"]
    await store.close()


async def test_a_store_that_stops_answering_is_reported_once(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    store = await Store.open(settings.store_url())
    watcher = StoreWatcher(store, EventHub(), interval_s=0.01)
    await watcher.prime()
    async with store.engine.begin() as conn:
        await conn.execute(text("DROP TABLE step_events"))
    with caplog.at_level(logging.WARNING, logger="aios.server"):
        task = asyncio.create_task(watcher.run())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    reports = [r for r in caplog.records if "live updates" in r.getMessage()]
    assert len(reports) == 1 and "no such table" in reports[0].getMessage()
    await store.close()


def test_the_dashboard_stream_shows_a_run_started_in_a_terminal(
        live: str, settings: Settings, manifest_path: Path, tokens: dict[str, str]) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    with httpx.Client(base_url=live, timeout=60) as http, \
            http.stream("GET", "/api/events", headers=bearer(tokens["vic"])) as stream:
        lines = stream.iter_lines()
        runner = threading.Thread(target=aios_cli, args=(settings, "run", "quick",
                                                         "--manifest", str(manifest_path)))
        runner.start()
        kind, data = "", ""
        for line in lines:
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif not line.strip() and data:
                seen.append((kind, json.loads(data)))
                if kind == "run.finished":
                    break
                data = ""
        runner.join(60)
    kinds = [k for k, _ in seen if k != "hello"]
    assert kinds[0] == "run.started" and kinds[-1] == "run.finished"
    assert kinds.count("step.finished") == 2
    assert all(d["external"] for k, d in seen if k != "hello")


@pytest.mark.postgres
def test_an_id_committed_late_on_postgresql_is_still_published(pg_settings: Settings) -> None:
    # Two writers: the first takes id N and commits after the second has committed N+1.
    async def go() -> None:
        store = await Store.open(pg_settings.store_url())
        hub = EventHub()
        watcher = StoreWatcher(store, hub)
        await watcher.prime()
        run_id = "f" * 32
        async with store.engine.begin() as conn:  # a run of a process on another host
            await conn.execute(insert(runs).values(
                id=run_id, kind="sequence", target="elsewhere", status="running",
                forensic=False, manifest_name="m", manifest_digest="", options={}, pid=1,
                host="another-host", created_at=utcnow()))

        def row(step: str) -> dict[str, Any]:
            return {"run_id": run_id, "step_id": step, "action": "demo.probe",
                    "status": "succeeded", "attempt": 1, "at": utcnow(), "duration_ms": 1.0}

        with hub.subscribe() as queue:
            async with store.engine.connect() as slow:
                first = await slow.begin()
                await slow.execute(insert(step_events).values(row("first")))  # takes id N
                async with store.engine.begin() as fast:
                    await fast.execute(insert(step_events).values(row("second")))  # N + 1
                await watcher.poll()
                assert steps_of(drain(queue)) == ["second"]
                await first.commit()
            await watcher.poll()
            assert steps_of(drain(queue)) == ["first"]
        await store.close()

    asyncio.run(go())
