"""`WithdrawOnCancel`: a run listener that withdraws a cancelled run's open approval requests.

The runtime records a run cancelled (Ctrl-C in the CLI, a cancelled task in the server) and
then tells its listeners, which are synchronous; this one starts the withdrawal as a task and
`aclose` waits for every task it started, so the composition root (`open_runtime`) closes the
store only after the withdrawals are committed. A withdrawal that fails is logged: the run's
cancellation is recorded already and stays so, and its requests stay in the queue (until their
deadline passes, or someone decides them) as they did before withdrawals existed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aios.approvals.workflow import ApprovalService
from aios.runtime.events import RunFinished

__all__ = ["WithdrawOnCancel", "withdraw_quietly"]

log = logging.getLogger("aios.approvals")


async def withdraw_quietly(service: ApprovalService, run_id: str, *, actor: str,
                           reason: str) -> int:
    """Withdraw the open requests of cancelled run `run_id`; log a failure instead of raising.

    Returns:
        How many requests were withdrawn (0 also when withdrawing failed).
    """
    try:
        return len(await service.withdraw_run(run_id, actor=actor, reason=reason))
    except Exception:  # the run is cancelled already; a store error must not undo that
        log.exception("run %s is cancelled, but withdrawing its open approval requests failed; "
                      "they stay in the queue (`aios approvals list --run %s`)", run_id, run_id)
        return 0


class WithdrawOnCancel:
    """On `RunFinished(status="cancelled")`, withdraw the run's open approval requests.

    Args:
        service: the approval service (its listeners learn of each withdrawal).
        actor: who is recorded as having withdrawn them (the user of this runtime).
    """

    def __init__(self, service: ApprovalService, *, actor: str):
        self.service = service
        self.actor = actor
        self._tasks: set[asyncio.Task[int]] = set()

    def __call__(self, event: Any) -> None:
        if not (isinstance(event, RunFinished) and event.status == "cancelled"):
            return
        reason = f"run cancelled: {event.error}" if event.error else "run cancelled"
        task = asyncio.get_running_loop().create_task(
            withdraw_quietly(self.service, event.run_id, actor=self.actor, reason=reason),
            name=f"aios withdraw {event.run_id}")
        self._tasks.add(task)  # asyncio keeps only a weak reference to tasks
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Wait for the withdrawals started so far (call before the store closes)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))
