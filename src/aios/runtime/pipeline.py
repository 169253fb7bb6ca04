"""The pipeline around every handler: a list of small layers sharing one interface.

A layer is any object with ``async def __call__(self, call, call_next)``. It may look at or
change the call, decide not to run it (raise), run it (``await call_next(call)``), and look at
or change the result. Tracing, guardrails, approvals and reliability are layers; adding one
is adding an object to the list, not editing the engine or the other layers.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from aios.manifest.schema import Action
from aios.runtime.context import ActionContext

__all__ = ["Layer", "Next", "StepCall", "compose", "invoke_handler"]


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


async def invoke_handler(call: StepCall) -> Any:
    """The innermost stage: run the handler (sync handlers in a worker thread)."""
    fn = call.handler
    if inspect.iscoroutinefunction(fn):
        return await fn(call.ctx)
    result = await asyncio.to_thread(fn, call.ctx)
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
