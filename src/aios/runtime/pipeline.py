"""The pipeline around every handler: a list of small layers sharing one interface.

A layer is any object with ``async def __call__(self, call, call_next)``. It may look at or
change the call, decide not to run it (raise), run it (``await call_next(call)``), and look at
or change the result. Tracing, guardrails, approvals and reliability are layers; adding one
is adding an object to the list, not editing the engine or the other layers.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from aios.runtime.context import ActionContext
from aios.threads import ThreadAbandoned, in_daemon_thread

if TYPE_CHECKING:  # the manifest schema imports policy models whose layers import this module
    from aios.manifest.schema import Action

__all__ = ["HandlerAbandoned", "Layer", "Next", "StepCall", "compose", "handler_started",
           "handler_starting", "invoke_handler", "on_handler_start", "run_sync_abandonable"]

#: Callbacks told when a handler is `starting` (a worker process comes up) and `started`.
_START_HOOKS: contextvars.ContextVar[tuple[Callable[[str], None], ...]] = contextvars.ContextVar(
    "aios_handler_start_hooks", default=())


@contextlib.contextmanager
def on_handler_start(hook: Callable[[str], None]) -> Iterator[None]:
    """Within this block, an executor's `handler_starting()` / `handler_started()` call
    `hook("starting")` / `hook("started")`.

    A deadline uses it to count from when the handler starts, not from when its worker
    process began to come up (the first one can take seconds on a loaded machine).
    """
    token = _START_HOOKS.set((*_START_HOOKS.get(), hook))
    try:
        yield
    finally:
        _START_HOOKS.reset(token)


def handler_starting() -> None:
    """Tell the layers above that the handler is about to start somewhere (a new process)."""
    for hook in _START_HOOKS.get():
        hook("starting")


def handler_started() -> None:
    """Tell the layers above that the handler has started (after `handler_starting`)."""
    for hook in _START_HOOKS.get():
        hook("started")


@dataclass(frozen=True)
class StepCall:
    """One execution of one action, as it travels through the pipeline.

    Attributes:
        ctx: the context the handler will receive.
        handler: the resolved handler callable.
        critical: whether the step's failure stops its sequence.
    """

    ctx: ActionContext
    handler: Callable[..., Any]
    critical: bool = True

    @property
    def spec(self) -> Action:
        """The action's manifest entry."""
        return self.ctx.spec

    @property
    def action(self) -> str:
        """`agent.key`."""
        return self.ctx.action

    def with_args(self, args: dict[str, Any]) -> StepCall:
        """A copy of this call with other arguments (edit-on-approve, pseudonymisation)."""
        return replace(self, ctx=replace(self.ctx, args=args))


Next = Callable[[StepCall], Awaitable[Any]]


class Layer(Protocol):
    """One stage of the pipeline."""

    async def __call__(self, call: StepCall, call_next: Next) -> Any:
        """Handle `call`, usually by awaiting `call_next(call)`."""
        ...


#: Cancellation reached a sync handler that cannot be interrupted: it runs on in its thread
#: (`late` completes when it ends). The timeout layers read it to record an unknown outcome.
HandlerAbandoned = ThreadAbandoned


async def run_sync_abandonable(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a daemon thread; cancelling abandons the thread instead of waiting.

    Unlike `asyncio.to_thread` (whose pool threads are joined at interpreter exit), a daemon
    thread never holds up the process's exit: a command whose handler timed out ends at once.

    Raises:
        HandlerAbandoned: cancelled while `fn` was running (it goes on running).
    """
    return await in_daemon_thread(fn, *args)


async def invoke_handler(call: StepCall) -> Any:
    """The innermost stage: run the handler (sync handlers in a daemon worker thread)."""
    fn = call.handler
    if inspect.iscoroutinefunction(fn):
        return await fn(call.ctx)
    result = await run_sync_abandonable(fn, call.ctx)
    if inspect.isawaitable(result):
        result = await result
    return result


def compose(layers: Sequence[Layer], terminal: Next = invoke_handler) -> Next:
    """Chain `layers` (first = outermost) around `terminal` into one callable."""
    chain = terminal
    for layer in reversed(layers):
        chain = _bind(layer, chain)
    return chain


def _bind(layer: Layer, call_next: Next) -> Next:
    async def stage(call: StepCall) -> Any:
        return await layer(call, call_next)

    return stage
