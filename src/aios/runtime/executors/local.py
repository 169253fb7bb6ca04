"""The local executor: handlers run on this machine (the default)."""

from __future__ import annotations

import inspect
import os
from typing import Any

from aios.errors import ConfigError
from aios.runtime.executors.process import WorkerProcesses
from aios.runtime.executors.registry import register_executor
from aios.runtime.executors.work import handler_reference, work_item
from aios.runtime.handlers import HandlerRegistry
from aios.runtime.pipeline import StepCall, invoke_handler
from aios.settings import Settings

__all__ = ["LocalExecutor"]


class LocalExecutor:
    """Runs handlers on this machine, where a deadline or a cancel can stop them.

    Async handlers run on the event loop (a cancel stops them). Sync read-only handlers run
    in a daemon thread (cheap; a timed-out one is abandoned with an unknown outcome). Sync
    *mutating* handlers run in a worker process that is killed at the deadline, so an action
    that timed out never goes on to change the host; one that cannot run in another process
    (a closure, a lambda, a function of `__main__`) runs in a thread like a read-only one.

    Args:
        processes: starts the worker processes (default: a `WorkerProcesses()`).
        mutating_in_process: False keeps every sync handler in a thread (the old behaviour).
    """

    def __init__(self, processes: WorkerProcesses | None = None, *,
                 mutating_in_process: bool = True):
        self.processes = processes or WorkerProcesses()
        self.mutating_in_process = mutating_in_process
        self._builtin: frozenset[str] | None = None

    async def __call__(self, call: StepCall) -> Any:
        """Run `call`'s handler here."""
        reference = self._process_reference(call)
        if reference is None:
            return await invoke_handler(call)
        reply = await self.processes.run(work_item(call, reference))
        for key, value in reply.published:
            call.ctx.publish_metadata(key, value)
        if reply.error is not None:
            reply.error.add_note(f"raised in worker process pid {reply.pid}:\n{reply.traceback}")
            raise reply.error
        return reply.value

    def _process_reference(self, call: StepCall) -> str | None:
        """The handler's reference when it should run in a worker process, else None."""
        if (not self.mutating_in_process or not call.spec.mutates
                or inspect.iscoroutinefunction(call.handler)):
            return None
        if self._builtin is None:
            self._builtin = frozenset(HandlerRegistry.builtin().names())
        try:
            return handler_reference(call, self._builtin)
        except ConfigError:
            return None  # not importable elsewhere: a thread it is

    def describe(self) -> dict[str, Any]:
        """This process (and how mutating handlers are run)."""
        return {"executor": "local", "pid": os.getpid(),
                "mutating_sync_handlers": (f"worker process ({self.processes.method})"
                                           if self.mutating_in_process else "thread")}


@register_executor("local")
def _local(settings: Settings) -> LocalExecutor:
    return LocalExecutor()
