"""The Ray executor on a real local Ray instance and the PostgreSQL store.

Each test runs actions on Ray worker processes and checks what the store recorded: a
1,000-action fan-out, a read-only action whose worker is killed (retried, nothing lost) and
a mutating action whose worker is killed (never run twice, even by a resume).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from aios.app import open_runtime
from aios.manifest import Manifest
from aios.runtime import Runtime
from aios.runtime.executors import RayExecutor
from aios.settings import Settings
from aios.store import RunStore, Store

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("ray_cluster")]

H = "tests.deploy.ray_handlers"


@pytest.fixture
async def pg_store(postgres_url: str) -> AsyncIterator[Store]:
    """The session's PostgreSQL database, migrated."""
    store = await Store.open(postgres_url)
    yield store
    await store.close()


@pytest.fixture
async def runs(pg_store: Store) -> AsyncIterator[RunStore]:
    repo = RunStore(pg_store)
    yield repo
    await repo.writer.close()


def manifest(actions: dict[str, dict[str, Any]], sequences: dict[str, Any] | None = None
             ) -> Manifest:
    agents: dict[str, Any] = {}
    for name, spec in actions.items():
        agent, _, key = name.partition(".")
        agents.setdefault(agent, {"actions": {}})["actions"][key] = spec
    return Manifest.model_validate({"agents": agents, "sequences": sequences or {}})


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


async def wait_for_pid(path: Path, within: float = 60.0) -> int:
    """The first pid written to `path`, once a worker has written it."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        found = await asyncio.to_thread(_lines, path)
        if found:
            return int(found[0])
        await asyncio.sleep(0.02)
    raise AssertionError(f"no worker wrote {path} within {within} s")


async def test_thousand_action_fan_out_runs_on_workers_and_records_every_step(
        runs: RunStore) -> None:
    n = 1000
    steps = [{"id": f"w{i:04d}", "action": "fan.work", "with": {"i": i}, "depends_on": []}
             for i in range(n)]
    steps.append({"id": "join", "action": "fan.join", "depends_on": [s["id"] for s in steps]})
    m = manifest({"fan.work": {"handler": f"{H}:fan_work"},
                  "fan.join": {"handler": f"{H}:fan_join"}},
                 {"fan": {"steps": steps}})
    runtime = Runtime(m, runs, executor=RayExecutor(), max_concurrency=32)

    result = await runtime.run("fan")

    assert result.ok, result.error
    record = await runs.get_run(result.run_id)
    assert record.status == "succeeded"
    assert len(record.steps) == n + 1
    assert {s.status for s in record.steps} == {"succeeded"}
    work = {s.step_id: s.result for s in record.steps if s.action == "fan.work"}
    assert all(work[f"w{i:04d}"]["square"] == i * i for i in range(n))
    pids = {r["pid"] for r in work.values()}
    assert os.getpid() not in pids  # every handler ran in a Ray worker process
    # Metadata published on the workers reached the store, and the join (on a worker too)
    # saw all of it in its run_metadata snapshot.
    assert len(record.metadata["fan.work"]) == n
    join = next(s.result for s in record.steps if s.step_id == "join")
    assert join["count"] == n
    assert join["total"] == sum(i * i for i in range(n))


async def test_read_only_action_whose_worker_is_killed_is_retried_and_nothing_is_lost(
        runs: RunStore, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    steps = [{"id": f"q{i}", "action": "probe.quick", "with": {"n": i}, "depends_on": []}
             for i in range(20)]
    steps.append({"id": "slow", "action": "probe.slow", "depends_on": [],
                  "with": {"pids": str(pids), "seconds": 2}})
    m = manifest({"probe.quick": {"handler": f"{H}:quick_probe"},
                  "probe.slow": {"handler": f"{H}:slow_probe", "timeout": 120}},
                 {"probe": {"steps": steps}})
    runtime = Runtime(m, runs, executor=RayExecutor(read_only_retries=3))

    running = asyncio.create_task(runtime.run("probe"))
    victim = await wait_for_pid(pids)
    assert victim != os.getpid()
    os.kill(victim, signal.SIGKILL)
    result = await asyncio.wait_for(running, 90)

    assert result.ok, result.error
    attempts = [int(p) for p in pids.read_text().split()]
    assert len(attempts) == 2 and attempts[0] == victim and attempts[1] != victim
    record = await runs.get_run(result.run_id)
    assert len(record.steps) == 21 and {s.status for s in record.steps} == {"succeeded"}
    slow = next(s for s in record.steps if s.step_id == "slow")
    assert slow.result == {"pid": attempts[1]}


async def test_mutating_action_whose_worker_is_killed_never_runs_twice_even_on_resume(
        runs: RunStore, pg_store: Store, tmp_path: Path) -> None:
    marker = tmp_path / "executions"
    m = manifest({"host.change": {"handler": f"{H}:change_host", "mutates": True,
                                  "timeout": 120,
                                  "params": {"marker": str(marker), "seconds": 30}}})
    runtime = Runtime(m, runs, executor=RayExecutor())

    running = asyncio.create_task(runtime.execute("host.change"))
    victim = await wait_for_pid(marker)
    os.kill(victim, signal.SIGKILL)
    result = await asyncio.wait_for(running, 60)

    assert result.status == "failed"
    step = result.steps["host.change"]
    assert step.status == "failed"
    assert step.error is not None and step.error.startswith("WorkerLost:")
    assert "outcome is unknown" in step.error

    # Another driver (a new store connection and runtime) resumes the run: the durable
    # idempotency claim refuses to execute the action again.
    other_store = await Store.open(pg_store.url)
    other_runs = RunStore(other_store)
    try:
        resumed = await Runtime(m, other_runs, executor=RayExecutor()).resume(result.run_id)
    finally:
        await other_runs.writer.close()
        await other_store.close()
    assert resumed.status == "failed"
    again = resumed.steps["host.change"]
    assert again.error is not None and again.error.startswith("DuplicateExecution:")
    await asyncio.sleep(1.0)  # time for a (wrong) Ray retry to show up in the marker
    assert marker.read_text().split() == [str(victim)]


async def test_timed_out_read_only_task_is_cancelled_on_its_worker(
        runs: RunStore, tmp_path: Path) -> None:
    pids, done = tmp_path / "pids", tmp_path / "done"
    # A deadline long enough for the task to start on a worker, short of its 6 s of work.
    m = manifest({"probe.slow": {"handler": f"{H}:slow_probe", "timeout": 5,
                                 "params": {"pids": str(pids), "done": str(done),
                                            "seconds": 6}},
                  "probe.quick": {"handler": f"{H}:quick_probe"}})
    runtime = Runtime(m, runs, executor=RayExecutor())
    # A worker is up before the clock starts (starting one took longer than the deadline
    # on a loaded machine, and the task never ran).
    assert (await runtime.execute("probe.quick")).status == "succeeded"

    result = await runtime.execute("probe.slow")

    error = result.steps["probe.slow"].error
    assert error is not None and error.startswith("ActionTimeout:")
    assert len(pids.read_text().split()) == 1  # it was running
    # It started before the deadline, so uncancelled it would finish within 5 + 6 s of
    # the submission: wait past that.
    await asyncio.sleep(7)
    assert not done.exists()
    assert len(pids.read_text().split()) == 1  # cancelled, not retried


async def test_worker_errors_keep_their_type_and_published_metadata(runs: RunStore) -> None:
    m = manifest({"disk.check": {"handler": f"{H}:publish_then_fail"}})
    runtime = Runtime(m, runs, executor=RayExecutor())

    result = await runtime.execute("disk.check")

    step = result.steps["disk.check"]
    assert step.status == "failed"
    assert step.error == "ValueError: the disk is on fire"
    record = await runs.get_run(result.run_id)
    assert record.metadata == {"disk.check": {"before": "published on the worker"}}


async def test_worker_gets_the_step_context(runs: RunStore) -> None:
    m = manifest({"ctx.show": {"handler": f"{H}:where_am_i"}})
    runtime = Runtime(m, runs, executor=RayExecutor(), env={"REGION": "eu"}, forensic=True)

    result = await runtime.execute("ctx.show", run_id="ctx-run-1")

    out = result.steps["ctx.show"].result
    assert out["pid"] != os.getpid()
    assert out == {**out, "forensic": True, "env": {"REGION": "eu"}, "attempt": 1,
                   "step": "ctx.show", "run": "ctx-run-1"}


async def test_driver_actions_run_on_the_driver_and_others_cannot_use_the_gateway(
        runs: RunStore) -> None:
    m = manifest({"local.show": {"handler": f"{H}:where_am_i"},
                  "remote.ask": {"handler": f"{H}:ask_model"}})
    runtime = Runtime(m, runs, executor=RayExecutor(driver_actions=["local.*"]),
                      llm=object())

    here = await runtime.execute("local.show")
    assert here.steps["local.show"].result["pid"] == os.getpid()

    remote = await runtime.execute("remote.ask")
    error = remote.steps["remote.ask"].error
    assert error is not None and error.startswith("ConfigError:")
    assert "AIOS_RAY_DRIVER_ACTIONS" in error


async def test_open_runtime_selects_the_ray_executor_from_settings(
        postgres_url: str, tmp_path: Path) -> None:
    m = manifest({"ctx.show": {"handler": f"{H}:where_am_i"}})
    settings = Settings(home=tmp_path / "home", database_url=postgres_url, executor="ray")
    async with open_runtime(m, settings=settings) as runtime:
        remote = await runtime.execute("ctx.show")
    async with open_runtime(m, settings=settings, executor="local") as runtime:
        local = await runtime.execute("ctx.show")
    assert remote.steps["ctx.show"].result["pid"] != os.getpid()
    assert local.steps["ctx.show"].result["pid"] == os.getpid()


def test_cluster_reports_the_live_nodes_and_cpus(ray_cluster: dict[str, float]) -> None:
    info = RayExecutor().cluster()  # joins the session's instance rather than starting one
    assert info["nodes"] == 1
    assert info["resources"]["CPU"] == ray_cluster["CPU"] == 2


def test_the_server_runs_what_its_api_starts_on_ray_workers(postgres_url: str,
                                                            tmp_path: Path) -> None:
    # `aios serve` with the Ray executor (AIOS_EXECUTOR=ray): the server is the driver, the
    # run's actions execute on the worker processes, the store records them.
    import time
    import uuid

    from fastapi.testclient import TestClient

    from aios.auth import Role, TokenStore, UserStore
    from aios.server import create_app

    name = f"ops{uuid.uuid4().hex[:8]}"

    async def user() -> str:
        store = await Store.open(postgres_url)
        try:
            await UserStore(store).add(name, Role.approver, password=f"{name}-pw")
            return (await TokenStore(store).issue(name, expires_in=3600)).secret
        finally:
            await store.close()

    headers = {"Authorization": f"Bearer {asyncio.run(user())}"}
    m = manifest({"ctx.show": {"handler": f"{H}:where_am_i"}},
                 {"show": {"steps": [{"id": "a", "action": "ctx.show"},
                                     {"id": "b", "action": "ctx.show", "depends_on": ["a"]}]}})
    settings = Settings(home=tmp_path / "home", database_url=postgres_url, executor="ray")
    app = create_app(settings, manifest=m, expiry_interval=0, watch_interval=0)
    with TestClient(app) as client:
        started = client.post("/api/runs", json={"sequence": "show"}, headers=headers)
        assert started.status_code in (200, 201, 202), started.text
        run_id = started.json()["id"]
        deadline = time.monotonic() + 120
        while (run := client.get(f"/api/runs/{run_id}", headers=headers).json())["status"] \
                == "running":
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
    assert run["status"] == "succeeded", run
    pids = {s["step_id"]: s["result"]["pid"] for s in run["steps"]}
    assert set(pids) == {"a", "b"} and os.getpid() not in pids.values()
