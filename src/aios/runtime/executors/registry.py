"""Executors by name: `AIOS_EXECUTOR` (or `open_runtime(executor=...)`) picks one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aios.registry import Registry
from aios.runtime.pipeline import StepCall
from aios.settings import Settings

__all__ = ["Executor", "ExecutorFactory", "build_executor", "executor_names",
           "register_executor"]


class Executor(Protocol):
    """The innermost pipeline stage: runs a call's handler somewhere and returns its result."""

    async def __call__(self, call: StepCall) -> Any:
        """Run `call.handler(call.ctx)` and return what it returned (or raise what it raised)."""
        ...

    def describe(self) -> dict[str, Any]:
        """Where handlers run, as JSON-ready data (for `aios deploy executor`)."""
        ...


#: Builds an executor from the process settings.
ExecutorFactory = Callable[[Settings], Executor]
F = TypeVar("F", bound=ExecutorFactory)

_EXECUTORS: Registry[ExecutorFactory] = Registry(
    "executor", known="set AIOS_EXECUTOR to one of")


def register_executor(name: str) -> Callable[[F], F]:
    """Register a factory `(settings) -> Executor` under `name`."""

    return _EXECUTORS.register(name)


def executor_names() -> list[str]:
    """The registered executor names, sorted."""
    return _EXECUTORS.names()


def build_executor(name: str, settings: Settings) -> Executor:
    """The executor registered as `name`, configured from `settings`.

    Raises:
        ConfigError: no executor has that name.
    """
    return _EXECUTORS.get(name)(settings)
