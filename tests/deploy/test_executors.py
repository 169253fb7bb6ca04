"""Executors without a cluster: selection by settings, the work item a worker receives, and
how a worker runs it (in this process)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

from aios.errors import ConfigError, HandlerError
from aios.manifest import Manifest
from aios.runtime import ActionContext, HandlerRegistry, Runtime, StepCall, handler
from aios.runtime.executors import (
    LocalExecutor,
    RayExecutor,
    WorkItem,
    build_executor,
    execute_work_item,
    executor_names,
    handler_reference,
    work_item,
)
from aios.settings import Settings
from aios.store import RunStore

H = "tests.deploy.ray_handlers"


def _manifest(actions: dict[str, dict[str, Any]]) -> Manifest:
    agents: dict[str, Any] = {}
    for name, spec in actions.items():
        agent, _, key = name.partition(".")
        agents.setdefault(agent, {"actions": {}})["actions"][key] = spec
    return Manifest.model_validate({"agents": agents})


def _call(fn: Any, ref: str, *, llm: Any = None, args: dict[str, Any] | None = None,
          mutates: bool = False) -> StepCall:
    spec = _manifest({"t.act": {"handler": ref, "mutates": mutates}}).action("t.act")
    published: list[tuple[str, str, Any]] = []
    ctx = ActionContext(run_id="r1", action="t.act", step_id="s1", spec=spec,
                        args=args or {}, env={"A": "1"}, llm=llm,
                        _publish=lambda a, k, v: published.append((a, k, v)),
                        _run_metadata={"other.act": {"k": 1}})
    return StepCall(ctx, fn)


# -- selection ------------------------------------------------------------------------------

def test_settings_default_to_the_local_executor(settings: Settings) -> None:
    assert settings.executor == "local"
    assert isinstance(build_executor(settings.executor, settings), LocalExecutor)


def test_a_ray_address_alone_selects_the_ray_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOS_RAY_ADDRESS", "ray-head:6379")
    monkeypatch.setenv("AIOS_RAY_DRIVER_ACTIONS", "orchestration.*, reports.*")
    settings = Settings()
    assert settings.executor == "ray"
    executor = build_executor(settings.executor, settings)
    assert isinstance(executor, RayExecutor)
    assert executor.address == "ray-head:6379"
    assert executor.driver_actions == ("orchestration.*", "reports.*")


def test_an_explicit_executor_wins_over_the_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOS_RAY_ADDRESS", "ray-head:6379")
    monkeypatch.setenv("AIOS_EXECUTOR", "local")
    assert Settings().executor == "local"


def test_unknown_executor_names_the_known_ones(settings: Settings) -> None:
    assert executor_names() == ["local", "ray"]
    with pytest.raises(ConfigError, match="AIOS_EXECUTOR to one of: local, ray"):
        build_executor("dask", settings)


def test_ray_executor_without_ray_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(ConfigError, match=r"pip install 'aios\[ray\]'"):
        RayExecutor()


async def test_local_executor_runs_sync_and_async_handlers_here(runs: RunStore) -> None:
    m = _manifest({"ctx.show": {"handler": f"{H}:where_am_i"},
                   "fan.join": {"handler": f"{H}:fan_join"}})
    runtime = Runtime(m, runs, executor=LocalExecutor())
    shown = await runtime.execute("ctx.show")
    joined = await runtime.execute("fan.join")
    assert shown.steps["ctx.show"].result["pid"] == os.getpid()
    assert joined.steps["fan.join"].result["pid"] == os.getpid()


# -- what a worker receives --------------------------------------------------------------------

def test_handler_reference_keeps_manifest_names_a_worker_can_resolve() -> None:
    builtin = frozenset(HandlerRegistry.builtin().names())
    fn = HandlerRegistry.builtin().resolve("kernel.processes")
    assert handler_reference(_call(fn, "kernel.processes"), builtin) == "kernel.processes"
    ref = f"{H}:fan_work"
    assert handler_reference(_call(None, ref), builtin) == ref


@handler("tests.registered")
def registered(ctx: ActionContext) -> str:
    return "ok"


def test_handler_registered_by_name_travels_as_its_import_path() -> None:
    ref = handler_reference(_call(registered, "tests.registered"), frozenset())
    assert ref == f"{registered.__module__}:registered"


def test_closures_are_refused_with_the_fix() -> None:
    def inner(ctx: ActionContext) -> None:
        return None

    with pytest.raises(ConfigError, match="AIOS_RAY_DRIVER_ACTIONS"):
        handler_reference(_call(inner, "tests.inner"), frozenset())


def test_work_item_carries_the_step_context_as_plain_data() -> None:
    call = _call(None, f"{H}:fan_work", args={"i": 3}, llm=object(), mutates=True)
    call.ctx.idempotency_key = "k1"
    item = work_item(call, f"{H}:fan_work")
    assert (item.run_id, item.action, item.step_id, item.args, item.env) == (
        "r1", "t.act", "s1", {"i": 3}, {"A": "1"})
    assert item.spec.mutates and item.idempotency_key == "k1" and item.driver_has_llm
    assert item.run_metadata == {"other.act": {"k": 1}}


# -- how a worker runs it ----------------------------------------------------------------------

def _item(ref: str, **kw: Any) -> WorkItem:
    spec = _manifest({"t.act": {"handler": ref}}).action("t.act")
    return WorkItem(handler=ref, run_id="r1", action="t.act", step_id="s1", spec=spec,
                    args=kw.pop("args", {}), env={}, **kw)


def test_worker_returns_result_and_published_metadata() -> None:
    reply = execute_work_item(_item(f"{H}:fan_work", args={"i": 4}))
    assert reply.error is None
    assert reply.value == {"i": 4, "square": 16, "pid": os.getpid()}
    assert reply.published == (("n4", 16),)


def test_worker_runs_async_handlers_and_sees_the_metadata_snapshot() -> None:
    reply = execute_work_item(_item(f"{H}:fan_join",
                                    run_metadata={"fan.work": {"n1": 1, "n2": 4}}))
    assert reply.value == {"count": 2, "total": 5, "pid": os.getpid()}


def test_worker_returns_the_handlers_exception_with_what_it_published() -> None:
    reply = execute_work_item(_item(f"{H}:publish_then_fail"))
    assert isinstance(reply.error, ValueError)
    assert "the disk is on fire" in reply.traceback
    assert reply.published == (("before", "published on the worker"),)


class _Unpicklable(Exception):
    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle")


def _raise_unpicklable(ctx: ActionContext) -> None:
    raise _Unpicklable("lock held")


def test_exceptions_that_cannot_travel_become_handler_errors() -> None:
    reply = execute_work_item(_item(f"{__name__}:_raise_unpicklable"))
    assert isinstance(reply.error, HandlerError)
    assert str(reply.error) == "_Unpicklable: lock held"


def test_unknown_handler_on_the_worker_is_reported_not_raised() -> None:
    reply = execute_work_item(_item("no_such_module_xyz:fn"))
    assert reply.error is not None and "cannot import module" in str(reply.error)


def test_the_gateway_on_a_worker_says_how_to_run_the_action_on_the_driver() -> None:
    reply = execute_work_item(_item(f"{H}:ask_model", driver_has_llm=True))
    assert isinstance(reply.error, ConfigError)
    assert "AIOS_RAY_DRIVER_ACTIONS" in str(reply.error)


def test_worker_gives_no_gateway_when_the_driver_has_none(tmp_path: Path) -> None:
    reply = execute_work_item(_item(f"{H}:ask_model"))
    assert isinstance(reply.error, AttributeError)  # ctx.llm is None, as on the driver
