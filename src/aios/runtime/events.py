"""Run events as frozen records, for listeners such as the CLI's live progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["AgentTurnRecorded", "Listener", "RunFinished", "RunStarted", "StepFinished",
           "StepStarted"]


@dataclass(frozen=True)
class RunStarted:
    """A run began (or resumed); `steps` are its step ids in declaration order.

    `kind` is the run's kind when the emitter says it (`agent`); empty otherwise.
    """

    run_id: str
    target: str
    steps: tuple[str, ...]
    resumed: bool = False
    kind: str = ""


@dataclass(frozen=True)
class AgentTurnRecorded:
    """An agent run's conversation got entry `seq` (`message`, `model`, `tool` or `end`);
    it is queued for the store, which has it once the run's writer flushes."""

    run_id: str
    seq: int
    kind: str


@dataclass(frozen=True)
class StepStarted:
    """A step's handler is about to go through the pipeline."""

    run_id: str
    step_id: str
    action: str


@dataclass(frozen=True)
class StepFinished:
    """A step reached a final state: succeeded, failed, skipped or cancelled."""

    run_id: str
    step_id: str
    action: str
    status: str
    duration_ms: float
    result: Any = None
    error: str | None = None


@dataclass(frozen=True)
class RunFinished:
    """A run reached its final state."""

    run_id: str
    status: str
    error: str | None = None


Event = RunStarted | StepStarted | StepFinished | RunFinished
Listener = Callable[[Event], None]
