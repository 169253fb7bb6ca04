"""`ApprovalLayer`: the pipeline's approval gate, durable across restarts.

For a call the policy gates, the layer finds or creates the call's request (stored before
anything waits, after the run's record up to the call is committed), then waits in-process
up to `wait_seconds` or suspends the step (`ActionSuspended`: the step and run become
`waiting`; `Runtime.resume` asks again). An approved request runs with exactly the approved
arguments, once: the `IdempotencyLayer` inside this one claims a durable key for them, and
the outcome is recorded as `executed`.
A rejected or expired request fails its step with `ApprovalDenied`, naming who and why. A
request withdrawn because its run was cancelled is neither: it is never found again, so
resuming the run asks again with a new request.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import jsonschema

from aios.approvals.canonical import args_hash, canonical_json, sha256_hex
from aios.approvals.effective import effective_args
from aios.approvals.policy import ActionFacts, ApprovalPolicy, Mode, Requirement, autonomy_gates
from aios.approvals.requests import WITHDRAWN, ApprovalRequest
from aios.approvals.workflow import ApprovalService, Proposal
from aios.errors import (
    ActionSkipped,
    ActionSuspended,
    ApprovalDenied,
    ConfigError,
    StoreError,
)
from aios.runtime.handlers import HandlerRegistry
from aios.runtime.pipeline import Layer, Next, StepCall, invoke_handler
from aios.security.arguments import mask_value, masking
from aios.security.taint import Taint, run_taint
from aios.store.engine import Store
from aios.store.runs import run_parties

__all__ = ["ApprovalLayer", "Justification", "approval_layers", "default_requester",
           "describe_call", "resumable_runs"]


@dataclass(frozen=True)
class Justification:
    """Why an agent wants to run a call: shown to approvers and matched by the policy."""

    reason: str
    risks: tuple[str, ...] = ()
    confidence: float | None = None


def describe_call(call: StepCall) -> Justification:
    """The default justification: the action's description and its declared risks.

    Agents that reason about their calls (an LLM planner) pass their own `describe` to the
    layer, with their stated reason and confidence.
    """
    spec = call.spec
    risks = [f"criticality {spec.criticality.value}"]
    if spec.mutates:
        risks.append("changes the host (mutates)")
    return Justification(spec.description or f"run {call.action}", tuple(risks))


def _tainted(needed: Requirement, why: Justification,
             taint: Taint) -> tuple[Requirement, Justification]:
    """In a tainted run a mutating action needs at least one approval (rules only raise it)."""
    if needed.mode is not Mode.deny:
        needed = replace(needed, mode=Mode.require, approvals=max(1, needed.approvals))
    return needed, replace(why, reason=f"{why.reason}; {taint.reason()}",
                           risks=(*why.risks, f"tainted run: {taint.finding} from "
                                              f"{taint.step_id}"))


def default_requester() -> str:
    """Who starts runs in this process: the operating-system user (`getpass.getuser()`)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (some containers)
        return f"uid-unknown@{socket.gethostname()}"


@dataclass
class ApprovalLayer:
    """The approval gate of the pipeline.

    Args:
        service: requests, decisions and waiting.
        policy: the manifest's `approvals:` section.
        requester: the identity recorded as having caused the requests of this runtime.
        wait_seconds: in-process wait before suspending; None uses `policy.wait_seconds`.
        describe: the justification of a call (reason, risks, confidence).
        resolve: resolves an action's `preview:` handler (default: the built-in registry,
            or `module:function`).
    """

    service: ApprovalService
    policy: ApprovalPolicy
    requester: str
    wait_seconds: float | None = None
    describe: Callable[[StepCall], Justification] = describe_call
    resolve: Callable[[str], Callable[..., Any]] | None = None
    _mask: Callable[[str], str] | None = field(default=None, init=False, repr=False)

    async def __call__(self, call: StepCall, call_next: Next) -> Any:
        why = self.describe(call)
        facts = ActionFacts(action=call.action, criticality=call.spec.criticality.value,
                            mutates=call.spec.mutates, forensic=call.ctx.forensic,
                            confidence=why.confidence,
                            args=effective_args(call.ctx.args, call.spec.inputs).values,
                            context={"run_id": call.ctx.run_id, "step_id": call.ctx.step_id,
                                     "env": dict(call.ctx.env)},
                            autonomy=call.ctx.autonomy)
        if autonomy_gates(facts):  # tell the approver why an agent's call is gated
            why = replace(why, risks=(*why.risks, f"agent autonomy level {facts.autonomy}"))
        needed = self.policy.evaluate(facts)
        if call.spec.mutates and (taint := run_taint(call.ctx.run_metadata())) is not None:
            needed, why = _tainted(needed, why, taint)
        if needed.mode is Mode.auto:
            return await call_next(call)
        if needed.mode is Mode.deny:
            where = (f"approvals.rules[{needed.rule}]" if needed.rule is not None
                     else f"approvals.levels.{needed.level}")
            raise ApprovalDenied(f"{call.action} is denied by the approval policy ({where}); "
                                 "change that entry of the manifest to allow it")
        ctx = call.ctx
        # Only a live request is found: one withdrawn when the run was cancelled is history.
        request = await self.service.find(ctx.run_id, ctx.step_id, args_hash(ctx.args))
        if request is None:
            # The request outlives this process: what the run recorded up to this call (an
            # agent run's model turn that asked for it) is committed first, so a resume after
            # a kill replays this very call and finds this request, never a dangling one.
            await ctx.checkpoint()
            # The run's initiator caused it, whoever resumed the run (runs recorded before
            # 0018 have none: this runtime's requester then).
            initiator = (await run_parties(self.service.store, ctx.run_id)).initiator
            preview = await self._preview(call) if call.spec.preview else None
            shown = await self._masked(ctx.args)
            request = await self.service.submit(Proposal(
                run_id=ctx.run_id, step_id=ctx.step_id, action=call.action, args=shown,
                requester=initiator or self.requester, reason=why.reason, risks=why.risks,
                confidence=why.confidence, input_schema=call.spec.inputs,
                preview=preview, args_hash=args_hash(ctx.args)), needed)
        if request.decidable:
            wait = self.policy.wait_seconds if self.wait_seconds is None else self.wait_seconds
            request = await self.service.wait(request.id, wait)
        if request.decidable:
            need = request.required_approvals - len(request.approvers())
            raise ActionSuspended(
                f"{call.action} waits for approval: request {request.id[:12]} needs {need} more "
                f"approval{'s' if need != 1 else ''} from {request.group.group!r}; "
                f"`aios approvals approve {request.id[:12]}`, then `aios runs resume "
                f"{ctx.run_id[:12]}`", action=call.action, reference=request.id)
        if request.status == WITHDRAWN:
            # Withdrawn while this step waited (its run was recorded cancelled meanwhile):
            # never run it on that account; a resume asks again.
            raise ActionSuspended(
                f"{call.action}: request {request.id[:12]} was withdrawn while the step "
                f"waited (run {ctx.run_id[:12]} was cancelled); `aios runs resume "
                f"{ctx.run_id[:12]}` asks for approval again", action=call.action,
                reference=request.id)
        if request.status in ("rejected", "expired"):
            await self.service.record_denial(request, actor=self.requester)
            raise ApprovalDenied(self._denied(call.action, request))
        return await self._execute(call, call_next, request)

    async def _masked(self, args: dict[str, Any]) -> dict[str, Any]:
        """`args` as stored and shown: secrets and personal data masked (when the policy says
        so). The real values never reach the request; execution takes them from the run."""
        if not self.policy.mask_arguments or not args:
            return args
        mask = await self._masking()
        masked: dict[str, Any] = mask_value(args, mask)
        return masked

    async def _masking(self) -> Callable[[str], str]:
        if self._mask is None:  # the detectors' first import is slow: off the event loop
            self._mask = await asyncio.to_thread(masking)
        return self._mask

    async def _failure(self, exc: BaseException) -> str:
        """The audit record's text of a failed execution (errors repeat arguments: masked
        like them)."""
        text = f"{type(exc).__name__}: {exc}"
        if not self.policy.mask_arguments:
            return text
        return await asyncio.to_thread(await self._masking(), text)

    async def _preview(self, call: StepCall) -> dict[str, Any]:
        """Run the action's `preview:` handler in forensic mode: `{"output": ...}`, or
        `{"error": ...}` when it fails (approval stays possible; the request says so)."""
        ref = call.spec.preview or ""
        try:
            resolve = self.resolve or HandlerRegistry.builtin().resolve
            dry = StepCall(replace(call.ctx, forensic=True), resolve(ref), call.critical)
            output = await asyncio.wait_for(invoke_handler(dry), call.spec.timeout)
            json.dumps(output, default=str)  # must be showable
            return {"handler": ref, "output": json.loads(canonical_json(output))}
        except Exception as exc:  # a failing preview is shown, it does not block approval
            detail = (f"no answer within {call.spec.timeout:g}s" if isinstance(exc, TimeoutError)
                      else f"{type(exc).__name__}: {exc}")
            return {"handler": ref, "error": f"the preview failed: {detail}"}

    @staticmethod
    def _denied(action: str, request: ApprovalRequest) -> str:
        rejection = request.rejection()
        if request.status == "rejected" and rejection is not None:
            return (f"{action} was rejected by {rejection.decider}: {rejection.reason} "
                    f"(request {request.id[:12]})")
        when = f" at {request.deadline:%Y-%m-%d %H:%M:%S} UTC" if request.deadline else ""
        got = ", ".join(request.approvers()) or "nobody"
        return (f"{action} was not approved in time: request {request.id[:12]} expired{when} "
                f"with {len(request.approvers())} of {request.required_approvals} approvals "
                f"({got}); start a new run to ask again")

    async def _execute(self, call: StepCall, call_next: Next, request: ApprovalRequest) -> Any:
        if request.approved_args is None:
            # As proposed: run the call's own arguments, which hash to what was approved (the
            # stored ones may be a masked view of them).
            approved = dict(call.ctx.args)
            stored_ok = args_hash(approved) == request.args_hash
        else:
            stored_ok = args_hash(request.approved_args) == request.current_hash
            approved = (restore_masked(request.approved_args, request.args, call.ctx.args)
                        if request.masked else request.approved_args)
        if not stored_ok:
            raise StoreError(f"approval request {request.id[:12]}: the stored arguments do not "
                             "match their approved hash; the store was altered, run "
                             "`aios audit verify`")
        if request.approved_args is not None and call.spec.inputs:
            errors = list(jsonschema.Draft202012Validator(call.spec.inputs).iter_errors(approved))
            if errors:
                raise ConfigError(f"{call.action}: the edited arguments of request "
                                  f"{request.id[:12]} are not valid: {errors[0].message}")
        approved_call = call.with_args(dict(approved))
        if request.status == "executed":
            # Ran before: the idempotency layer inside replays its result or refuses.
            return await call_next(approved_call)
        try:
            result = await call_next(approved_call)
        except (ActionSuspended, ActionSkipped):
            raise  # an inner layer decided not to run it; nothing executed
        except BaseException as exc:
            await asyncio.shield(self._record_failure(request, approved_call, exc))
            raise
        await self.service.record_execution(
            request, executed_args=approved_call.ctx.args, actor=self.requester,
            outcome={"status": "succeeded", "result_sha256": sha256_hex(canonical_json(result))})
        return result


    async def _record_failure(self, request: ApprovalRequest, call: StepCall,
                              exc: BaseException) -> None:
        await self.service.record_execution(
            request, executed_args=call.ctx.args, actor=self.requester,
            outcome={"status": "failed", "error": await self._failure(exc)})


def restore_masked(edited: dict[str, Any], shown: dict[str, Any],
                   real: dict[str, Any]) -> dict[str, Any]:
    """An approver's edit of masked arguments, with every value they left as shown (a masked
    placeholder) put back to the real one; values they changed stay as they typed them."""
    out: dict[str, Any] = {}
    for key, value in edited.items():
        if key in shown and key in real and value == shown[key]:
            out[key] = real[key]
        elif isinstance(value, dict) and isinstance(shown.get(key), dict) \
                and isinstance(real.get(key), dict):
            out[key] = restore_masked(value, shown[key], real[key])
        else:
            out[key] = value
    return out


def approval_layers(store: Store, policy: ApprovalPolicy, *, requester: str | None = None,
                    wait_seconds: float | None = None,
                    service: ApprovalService | None = None,
                    resolve: Callable[[str], Callable[..., Any]] | None = None) -> list[Layer]:
    """The approval gate for a runtime: insert it where `ConfirmationLayer` was.

    Args:
        store: the store the runtime records runs in.
        policy: the manifest's `approvals:` section.
        requester: who caused the runs (default: the operating-system user).
        wait_seconds: override of `approvals.wait_seconds`.
        service: an `ApprovalService` to share (listeners, clock); default: a new one.
        resolve: resolves `preview:` handlers (the runtime's handler registry).
    """
    return [ApprovalLayer(service or ApprovalService(store), policy,
                          requester or default_requester(), wait_seconds, resolve=resolve)]


async def resumable_runs(store: Store) -> list[str]:
    """Ids of runs in `waiting` whose approval requests have been decided since.

    `aios serve` calls this periodically and resumes each with `Runtime.resume(run_id)`.
    """
    return await ApprovalService(store).resumable_runs()
