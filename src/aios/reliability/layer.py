"""`ReliabilityLayer`: retry, circuit breaker, per-attempt timeout, bulkhead and fallback for
actions, as one layer of the runtime pipeline.

It sits OUTSIDE the idempotency layer, so every attempt (and every fallback) passes the
durable idempotency claim again. A mutating action is never executed twice: before a retry,
the layer looks the claim up, and once the handler has started under it (its side effect may
have happened) the original failure is raised instead of a retry. A fallback action runs
under an idempotency key of its own, derived from the step and the fallback's name, so a resume
finds its claim too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aios.errors import ActionCircuitOpen, NotFoundError
from aios.reliability.bulkheads import Bulkheads
from aios.reliability.circuit import BreakerRegistry, CircuitBreaker
from aios.reliability.classify import Classifier, describe, restate
from aios.reliability.clock import Clock, SystemClock
from aios.reliability.events import Emitter, ReliabilityListener
from aios.reliability.fallback import Alternative, Fallback
from aios.reliability.policy import ReliabilityPolicy, policy_for
from aios.reliability.retry import GiveUp, Retrier
from aios.runtime.layers import deadline_error, idempotency_key
from aios.runtime.pipeline import HandlerAbandoned, Next, StepCall
from aios.store.runs import RunStore

if TYPE_CHECKING:  # the manifest schema imports aios.reliability.policy
    from aios.manifest.schema import Action

__all__ = ["ReliabilityLayer", "action_target"]

#: Resolves a `handler:` reference (a built-in name or `module:function`) to a callable.
HandlerResolver = Callable[[str], Callable[..., Any]]

#: The spec of a declared action by name (`Manifest.action`); KeyError when there is none.
ActionLookup = Callable[[str], "Action"]


def action_target(action: str) -> str:
    """`action:agent.key`, the name of an action's breaker and retry target."""
    return f"action:{action}"


class _Plan:
    """What the layer does for one action, built once per action name."""

    def __init__(self, name: str, policy: ReliabilityPolicy, layer: ReliabilityLayer):
        self.name = name
        self.policy = policy
        self.classifier = Classifier.of(policy.retry.retry_on, policy.fallback_on)
        self.retrier = Retrier(action_target(name), policy.retry, classifier=self.classifier,
                               clock=layer.clock, emit=layer.emit)
        self.breaker: CircuitBreaker | None = (
            layer.breakers.get(action_target(name), policy.breaker)
            if policy.breaker is not None else None)
        self.fallback: Fallback[Any] = Fallback(action_target(name), self.classifier,
                                                layer.emit)


class ReliabilityLayer:
    """Applies each action's reliability policy around the rest of the pipeline.

    Args:
        policies: the manifest's `reliability:` section (action glob → policy).
        actions: the spec of an action by name (`Manifest.action`), for fallback actions;
            None: a fallback names a handler, never another action.
        resolve_handler: turns a `handler:` reference into a callable
            (`HandlerRegistry.resolve`).
        runs: the run store, to look up idempotency claims before retrying a mutating action.
        breakers: the process's breaker registry (shared through the store when it has one).
        clock: time and sleeping; `NoSleepClock()` turns backoff waits off.
        listeners: receive every retry, breaker transition and fallback as a frozen record.
        default: the policy of an action that neither it nor the manifest's `reliability:`
            configures; None (the default) lets such actions through untouched.
    """

    def __init__(self, policies: Mapping[str, ReliabilityPolicy],
                 resolve_handler: HandlerResolver, *, actions: ActionLookup | None = None,
                 runs: RunStore | None = None, breakers: BreakerRegistry | None = None,
                 clock: Clock | None = None, listeners: Iterable[ReliabilityListener] = (),
                 default: ReliabilityPolicy | None = None, emit: Emitter | None = None):
        self.actions = actions
        self.resolve_handler = resolve_handler
        self.runs = runs
        self.clock: Clock = clock or SystemClock()
        self.emit = emit or Emitter(listeners)
        self.breakers = breakers or BreakerRegistry(clock=self.clock, emit=self.emit)
        self.default = default
        self.table = policies
        self._plans: dict[str, _Plan | None] = {}
        self._bulkheads = Bulkheads()

    def plan(self, action: str, spec: Action) -> _Plan | None:
        """The cached plan of `action` (None: no policy applies)."""
        try:
            return self._plans[action]
        except KeyError:
            pass
        policy = policy_for(action, self.table, own=spec.reliability, default=self.default)
        plan = self._plans[action] = _Plan(action, policy, self) if policy is not None else None
        return plan

    async def __call__(self, call: StepCall, call_next: Next) -> Any:
        plan = self.plan(call.action, call.spec)
        if plan is None:
            return await call_next(call)
        if not plan.policy.fallback:
            return await self._protected(plan, call, call_next)
        alternatives = [Alternative(f"action {call.action}",
                                    lambda: self._protected(plan, call, call_next))]
        alternatives += [self._alternative(ref, call, call_next)
                         for ref in plan.policy.fallback]
        return await plan.fallback.run(alternatives)

    # -- one target: breaker, retries, timeout, bulkhead --------------------------------------

    async def _protected(self, plan: _Plan, call: StepCall, call_next: Next) -> Any:
        async def attempt(number: int) -> Any:
            current = call if number == 1 else replace(call, ctx=replace(call.ctx,
                                                                         attempt=number))
            return await self._attempt(plan, current, call_next)

        veto = self._veto(plan, call) if call.spec.mutates else None
        return await plan.retrier.call(attempt, veto=veto)

    async def _attempt(self, plan: _Plan, call: StepCall, call_next: Next) -> Any:
        breaker = plan.breaker
        if breaker is not None:
            wait = breaker.before_call()
            if wait is not None:
                raise ActionCircuitOpen(
                    f"{call.action}: {breaker.rejection(wait)}. Add a fallback "
                    "(reliability.fallback) or see `aios breakers`", action=call.action,
                    breaker=breaker.name, retry_in=wait)
        try:
            result = await self._limited(plan, call, call_next)
        except BaseException as exc:
            if breaker is not None:
                if Classifier.counts_against_breaker(exc):
                    breaker.on_failure(describe(exc))
                else:
                    breaker.on_ignored()
            raise
        if breaker is not None:
            breaker.on_success()
        return result

    async def _limited(self, plan: _Plan, call: StepCall, call_next: Next) -> Any:
        limit = plan.policy.max_concurrency
        if limit is None:
            return await self._timed(plan, call, call_next)
        async with self._bulkheads.get(action_target(plan.name), limit):
            return await self._timed(plan, call, call_next)

    @staticmethod
    async def _timed(plan: _Plan, call: StepCall, call_next: Next) -> Any:
        timeout = plan.policy.timeout_s
        if timeout is None:
            return await call_next(call)
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                return await call_next(call)
        except (TimeoutError, HandlerAbandoned) as exc:
            if not deadline.expired():
                raise
            raise deadline_error(
                call.action, f"{call.action}: attempt {call.ctx.attempt} did not finish within "
                f"{timeout:g} s (reliability.timeout_s)", exc) from exc

    def _veto(self, plan: _Plan, call: StepCall) -> Callable[[BaseException, int], Any]:
        ctx = call.ctx

        async def veto(error: BaseException, attempt: int) -> None:
            key = ctx.idempotency_key or idempotency_key(ctx.run_id, ctx.step_id, ctx.args)
            claim = await self.runs.get_claim(key) if self.runs is not None else None
            if claim is None or claim.status == "succeeded":
                return  # it never started (or its result is on record): safe to go again
            raise GiveUp(restate(error, (
                f"{error} (not retried: {call.action} mutates and already started under "
                f"idempotency key {key}, claim {claim.status!r}; it never runs twice)")))

        return veto

    # -- fallbacks ------------------------------------------------------------------------------

    def _alternative(self, ref: str, call: StepCall, call_next: Next) -> Alternative[Any]:
        """Another action (`agent.key` in the manifest) or another handler for this step."""
        ctx = call.ctx
        spec: Action | None = None
        if self.actions is not None:
            with contextlib.suppress(KeyError):
                spec = self.actions(ref)
        try:
            if spec is not None:
                handler = self.resolve_handler(spec.handler)
                action, args = ref, {**spec.params, **ctx.args}
            else:
                handler = self.resolve_handler(ref)
                spec, action, args = call.spec, call.action, ctx.args
        except NotFoundError as exc:
            return Alternative(ref, _never, skip=f"it does not resolve: {exc}")
        unsafe = _riskier(spec, call)
        if unsafe is not None:
            return Alternative(ref, _never, skip=unsafe)
        # Its own idempotency key: the fallback is a different execution from the primary's,
        # and the same one again on a resume of this step.
        key = idempotency_key(ctx.run_id, f"{ctx.step_id}#fallback:{ref}", args)
        fallback_call = replace(call, handler=handler, ctx=replace(
            ctx, action=action, spec=spec, args=args, attempt=1, idempotency_key=key))
        label = f"action {ref}" if action != call.action else f"handler {ref}"
        plan = self._fallback_plan(call, ref, action, spec)
        return Alternative(label, lambda: self._protected(plan, fallback_call, call_next))

    def _fallback_plan(self, call: StepCall, ref: str, action: str, spec: Action) -> _Plan:
        """Retries and breaker of one fallback: its own action's policy when it has one, else
        the primary's; never a chain of its own (chains do not nest)."""
        key = f"{call.action}>{ref}"
        plan = self._plans.get(key)
        if plan is None:
            own = self.plan(action, spec) if action != call.action else None
            base = own if own is not None else self.plan(call.action, call.spec)
            assert base is not None  # only actions with a policy have fallbacks
            name = action if own is not None else f"{call.action}#fallback:{ref}"
            plan = self._plans[key] = _Plan(name, base.policy.model_copy(
                update={"fallback": ()}), self)
        return plan


def _riskier(spec: Action, call: StepCall) -> str | None:
    """Why a fallback may not stand in for `call`: the gates outside this layer (forensic
    mode, confirmation, approval) decided on the primary's spec, so a fallback never does
    more than the primary was cleared to do."""
    if spec.mutates and call.ctx.forensic:
        return "it mutates, and the run is in forensic (read-only) mode"
    if spec.mutates and not call.spec.mutates:
        return (f"it mutates and {call.action} does not; the gates before this step cleared "
                "a read-only action")
    if spec.criticality.rank > call.spec.criticality.rank:
        return (f"its criticality ({spec.criticality.value}) is above {call.action}'s "
                f"({call.spec.criticality.value}), which the gates before this step cleared")
    return None


async def _never() -> Any:
    raise AssertionError("a skipped alternative is never called")
