"""The local executor: handlers run in the driver process (the default)."""

from __future__ import annotations

import os
from typing import Any

from aios.runtime.executors.registry import register_executor
from aios.runtime.pipeline import StepCall, invoke_handler
from aios.settings import Settings

__all__ = ["LocalExecutor"]


class LocalExecutor:
    """Runs handlers in this process: async ones on the event loop, sync ones in a thread.

    Sync handlers share the process's GIL, so CPU-bound actions use about one core however
    many run at once; the Ray executor spreads them over worker processes.
    """

    async def __call__(self, call: StepCall) -> Any:
        """Run `call`'s handler here."""
        return await invoke_handler(call)

    def describe(self) -> dict[str, Any]:
        """This process."""
        return {"executor": "local", "pid": os.getpid()}


@register_executor("local")
def _local(settings: Settings) -> LocalExecutor:
    return LocalExecutor()
