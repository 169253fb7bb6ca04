"""Helpers for the approvals tests (importable by basename: pytest puts this folder on sys.path)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aios.approvals import ActionFacts, ApprovalPolicy, Proposal, Requirement


@dataclass
class Clock:
    """A clock tests move by hand, so deadlines pass without sleeping."""

    now: datetime = field(default_factory=lambda: datetime(2030, 1, 1, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def requirement(level: str = "high", policy: ApprovalPolicy | None = None,
                **facts: Any) -> Requirement:
    """The default (or given) policy's verdict on a mutating action of `level`."""
    policy = policy or ApprovalPolicy()
    return policy.evaluate(ActionFacts(action=facts.pop("action", "storage.wipe"),
                                       criticality=level,  # type: ignore[arg-type]
                                       mutates=facts.pop("mutates", True), **facts))


def proposal(run_id: str = "run1", step_id: str = "step1", *, args: dict[str, Any] | None = None,
             requester: str = "ops", **kw: Any) -> Proposal:
    """A proposal for `storage.wipe` by `requester`."""
    return Proposal(run_id=run_id, step_id=step_id, action=kw.pop("action", "storage.wipe"),
                    args=args if args is not None else {"path": "/tmp/x"}, requester=requester,
                    reason=kw.pop("reason", "disk full"), **kw)
