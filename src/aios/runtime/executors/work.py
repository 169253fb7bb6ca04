"""A unit of work that crosses a process boundary, and how another process executes it.

A distributed executor cannot ship the driver's `ActionContext` (it holds the run's publish
callback, the model gateway and a logger) nor the handler object (a closure would be pickled
by value, and a module-level function may not exist under that name on the worker). It ships
a `WorkItem` instead: plain data plus the handler's *reference*, which the worker resolves
with its own `HandlerRegistry.builtin()`. The worker sends back a `WorkReply`: the result or
the exception, and the metadata the handler published, for the driver to record.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import os
import pickle
import socket
import traceback
from dataclasses import dataclass, field
from typing import Any

from aios.errors import ConfigError, HandlerError
from aios.manifest.schema import Action
from aios.runtime.context import ActionContext
from aios.runtime.handlers import HandlerRegistry
from aios.runtime.pipeline import StepCall

__all__ = ["DriverOnlyGateway", "WorkItem", "WorkReply", "execute_work_item", "handler_reference",
           "work_item", "worker_registry"]


@dataclass(frozen=True)
class WorkItem:
    """Everything a worker needs to run one handler once.

    Attributes:
        handler: the handler reference: a built-in name or `package.module:function`.
        run_id: the run the execution belongs to.
        action: `agent.key`.
        step_id: the step being executed.
        spec: the action's manifest entry.
        args: the handler's arguments.
        env: the manifest's `env` with overrides applied.
        forensic: read-only mode.
        attempt: the attempt number the driver's pipeline is on.
        idempotency_key: the claimed key of a mutating action.
        run_metadata: a snapshot of the metadata published so far in the run.
        driver_has_llm: whether the driver has a model gateway (see `DriverOnlyGateway`).
    """

    handler: str
    run_id: str
    action: str
    step_id: str
    spec: Action
    args: dict[str, Any]
    env: dict[str, str]
    forensic: bool = False
    attempt: int = 1
    idempotency_key: str | None = None
    run_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    driver_has_llm: bool = False


@dataclass(frozen=True)
class WorkReply:
    """What a worker sends back.

    Attributes:
        value: the handler's result (None when it raised).
        error: the exception the handler raised, if any.
        traceback: the worker-side traceback of `error`.
        published: `(key, value)` for each `ctx.publish_metadata` call, in order.
        pid: the worker process.
        host: the worker's host name.
    """

    value: Any = None
    error: BaseException | None = None
    traceback: str = ""
    published: tuple[tuple[str, Any], ...] = ()
    pid: int = 0
    host: str = ""


class DriverOnlyGateway:
    """`ctx.llm` on a worker: the model gateway exists only in the driver process.

    The gateway carries the run's budgets, the cost ledger and the response cache; a copy
    per worker would enforce none of them. Any use names the setting that moves the action
    to the driver.
    """

    def __init__(self, action: str):
        self._action = action

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise ConfigError(
            f"{self._action} used ctx.llm.{name} on a Ray worker, but the model gateway (its "
            "budgets, cost ledger and cache) runs on the driver; add the action to "
            "AIOS_RAY_DRIVER_ACTIONS (comma-separated globs) so it runs there")


def handler_reference(call: StepCall, builtin_names: frozenset[str]) -> str:
    """The reference a worker resolves to `call.handler`.

    The manifest's `handler:` when it is a `module:function` or a built-in name; otherwise
    (a handler registered on the driver by name) the function's import path.

    Raises:
        ConfigError: the handler cannot be imported by another process (a closure, a lambda,
            or a function defined in `__main__`).
    """
    ref = call.spec.handler
    if ":" in ref or ref in builtin_names:
        return ref
    fn = call.handler
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname:
        raise ConfigError(
            f"{call.action}: handler {ref!r} ({module}:{qualname}) cannot be imported by a "
            "worker process; define it at the top level of an importable module and name it "
            "`package.module:function` in the manifest, or list the action in "
            "AIOS_RAY_DRIVER_ACTIONS to run it on the driver")
    return f"{module}:{qualname}"


def work_item(call: StepCall, handler: str) -> WorkItem:
    """The `WorkItem` for `call`, its handler named by `handler`."""
    ctx = call.ctx
    return WorkItem(
        handler=handler, run_id=ctx.run_id, action=ctx.action, step_id=ctx.step_id,
        spec=ctx.spec, args=dict(ctx.args), env=dict(ctx.env), forensic=ctx.forensic,
        attempt=ctx.attempt, idempotency_key=ctx.idempotency_key,
        run_metadata={action: dict(values) for action, values in ctx.run_metadata().items()},
        driver_has_llm=ctx.llm is not None)


@functools.cache
def worker_registry() -> HandlerRegistry:
    """The built-in handlers, loaded once per worker process."""
    # Importing the built-in agent modules costs tens of milliseconds: once per worker
    # process, not once per task.
    return HandlerRegistry.builtin()


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _portable(exc: Exception) -> BaseException:
    """`exc` if it survives pickling, else a HandlerError carrying its type and message."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return HandlerError(f"{type(exc).__name__}: {exc}")
    return exc


def execute_work_item(item: WorkItem) -> WorkReply:
    """Run `item`'s handler in this process and report how it went (never raises).

    Async handlers run on a fresh event loop; sync ones are called directly (a worker
    process runs one task at a time).
    """
    published: list[tuple[str, Any]] = []

    def publish(action: str, key: str, value: Any) -> None:
        published.append((key, value))  # `action` is the item's own

    ctx = ActionContext(
        run_id=item.run_id, action=item.action, step_id=item.step_id, spec=item.spec,
        args=dict(item.args), env=item.env, forensic=item.forensic,
        logger=logging.getLogger(f"aios.action.{item.action}"), attempt=item.attempt,
        llm=DriverOnlyGateway(item.action) if item.driver_has_llm else None,
        idempotency_key=item.idempotency_key, _publish=publish,
        _run_metadata=item.run_metadata)
    pid, host = os.getpid(), socket.gethostname()
    try:
        fn = worker_registry().resolve(item.handler)
        result = fn(ctx)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
    except Exception as exc:
        return WorkReply(error=_portable(exc), traceback=traceback.format_exc(),
                         published=tuple(published), pid=pid, host=host)
    return WorkReply(value=result, published=tuple(published), pid=pid, host=host)
