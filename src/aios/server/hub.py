"""`EventHub`: live events fanned out to every connected client, one bounded queue each.

The runtime and the approval service call listeners synchronously; the hub turns their frozen
event records into small JSON-ready messages and puts them on each subscriber's queue without
waiting. A client too slow to keep up loses its queue's backlog and gets a `resync` message,
so it reloads what it shows instead of blocking the runs that produce the events.

Messages are numbered, and the last `history` are kept: a page drawn at message N asks for
what came after N when it connects (and a browser reconnecting sends `Last-Event-ID`), so
nothing that happened in between is missed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aios.approvals.workflow import ApprovalEvent
from aios.runtime.events import (
    AgentTurnRecorded,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
)

__all__ = ["EVENT_KINDS", "EventHub", "Message"]


@dataclass(frozen=True)
class Message:
    """One event as clients see it: a kind (`run.started`, ...), an id and JSON-ready data."""

    id: int
    kind: str
    data: dict[str, Any]


def _run_started(e: RunStarted) -> dict[str, Any]:
    return {"run_id": e.run_id, "target": e.target, "steps": list(e.steps),
            "resumed": e.resumed}


def _step_started(e: StepStarted) -> dict[str, Any]:
    return {"run_id": e.run_id, "step_id": e.step_id, "action": e.action}


def _step_finished(e: StepFinished) -> dict[str, Any]:
    # The result stays out: it can be large, and pages load it from the API when shown.
    return {"run_id": e.run_id, "step_id": e.step_id, "action": e.action,
            "status": e.status, "duration_ms": round(e.duration_ms, 3), "error": e.error}


def _run_finished(e: RunFinished) -> dict[str, Any]:
    return {"run_id": e.run_id, "status": e.status, "error": e.error}


def _agent_turn(e: AgentTurnRecorded) -> dict[str, Any]:
    # Only where the conversation stands: pages fetch the entries themselves.
    return {"run_id": e.run_id, "seq": e.seq, "kind": e.kind}


def _approval(e: ApprovalEvent) -> dict[str, Any]:
    return dataclasses.asdict(e)


#: Event record type -> (message kind, converter); a new event type is one entry here.
EVENT_KINDS: dict[type, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    RunStarted: ("run.started", _run_started),
    StepStarted: ("step.started", _step_started),
    StepFinished: ("step.finished", _step_finished),
    RunFinished: ("run.finished", _run_finished),
    AgentTurnRecorded: ("agent.turn", _agent_turn),
}


class EventHub:
    """Fan-out of live events to subscribers (server-sent event streams).

    Args:
        max_queue: messages buffered per subscriber before it is told to resync.
        history: recent messages kept for clients that connect (or reconnect) late.
    """

    def __init__(self, max_queue: int = 1000, history: int = 1000):
        self.max_queue = max_queue
        self._queues: set[asyncio.Queue[Message | None]] = set()
        self._ids = itertools.count(1)
        self._last = 0
        self._recent: deque[Message] = deque(maxlen=history)
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # built outside a loop: the first subscriber's loop is used
            self._loop = None

    @property
    def subscribers(self) -> int:
        """How many clients are connected."""
        return len(self._queues)

    @property
    def last_id(self) -> int:
        """The number of the latest message (0 before the first)."""
        return self._last

    def since(self, after: int) -> list[Message]:
        """Messages numbered above `after`; a lone `resync` when some are no longer kept."""
        if after == self._last:
            return []
        if after > self._last or not self._recent or self._recent[0].id > after + 1:
            # Numbers from before a restart, or older than what is kept: start over.
            return [Message(self._last, "resync", {})]
        return [m for m in self._recent if m.id > after]

    @contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[Message | None]]:
        """A queue receiving every message published while the block runs; None ends it."""
        self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Message | None] = asyncio.Queue(self.max_queue)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Queue a message for every subscriber (safe to call from any thread)."""
        loop = self._loop
        if loop is None:
            self._put(kind, data)  # no loop yet, so no subscriber either
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._put(kind, data)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._put, kind, data)

    def _put(self, kind: str, data: dict[str, Any]) -> None:
        message = Message(next(self._ids), kind, data)
        self._last = message.id
        self._recent.append(message)
        for queue in list(self._queues):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                # Drop the backlog rather than block a run; the client reloads its view.
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(Message(message.id, "resync", {}))

    def close(self) -> None:
        """End every subscription (server shutdown)."""
        for queue in list(self._queues):
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)

    # -- listeners --------------------------------------------------------------------------

    def runtime_listener(self, event: Any) -> None:
        """A runtime listener (`open_runtime(listeners=[hub.runtime_listener])`)."""
        entry = EVENT_KINDS.get(type(event))
        if entry is not None:
            kind, convert = entry
            self.publish(kind, convert(event))

    def approval_listener(self, event: ApprovalEvent) -> None:
        """An `ApprovalService` listener: `approval.created`, `approval.approved`, ..."""
        self.publish(f"approval.{event.kind}", _approval(event))
