"""A guardrail decision: the typed record of one check and its outcome.

Every check the guardrails run produces one, handed to the decision hooks (trace exporter,
audit log) whatever the verdict, and carried by the `GuardrailTripped` it raises when the
verdict stops the step or the call (`exc.decision`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["DecisionHook", "GuardrailDecision"]


@dataclass(frozen=True)
class GuardrailDecision:
    """One guardrail check and its outcome.

    Attributes:
        subject: what was checked: an action (`agent.key`) or a model name.
        stage: `input`, `output`, `tool output`, `prompt` or `completion`.
        check: the check's name (`injection`, `pii`, `secrets`, or one the policy adds).
        verdict: `pass`, `taint`, `block`, `flag`, `approve`, `redact` or `allow`.
        findings: (type, score) of what was found; never the values themselves.
        run_id: the run, when the check ran inside one.
        detector: the detector of the highest-scored finding, when something was found.
    """

    subject: str
    stage: str
    check: str
    verdict: str
    findings: tuple[tuple[str, float], ...] = ()
    run_id: str | None = None
    detector: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"subject": self.subject, "stage": self.stage, "check": self.check,
                "verdict": self.verdict, "run_id": self.run_id,
                "detector": self.detector,
                "findings": [{"type": t, "score": round(s, 3)} for t, s in self.findings]}


DecisionHook = Callable[[GuardrailDecision], None]
