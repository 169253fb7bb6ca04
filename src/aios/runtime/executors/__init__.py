"""Executors: where the runtime runs a handler (the innermost pipeline stage).

`local` runs it in the driver process; `ray` runs it as a task on a Ray cluster's worker
processes. `build_executor(settings.executor, settings)` picks one by name
(`AIOS_EXECUTOR`; `AIOS_RAY_ADDRESS` alone implies `ray`).
"""

from aios.runtime.executors.local import LocalExecutor
from aios.runtime.executors.ray import RayExecutor
from aios.runtime.executors.registry import (
    Executor,
    ExecutorFactory,
    build_executor,
    executor_names,
    register_executor,
)
from aios.runtime.executors.work import (
    DriverOnlyGateway,
    WorkItem,
    WorkReply,
    execute_work_item,
    handler_reference,
    work_item,
)

__all__ = [
    "DriverOnlyGateway",
    "Executor",
    "ExecutorFactory",
    "LocalExecutor",
    "RayExecutor",
    "WorkItem",
    "WorkReply",
    "build_executor",
    "execute_work_item",
    "executor_names",
    "handler_reference",
    "register_executor",
    "work_item",
]
