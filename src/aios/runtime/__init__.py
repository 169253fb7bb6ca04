"""The runtime: DAG engine, agent loop, action context, pipeline layers, handler registry.

The names below are imported on first use (PEP 562): `aios.runtime.events` or
`aios.runtime.pipeline` alone does not pull in the engine and the manifest schema.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aios.runtime.agent_loop import AgentLoop, AgentOutcome
    from aios.runtime.context import ActionContext
    from aios.runtime.engine import RunResult, Runtime, StepOutcome, default_layers
    from aios.runtime.events import RunFinished, RunStarted, StepFinished, StepStarted
    from aios.runtime.handlers import HandlerRegistry, handler
    from aios.runtime.layers import (
        ConfirmationLayer,
        ForensicLayer,
        IdempotencyLayer,
        TimeoutLayer,
        idempotency_key,
    )
    from aios.runtime.pipeline import Layer, Next, StepCall, compose, invoke_handler

__all__ = [
    "ActionContext",
    "AgentLoop",
    "AgentOutcome",
    "ConfirmationLayer",
    "ForensicLayer",
    "HandlerRegistry",
    "IdempotencyLayer",
    "Layer",
    "Next",
    "RunFinished",
    "RunResult",
    "RunStarted",
    "Runtime",
    "StepCall",
    "StepFinished",
    "StepOutcome",
    "StepStarted",
    "TimeoutLayer",
    "compose",
    "default_layers",
    "handler",
    "idempotency_key",
    "invoke_handler",
]

#: Where each public name lives.
_HOMES = {
    "AgentLoop": "agent_loop", "AgentOutcome": "agent_loop",
    "ActionContext": "context", "RunResult": "engine", "Runtime": "engine",
    "StepOutcome": "engine", "default_layers": "engine", "RunFinished": "events",
    "RunStarted": "events", "StepFinished": "events", "StepStarted": "events",
    "HandlerRegistry": "handlers", "handler": "handlers", "ConfirmationLayer": "layers",
    "ForensicLayer": "layers", "IdempotencyLayer": "layers", "TimeoutLayer": "layers",
    "idempotency_key": "layers", "Layer": "pipeline", "Next": "pipeline",
    "StepCall": "pipeline", "compose": "pipeline", "invoke_handler": "pipeline",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'aios.runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"aios.runtime.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
