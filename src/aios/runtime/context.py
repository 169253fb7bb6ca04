"""`ActionContext`: everything a handler receives."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the manifest schema imports policy models whose layers import this module
    from aios.manifest.schema import Action

__all__ = ["ActionContext"]


@dataclass
class ActionContext:
    """What a handler gets: its arguments, the run it belongs to, and the services it may use.

    Attributes:
        run_id: the run this execution belongs to.
        action: the action's full name, `agent.key`.
        step_id: the step of the sequence being executed (equal to `action` for single runs).
        spec: the action's manifest entry (criticality, mutates, timeout, ...).
        args: the arguments: the action's `params` overlaid with the step's `with`.
        env: the manifest's `env` with --env overrides applied.
        forensic: True in read-only mode; a handler can use it to avoid side effects.
        logger: a logger named after the action.
        attempt: 1 for the first attempt, 2 for the first retry, ...
        llm: the model gateway (`await ctx.llm.complete(...)`), or None when none is configured.
        idempotency_key: set for mutating actions; stable across retries and resumes.
        autonomy: the autonomy level (0-4) of the agent whose model asked for this call;
            None when no model chose it (sequences, `aios exec`).
    """

    run_id: str
    action: str
    step_id: str
    spec: Action
    args: dict[str, Any]
    env: Mapping[str, str]
    forensic: bool = False
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("aios.action"))
    attempt: int = 1
    llm: Any = None
    idempotency_key: str | None = None
    autonomy: int | None = None
    _publish: Callable[[str, str, Any], None] | None = field(default=None, repr=False)
    _run_metadata: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)
    _checkpoint: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)

    @property
    def agent(self) -> str:
        """The agent part of `action`."""
        return self.action.partition(".")[0]

    def publish_metadata(self, key: str, value: Any) -> None:
        """Publish a JSON-serialisable value under `key`; it is stored with the run at once."""
        if self._publish is not None:
            self._publish(self.action, key, value)

    def run_metadata(self) -> Mapping[str, Mapping[str, Any]]:
        """Metadata published so far in this run, as {action: {key: value}}."""
        return self._run_metadata

    async def checkpoint(self) -> None:
        """Commit everything the run has recorded so far (its steps and, for an agent run,
        its conversation).

        The run record is committed in batches, not at each change; a layer calls this before
        an effect that outlives the process and that a resume must find consistent with the
        record, such as filing an approval request for this call (the idempotency claim of a
        mutating action commits the same way). Without a store behind the run, nothing happens.

        Raises:
            StoreError: the store refused the batch.
        """
        if self._checkpoint is not None:
            await self._checkpoint()
