"""`StoreWatcher`: live events for what other processes do in the store.

The server's own runtime and approval service tell the `EventHub` what they do as it happens.
Runs started elsewhere (`aios boot` in a terminal, another server, a script) and approvals
decided elsewhere (`aios approvals approve`) only reach the store. The watcher polls the store
(every second by default) and publishes the same messages for them: `run.started`,
`step.started`, `step.finished`, `run.finished` and `approval.<kind>`, each with
`"external": true` in its data. What this server did itself is left out, so nothing arrives
twice: a run is this server's when its row names this process (`pid` and `host`, which a resume
elsewhere rewrites), an approval event when this server's approval service emitted it.

What it reads, each poll:
* new `step_events` rows, by id. On PostgreSQL two writers can commit ids out of order, so a
  skipped id is looked for again for `gap_wait_s` before it is taken for a rolled-back insert;
* the `runs` rows created since the last poll, those it knows to be running elsewhere, and
  those the new step rows belong to (a run resumed elsewhere); status changes become
  `run.started` / `run.finished`;
* new `audit_log` records, by sequence number (the chain's lock makes it gap-free), mapped to
  the approval events the approval service emits. A record is published one poll after it is
  read: this server's services commit a record, then emit its event, and a poll in between
  would otherwise take their own change for another process's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from aios.approvals.audit import audit_log
from aios.approvals.requests import approval_requests
from aios.approvals.workflow import ApprovalEvent
from aios.server.hub import EventHub
from aios.store.engine import Store, database_error
from aios.store.runs import utcnow
from aios.store.tables import runs, step_events

__all__ = ["AUDIT_EVENTS", "StoreWatcher"]

log = logging.getLogger("aios.server")

#: Audit record kind -> the `ApprovalEvent.kind` the approval service emits for it.
AUDIT_EVENTS = {
    "request.created": "created", "request.auto_approved": "auto_approved",
    "decision.approve": "decided", "decision.reject": "decided",
    "request.approved": "approved", "request.rejected": "rejected",
    "request.escalated": "escalated", "request.expired": "expired",
    "request.withdrawn": "withdrawn", "action.executed": "executed",
    "action.denied": "denied",
}

#: A run created this long before the last poll is still looked for (clocks of other hosts,
#: transactions that commit a moment after their row's timestamp).
_OVERLAP = dt.timedelta(seconds=5)


class _Bounded(OrderedDict[Any, Any]):
    """A dict that forgets its oldest entries beyond `limit`."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class StoreWatcher:
    """Publishes to `hub` the runs, steps and approval changes of other processes.

    Args:
        store: the store the server uses.
        hub: where messages go.
        interval_s: seconds between polls.
        batch: rows read per query (a poll reads several batches when behind).
        gap_wait_s: how long a skipped step-event id is looked for again.
        remember: runs (their last status) and own approval events remembered.
        clock: monotonic seconds (tests pass a fake one).
    """

    def __init__(self, store: Store, hub: EventHub, *, interval_s: float = 1.0,
                 batch: int = 1000, gap_wait_s: float = 10.0, remember: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.hub = hub
        self.interval_s = interval_s
        self.batch = batch
        self.gap_wait_s = gap_wait_s
        self.clock = clock
        self.published = 0
        self._me = (os.getpid(), socket.gethostname())
        self._own_approvals: _Bounded = _Bounded(remember)  # (kind, request, actor) -> count
        self._status: _Bounded = _Bounded(remember)  # run id -> last status published
        self._last_step = 0
        self._last_audit = 0
        self._gaps: dict[int, float] = {}  # step-event id -> when to stop looking
        self._held: list[Any] = []  # audit rows read by the last poll, published by this one
        self._since = utcnow()
        self._primed = False
        self._failing = False

    # -- what this server does itself ---------------------------------------------------

    def approval_listener(self, event: ApprovalEvent) -> None:
        """Add to the server's approval service listeners: its events are the hub's."""
        key = (event.kind, event.request_id, event.actor)
        self._own_approvals[key] = self._own_approvals.get(key, 0) + 1

    # -- polling --------------------------------------------------------------------------

    async def prime(self) -> None:
        """Start from now: what is in the store already is not replayed, but runs still
        running elsewhere are followed to their end."""
        async with self.store.engine.connect() as conn:
            self._last_step = int((await conn.execute(
                select(func.coalesce(func.max(step_events.c.id), 0)))).scalar_one())
            self._last_audit = int((await conn.execute(
                select(func.coalesce(func.max(audit_log.c.seq), 0)))).scalar_one())
            active = (await conn.execute(select(runs.c.id, runs.c.pid, runs.c.host).where(
                runs.c.status == "running"))).all()
        for run in active:
            if (run.pid, run.host) != self._me:
                self._status[run.id] = "running"
        self._since = utcnow()
        self._primed = True

    async def poll(self) -> int:
        """Read what changed since the last poll and publish it; returns the message count."""
        if not self._primed:
            await self.prime()
        before = self.published
        since, now = self._since - _OVERLAP, utcnow()
        for _ in range(10):  # catch up a backlog, a bounded number of batches per poll
            steps = await self._runs_and_steps(since)
            audits = await self._audit()
            since = now  # the created-since query is needed once per poll
            if steps < self.batch and audits < self.batch:
                break
        self._since = now
        return self.published - before

    async def run(self) -> None:
        """Poll every `interval_s` until cancelled; a store failure is logged once."""
        while True:
            try:
                await self.poll()
                if self._failing:
                    self._failing = False
                    log.warning("live updates from the store work again")
            except (SQLAlchemyError, OSError) as exc:
                if not self._failing:
                    self._failing = True
                    log.warning("live updates of other processes' runs stopped: the store "
                                "did not answer (%s); retrying every %gs", database_error(exc),
                                self.interval_s)
            await asyncio.sleep(self.interval_s)

    # -- internals ------------------------------------------------------------------------

    def _publish(self, kind: str, data: dict[str, Any]) -> None:
        self.hub.publish(kind, {**data, "external": True})
        self.published += 1

    async def _steps(self) -> list[Any]:
        now = self.clock()
        self._gaps = {i: until for i, until in self._gaps.items() if until > now}
        wanted = step_events.c.id > self._last_step
        if self._gaps:
            wanted = or_(wanted, step_events.c.id.in_(list(self._gaps)[:self.batch]))
        query = (select(step_events.c.id, step_events.c.run_id, step_events.c.step_id,
                        step_events.c.action, step_events.c.status,
                        step_events.c.duration_ms, step_events.c.error)
                 .where(wanted).order_by(step_events.c.id).limit(self.batch))
        async with self.store.engine.connect() as conn:
            rows = list((await conn.execute(query)).all())
        for row in rows:
            if row.id in self._gaps:
                del self._gaps[row.id]
            elif row.id > self._last_step:
                for missing in range(self._last_step + 1, min(row.id, self._last_step + 1
                                                              + self.batch)):
                    self._gaps[missing] = now + self.gap_wait_s
                self._last_step = row.id
        return rows

    async def _run_rows(self, condition: Any) -> dict[str, Any]:
        """Runs matching `condition` that are not this server's (the hub has those)."""
        query = select(runs.c.id, runs.c.kind, runs.c.target, runs.c.status, runs.c.error,
                       runs.c.pid, runs.c.host).where(condition)
        async with self.store.engine.connect() as conn:
            return {r.id: r for r in (await conn.execute(query)).all()
                    if (r.pid, r.host) != self._me}

    async def _runs_and_steps(self, since: dt.datetime) -> int:
        """One batch of step rows with the runs around them, published in order: a run's
        start before its steps, its end after them. Returns the step rows read."""
        # Run rows read before the step rows: a run seen finished here has every step row
        # committed already (the runtime writes them first), so its end can follow them.
        running = [run_id for run_id, status in self._status.items()
                   if status == "running"][-self.batch:]
        condition = runs.c.created_at >= since
        if running:
            condition = or_(condition, runs.c.id.in_(running))
        before = await self._run_rows(condition)
        steps = await self._steps()
        # Runs resumed elsewhere show up by their new steps; their end waits for a later poll.
        others = {s.run_id for s in steps} - before.keys()
        found = {**(await self._run_rows(runs.c.id.in_(list(others))) if others else {}),
                 **before}
        stepped = {s.run_id for s in steps}
        for run in found.values():  # started, or resumed (it has new steps), since last time
            known = self._status.get(run.id)
            if known != "running" and (known is None or run.status == "running"
                                       or run.id in stepped):
                self._publish("run.started", {
                    "run_id": run.id, "target": run.target, "resumed": known is not None,
                    "steps": [run.target] if run.kind == "action" else []})
                self._status[run.id] = "running"
        for step in steps:
            if step.run_id not in found:
                continue  # this server's run
            if step.status == "running":
                self._publish("step.started", {"run_id": step.run_id, "step_id": step.step_id,
                                                "action": step.action})
            else:
                self._publish("step.finished", {
                    "run_id": step.run_id, "step_id": step.step_id, "action": step.action,
                    "status": step.status, "duration_ms": round(step.duration_ms or 0.0, 3),
                    "error": step.error})
        if len(steps) < self.batch:  # a full batch may leave some of a run's steps unread
            for run in before.values():
                if run.status != "running" and self._status.get(run.id) == "running":
                    self._publish("run.finished", {"run_id": run.id, "status": run.status,
                                                   "error": run.error})
                    self._status[run.id] = run.status
        return len(steps)

    async def _audit(self) -> int:
        query = (select(audit_log.c.seq, audit_log.c.kind, audit_log.c.actor,
                        audit_log.c.request_id, audit_log.c.run_id, audit_log.c.record)
                 .where(audit_log.c.seq > self._last_audit).order_by(audit_log.c.seq)
                 .limit(self.batch))
        async with self.store.engine.connect() as conn:
            rows = [r for r in (await conn.execute(query)).all()]
            held, self._held = self._held, [r for r in rows
                                            if r.kind in AUDIT_EVENTS and r.request_id]
            actions = await self._actions(conn, {r.request_id for r in held})
        if rows:
            self._last_audit = rows[-1].seq
        for row in held:
            kind = AUDIT_EVENTS[row.kind]
            key = (kind, row.request_id, row.actor)
            if self._own_approvals.get(key, 0) > 0:
                self._own_approvals[key] -= 1  # this server emitted it already
                continue
            action = actions.get(row.request_id) or _action_of(row.record)
            self._publish(f"approval.{kind}", {"kind": kind, "request_id": row.request_id,
                                               "run_id": row.run_id or "", "action": action,
                                               "actor": row.actor})
        return len(rows)

    @staticmethod
    async def _actions(conn: Any, request_ids: Iterable[str]) -> dict[str, str]:
        ids = list(request_ids)
        if not ids:
            return {}
        query = select(approval_requests.c.id, approval_requests.c.action).where(
            approval_requests.c.id.in_(ids))
        return {r.id: r.action for r in (await conn.execute(query)).all()}


def _action_of(record: str) -> str:
    """The action named in an audit record's data, or "" (a request deleted since)."""
    try:
        data = json.loads(record).get("data", {})
    except (ValueError, AttributeError):
        return ""
    action = data.get("action") if isinstance(data, dict) else None
    return action if isinstance(action, str) else ""
