"""`ApprovalService`: the Python API of approvals, shared by the layer, the CLI and the REST API.

It creates requests, records decisions (with separation of duties and distinct approvers),
applies deadlines, waits for decisions without holding a worker, withdraws the open requests
of cancelled runs, and records how approved actions ended, with every change and its audit
record committed in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from aios.approvals.audit import AuditLog, Entry
from aios.approvals.canonical import args_hash
from aios.approvals.duties import (
    approvers_of,
    check_may_decide,
    closed_message,
    lost_race,
    validate_edit,
)
from aios.approvals.escalation import POLICY_ACTOR, Expiry, expire_due
from aios.approvals.policy import Mode, Requirement
from aios.approvals.requests import (
    DECIDABLE,
    WITHDRAWN,
    ApprovalRequest,
    Decision,
    RequestStore,
    approval_decisions,
    approval_requests,
    new_request_id,
    request_from_row,
)
from aios.auth.users import User
from aios.errors import ConfigError, ConflictError
from aios.store.engine import Store
from aios.store.runs import run_parties, utcnow
from aios.store.tables import runs

__all__ = ["ApprovalEvent", "ApprovalService", "Proposal"]

log = logging.getLogger("aios.approvals")


@dataclass(frozen=True)
class Proposal:
    """What an agent asks to do, and why.

    Attributes:
        run_id: the run the call belongs to.
        step_id: the step of that run.
        action: `agent.key`.
        args: the proposed arguments.
        requester: who or what caused the request; that identity may not approve it.
        reason: the agent's reason for the action.
        risks: what could go wrong, in words.
        confidence: the agent's stated confidence (0-1), if it gave one.
        input_schema: the action's JSON Schema; edited arguments must satisfy it.
        preview: the output of the action's `preview:` handler (`{"output": ...}` or
            `{"error": ...}`), shown with the request and bound into it by its hash.
        args_hash: the hash of the REAL arguments when `args` is a masked view of them
            (secrets replaced); None: the hash of `args`.
    """

    run_id: str
    step_id: str
    action: str
    args: Mapping[str, Any]
    requester: str
    reason: str = ""
    risks: Sequence[str] = ()
    confidence: float | None = None
    input_schema: Mapping[str, Any] = field(default_factory=dict)
    preview: Mapping[str, Any] | None = None
    args_hash: str | None = None


@dataclass(frozen=True)
class ApprovalEvent:
    """Something happened to a request (for notifications and live views).

    `kind` is one of created, auto_approved, decided, approved, rejected, escalated, expired,
    withdrawn, executed, denied.
    """

    kind: str
    request_id: str
    run_id: str
    action: str
    actor: str


class _Lost(Exception):
    """Another writer changed the request between our read and our update."""


class ApprovalService:
    """Approval requests, decisions, deadlines and waiting, over one store.

    Args:
        store: the store holding requests, decisions and the audit trail.
        listeners: callables receiving an `ApprovalEvent` after each committed change.
        clock: the current time (UTC); tests pass a fake one to move deadlines.
        poll_initial: first interval (s) between store polls while waiting for a decision.
        poll_max: the longest interval (s) between polls; bounds the pickup latency.
    """

    def __init__(self, store: Store, *, listeners: Iterable[Callable[[ApprovalEvent], Any]] = (),
                 clock: Callable[[], datetime] = utcnow, poll_initial: float = 0.01,
                 poll_max: float = 0.05):
        self.store = store
        self.requests = RequestStore(store)
        self.audit = AuditLog(store)
        self.listeners = list(listeners)
        self.clock = clock
        self.poll_initial = poll_initial
        self.poll_max = poll_max
        # Decisions made through this service wake its own waiters at once; waiters on
        # decisions made elsewhere (another process) find them by polling.
        self._wakeups: dict[str, asyncio.Event] = {}

    # -- reads ------------------------------------------------------------------------------

    async def get(self, request_id: str) -> ApprovalRequest:
        """A request by id or unique prefix (NotFoundError if none)."""
        return await self.requests.get(request_id)

    async def find(self, run_id: str, step_id: str, hash_: str) -> ApprovalRequest | None:
        """The request of (run, step, proposed-arguments hash), if any."""
        return await self.requests.find(run_id, step_id, hash_)

    async def queue(self, *, statuses: Sequence[str] | None = DECIDABLE,
                    run_id: str | None = None, limit: int = 100) -> list[ApprovalRequest]:
        """Requests in queue order (critical first, then oldest); undecided ones by default."""
        return await self.requests.list_requests(statuses=statuses, run_id=run_id, limit=limit)

    # -- creating ---------------------------------------------------------------------------

    async def submit(self, proposal: Proposal, requirement: Requirement) -> ApprovalRequest:
        """Store a request for `proposal` (or return the one this call already has).

        With mode `notify` the request is stored approved at once, for later review; with
        `require` it waits for `requirement.approvals` distinct approvers.

        Raises:
            ConfigError: the requirement's mode needs no request (auto, deny).
        """
        if requirement.mode not in (Mode.notify, Mode.require):
            raise ConfigError(f"mode {requirement.mode.value!r} needs no approval request")
        hash_ = proposal.args_hash or args_hash(dict(proposal.args))
        now = self.clock()
        notify = requirement.mode is Mode.notify
        first = requirement.route[0]
        deadline = (now + timedelta(seconds=first.deadline)
                    if first.deadline is not None and not notify else None)
        request_id = new_request_id()
        preview = dict(proposal.preview) if proposal.preview is not None else None
        preview_hash = args_hash(preview) if preview is not None else None
        row = dict(
            id=request_id, run_id=proposal.run_id, step_id=proposal.step_id,
            action=proposal.action, args=dict(proposal.args), args_hash=hash_,
            approved_args=None, approved_hash=None, executed_hash=None, reason=proposal.reason,
            risks=list(proposal.risks), confidence=proposal.confidence,
            criticality=requirement.level, priority=requirement.priority,
            requester=proposal.requester, required_approvals=requirement.approvals,
            route=[s.to_json() for s in requirement.route], stage=0, deadline=deadline,
            input_schema=dict(proposal.input_schema), preview=preview,
            preview_hash=preview_hash, status="approved" if notify else "pending", version=1,
            outcome=None,
            created_at=now, updated_at=now, decided_at=now if notify else None,
            consumed_at=None)
        entries = [Entry("request.created", proposal.requester, {
            "action": proposal.action, "step_id": proposal.step_id,
            "args": dict(proposal.args), "args_hash": hash_, "criticality": requirement.level,
            "mode": requirement.mode.value, "rule": requirement.rule,
            "required": requirement.approvals, "route": [s.group for s in requirement.route],
            "deadline": deadline.isoformat() if deadline else None, "reason": proposal.reason,
            "risks": list(proposal.risks), "confidence": proposal.confidence,
            **({"preview_hash": preview_hash} if preview_hash else {})},
            request_id, proposal.run_id)]
        if notify:
            entries.append(Entry("request.auto_approved", POLICY_ACTOR,
                                 {"mode": "notify", "args_hash": hash_}, request_id,
                                 proposal.run_id))
        try:
            async with self.requests.transaction() as conn:
                await conn.execute(insert(approval_requests).values(**row))
                await self.audit.append_many(conn, entries)
        except IntegrityError:
            # This call has a request already (made earlier, or by another process now).
            existing = await self.requests.find(proposal.run_id, proposal.step_id, hash_)
            if existing is None:
                raise
            return existing
        self._emit("created", request_id, proposal.run_id, proposal.action, proposal.requester)
        if notify:
            self._emit("auto_approved", request_id, proposal.run_id, proposal.action,
                       POLICY_ACTOR)
        return request_from_row(row)

    # -- deciding ---------------------------------------------------------------------------

    async def approve(self, request_id: str, user: User, *,
                      edited_args: Mapping[str, Any] | None = None, comment: str | None = None,
                      version: int | None = None) -> ApprovalRequest:
        """Approve a request as `user`, optionally replacing its arguments.

        An edit must satisfy the action's input schema; approvals given for other arguments
        stop counting, so every counted approver approved exactly what will run.

        Args:
            request_id: the request id or a unique prefix.
            user: the authenticated approver.
            edited_args: arguments to run instead of the proposed ones.
            comment: a note kept with the decision.
            version: the version the approver looked at; a newer one is a conflict.

        Raises:
            NotFoundError: no such request.
            ConflictError: already decided or expired, changed meanwhile, or this user
                already approved these arguments.
            PermissionDenied: a viewer, not in the request's approver group, or the requester.
            ConfigError: edited arguments that break the action's input schema.
        """
        return await self._decide(request_id, user, "approve", reason=comment,
                                  edited_args=edited_args, version=version)

    async def reject(self, request_id: str, user: User, *, reason: str,
                     version: int | None = None) -> ApprovalRequest:
        """Reject a request as `user`; `reason` is required and shown to the requester.

        Raises:
            ConfigError: an empty reason.
            NotFoundError, ConflictError, PermissionDenied: as for `approve`.
        """
        if not reason or not reason.strip():
            raise ConfigError("a rejection needs a reason: --reason TEXT (it is shown to the "
                              "requester and kept in the audit log)")
        return await self._decide(request_id, user, "reject", reason=reason.strip(),
                                  edited_args=None, version=version)

    async def _decide(self, request_id: str, user: User, decision: str, *,
                      reason: str | None, edited_args: Mapping[str, Any] | None,
                      version: int | None) -> ApprovalRequest:
        now = self.clock()
        req = await self.requests.get(request_id)
        if req.decidable and req.deadline is not None and req.deadline <= now:
            await self.expire_due(now, ids=[req.id])
            req = await self.requests.get(req.id)
        if not req.decidable:
            raise ConflictError(f"{closed_message(req)}; nothing to {decision}")
        if version is not None and version != req.version:
            raise ConflictError(
                f"request {req.id[:12]} changed since you looked at it (version {version}, now "
                f"{req.version}); review it again with `aios approvals show {req.id[:12]}`")
        check_may_decide(req, user, decision, await run_parties(self.store, req.run_id))
        new_args: dict[str, Any] | None = None
        new_hash = req.current_hash
        if edited_args is not None:
            new_args = dict(edited_args)
            validate_edit(req, new_args)
            new_hash = args_hash(new_args)
            if new_hash == req.current_hash:
                new_args = None  # the same arguments: not an edit
        prior = approvers_of(req, new_hash, user, decision)
        approvals = len(prior | {user.name}) if decision == "approve" else len(prior)
        final = ("rejected" if decision == "reject"
                 else "approved" if approvals >= req.required_approvals else None)
        values: dict[str, Any] = {}
        if new_args is not None:
            values.update(approved_args=new_args, approved_hash=new_hash)
        if final is not None:
            values.update(status=final, decided_at=now)
        entries = [Entry(f"decision.{decision}", user.name, {
            "role": user.role.value, "reason": reason, "args_hash": new_hash,
            **({"preview_hash": req.preview_hash} if req.preview_hash else {}),
            "approvals": approvals, "required": req.required_approvals,
            "version": req.version + 1}, req.id, req.run_id)]
        if new_args is not None:
            entries.append(Entry("request.edited", user.name, {
                "from_hash": req.current_hash, "to_hash": new_hash, "args": new_args},
                req.id, req.run_id))
        if final is not None:
            entries.append(Entry(f"request.{final}", user.name, {
                "args_hash": new_hash, "reason": reason,
                "approvers": sorted(prior | {user.name}) if final == "approved" else []},
                req.id, req.run_id))
        try:
            async with self.requests.transaction() as conn:
                if not await self.requests.claim(conn, req.id, req.version, DECIDABLE, now):
                    raise _Lost
                await conn.execute(insert(approval_decisions).values(
                    request_id=req.id, decider=user.name, decider_id=user.id,
                    decision=decision, reason=reason, args_hash=new_hash,
                    edited=new_args is not None, at=now))
                if values:
                    await self.requests.set(conn, req.id, **values)
                await self.audit.append_many(conn, entries)
        except _Lost:
            raise lost_race(await self.requests.get(req.id), decision) from None
        except IntegrityError as exc:
            raise ConflictError(f"{user.name} already decided request {req.id[:12]} for these "
                                "arguments") from exc
        self._wake(req.id)
        self._emit("decided", req.id, req.run_id, req.action, user.name)
        if final is not None:
            self._emit(final, req.id, req.run_id, req.action, user.name)
        # The row as this transaction left it (it held the request's lock).
        return replace(req, **values, version=req.version + 1, updated_at=now,
                       decisions=(*req.decisions, Decision(user.name, decision, reason,
                                                           new_hash, new_args is not None,
                                                           now)))

    # -- withdrawing ------------------------------------------------------------------------

    async def withdraw_run(self, run_id: str, *, actor: str, reason: str,
                           attempts: int = 5) -> list[ApprovalRequest]:
        """Withdraw every open (pending or escalated) request of a cancelled run, at once.

        Nothing will act on the requests of a cancelled run, so approvers must no longer see
        or decide them. All of them change in one transaction, each claimed on its version
        like a decision, so a decision racing the withdrawal either commits first (that
        request keeps its decision) or is refused naming the cancelled run. When a claim
        loses, the transaction is rolled back and the run's open requests are read again.
        Resuming the run later asks again with new requests.

        Args:
            run_id: the cancelled run.
            actor: who cancelled it (recorded in the audit trail).
            reason: why, for approvers and the audit trail (e.g. "cancelled by alice").
            attempts: how many times to retry when other writers keep changing the requests.

        Returns:
            The requests withdrawn now (empty when the run had none open).

        Raises:
            ConflictError: the requests changed under every one of `attempts` tries.
        """
        for _ in range(max(1, attempts)):
            found = sorted(await self.requests.list_requests(statuses=DECIDABLE, run_id=run_id,
                                                             limit=None),
                           key=lambda r: r.id)  # one lock order for every withdrawer
            if not found:
                return []
            now = self.clock()
            outcome = {"status": WITHDRAWN, "by": actor, "reason": reason}
            entries = [Entry(f"request.{WITHDRAWN}", actor, {
                "reason": reason, "run_status": "cancelled", "from_status": r.status,
                "group": r.group.group, "approvals": r.approvers(),
                "required": r.required_approvals, "version": r.version + 1}, r.id, run_id)
                for r in found]
            try:
                async with self.requests.transaction() as conn:
                    for r in found:
                        if not await self.requests.claim(conn, r.id, r.version, DECIDABLE, now):
                            raise _Lost
                        await self.requests.set(conn, r.id, status=WITHDRAWN, decided_at=now,
                                                outcome=outcome)
                    await self.audit.append_many(conn, entries)
            except _Lost:
                continue  # decided, escalated or withdrawn meanwhile: look again
            for r in found:
                self._wake(r.id)
                self._emit(WITHDRAWN, r.id, run_id, r.action, actor)
            return [replace(r, status=WITHDRAWN, version=r.version + 1, updated_at=now,
                            decided_at=now, outcome=outcome) for r in found]
        raise ConflictError(
            f"the approval requests of run {run_id[:12]} kept changing while they were being "
            f"withdrawn ({attempts} tries), so they stay in the queue; `aios approvals list "
            f"--run {run_id}` shows them")

    # -- deadlines and waiting --------------------------------------------------------------

    async def expire_due(self, now: datetime | None = None, *,
                         ids: Sequence[str] | None = None) -> list[Expiry]:
        """Escalate or expire every request whose deadline has passed (see `escalation`)."""
        changed = await expire_due(self.requests, self.audit, now or self.clock(), ids=ids)
        for item in changed:
            self._wake(item.request_id)
            req = await self.requests.get(item.request_id)
            self._emit(item.outcome, req.id, req.run_id, req.action, POLICY_ACTOR)
        return changed

    async def wait(self, request_id: str, seconds: float) -> ApprovalRequest:
        """Wait up to `seconds` for a request to leave the undecided states.

        Polls the store with growing intervals (`poll_initial` up to `poll_max`), so a
        decision from another process is seen within `poll_max`; a decision through this
        service wakes the waiter at once. Deadlines passing meanwhile are applied. Returns the
        request as it is at the end, decided or not.
        """
        loop = asyncio.get_running_loop()
        end = loop.time() + max(0.0, seconds)
        event = self._wakeups.setdefault(request_id, asyncio.Event())
        delay = self.poll_initial
        try:
            while True:
                status, deadline = await self.requests.status_of(request_id)
                if status not in DECIDABLE:
                    return await self.requests.get(request_id)
                now = self.clock()
                if deadline is not None and deadline <= now:
                    await self.expire_due(now, ids=[request_id])
                    continue
                remaining = end - loop.time()
                if remaining <= 0:
                    return await self.requests.get(request_id)
                pause = min(delay, remaining)
                if deadline is not None:
                    pause = min(pause, max(0.001, (deadline - now).total_seconds()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), pause)
                event.clear()
                delay = min(delay * 1.5, self.poll_max)
        finally:
            if self._wakeups.get(request_id) is event:
                del self._wakeups[request_id]

    # -- outcomes ---------------------------------------------------------------------------

    async def record_execution(self, req: ApprovalRequest, *, executed_args: Mapping[str, Any],
                               outcome: Mapping[str, Any], actor: str) -> None:
        """Record that the approved action ran with `executed_args`, and how it ended."""
        now = self.clock()
        executed = args_hash(dict(executed_args))
        async with self.requests.transaction() as conn:
            if not await self.requests.claim(conn, req.id, req.version, ("approved",), now):
                return  # recorded already (a concurrent resume of the same step)
            await self.requests.set(conn, req.id, status="executed", executed_hash=executed,
                                    outcome=dict(outcome), consumed_at=now)
            await self.audit.append(
                conn, "action.executed", actor=actor, request_id=req.id, run_id=req.run_id,
                data={"proposed_hash": req.args_hash, "approved_hash": req.current_hash,
                      "executed_hash": executed, "outcome": dict(outcome)})
        self._emit("executed", req.id, req.run_id, req.action, actor)

    async def record_denial(self, req: ApprovalRequest, *, actor: str) -> None:
        """Record that a rejected or expired request stopped its step (once)."""
        if req.consumed_at is not None:
            return
        now = self.clock()
        async with self.requests.transaction() as conn:
            if not await self.requests.claim(conn, req.id, req.version, (req.status,), now):
                return
            await self.requests.set(conn, req.id, consumed_at=now)
            await self.audit.append(conn, "action.denied", actor=actor, request_id=req.id,
                                    run_id=req.run_id, data={"status": req.status})
        self._emit("denied", req.id, req.run_id, req.action, actor)

    async def resumable_runs(self) -> list[str]:
        """Runs in `waiting` whose approval requests are now decided, oldest first."""
        query = (select(runs.c.id, runs.c.created_at)
                 .join(approval_requests, approval_requests.c.run_id == runs.c.id)
                 .where(runs.c.status == "waiting",
                        approval_requests.c.status.in_(("approved", "rejected", "expired")),
                        approval_requests.c.consumed_at.is_(None))
                 .distinct().order_by(runs.c.created_at))
        async with self.store.engine.connect() as conn:
            return [str(row[0]) for row in (await conn.execute(query)).all()]

    # -- notifications ----------------------------------------------------------------------

    def _wake(self, request_id: str) -> None:
        event = self._wakeups.get(request_id)
        if event is not None:
            event.set()

    def _emit(self, kind: str, request_id: str, run_id: str, action: str, actor: str) -> None:
        event = ApprovalEvent(kind, request_id, run_id, action, actor)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # a broken notifier must not undo a committed decision
                log.exception("approval listener failed")
