"""How a run and its steps ended: what `Runtime.run`, `execute`, `resume` and `run_agent`
return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aios.runtime.agent_loop import AgentOutcome

__all__ = ["RunResult", "StepOutcome"]


@dataclass(frozen=True)
class StepOutcome:
    """How one step ended."""

    step_id: str
    action: str
    status: str
    duration_ms: float = 0.0
    result: Any = None
    error: str | None = None


@dataclass
class RunResult:
    """How a run ended, with each step's outcome in declaration order."""

    run_id: str
    target: str
    status: str
    steps: dict[str, StepOutcome] = field(default_factory=dict)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None
    #: For runs of kind `agent`: the answer, why the run ended, the conversation.
    agent: AgentOutcome | None = None

    @property
    def ok(self) -> bool:
        """True when the run succeeded."""
        return self.status == "succeeded"
