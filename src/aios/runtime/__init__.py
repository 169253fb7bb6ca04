"""The runtime: DAG engine, agent loop, action context, pipeline layers, handler registry."""

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
