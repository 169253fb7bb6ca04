"""The gateway's per-call wrappers: the cost ledger and the budget.

Both wrap the same `Provider` interface as every other concern, but they belong to one call:
the gateway builds them around the chosen model's stack from the call's `Plan` (the prompt's
size and output cap are what a budget reserves; the route reason goes in the ledger row).
They observe the same outcome — answered, answered with output the request refuses, failed,
cancelled, or a stream stopped part-way — through one base class, and neither computes a cost:
the cost comes on the response (`CostProvider`, innermost). Only a stream stopped before its
end has no response; its tokens are then counted from the text that arrived, priced once here,
at the planned model's prices.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aios.errors import BudgetExceeded
from aios.llm.budget import BudgetManager, Reservation
from aios.llm.ledger import CallRecord, CostLedger
from aios.llm.output import RejectedOutput
from aios.llm.pricing import cost_usd
from aios.llm.provider import Provider
from aios.llm.selection import Plan
from aios.llm.tokens import estimate_tokens
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo, StreamChunk, Usage
from aios.llm.wrapper import WrapperProvider, aclose_quietly

__all__ = ["BudgetProvider", "CallOutcome", "CallWrapper", "LedgerProvider"]


@dataclass(frozen=True)
class CallOutcome:
    """How one call through the gateway ended.

    Attributes:
        status: `ok`, `invalid` (answered, output refused), `error` or `cancelled`.
        response: the answer (for `ok` and `invalid`; None otherwise).
        usage: tokens used (from the response, or counted from a stopped stream's text).
        cost_usd: what those tokens cost.
        error: the failure, for `invalid` and `error`.
        ttft_s: seconds from the call's start to its first text or tool-call piece (streams).
        stream: True for a stream.
    """

    status: str
    response: LLMResponse | None = None
    usage: Usage | None = None
    cost_usd: float = 0.0
    error: BaseException | None = None
    ttft_s: float | None = None
    stream: bool = False


class CallWrapper(WrapperProvider):
    """Runs `_before` ahead of one call and hands its `CallOutcome` to `_after`.

    Args:
        inner: the stack below.
        plan: the call's plan (model, prompt size, output cap, prices, route reason).
        started: `time.perf_counter()` when the gateway took the call.
    """

    def __init__(self, inner: Provider, plan: Plan, started: float):
        super().__init__(inner)
        self.plan = plan
        self.started = started

    async def _before(self) -> None:
        """What happens before the call (nothing by default)."""

    def _after(self, outcome: CallOutcome) -> None:
        """What happens once the call has ended (synchronous: it runs on every exit path)."""

    def _answered(self, status: str, response: LLMResponse, *, error: BaseException | None = None,
                  ttft: float | None = None, stream: bool = False) -> CallOutcome:
        return CallOutcome(status, response, response.usage, response.cost_usd, error, ttft,
                           stream)

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        """`inner.complete` between `_before` and `_after`."""
        await self._before()
        try:
            response = await self.inner.complete(request, model)
        except RejectedOutput as exc:
            self._after(self._answered("invalid", exc.response, error=exc))
            raise
        except BaseException as exc:  # a cancellation too: recorded, then re-raised as it is
            failed = isinstance(exc, Exception)
            self._after(CallOutcome("error" if failed else "cancelled",
                                    error=exc if failed else None))
            raise
        self._after(self._answered("ok", response))
        return response

    def _stopped(self, pieces: list[str]) -> tuple[Usage | None, float]:
        """Tokens and cost of a stream that ended without its final response."""
        if not pieces:
            return None, 0.0
        usage = Usage(input_tokens=self.plan.prompt_tokens,
                      output_tokens=estimate_tokens("".join(pieces)), counted=True)
        return usage, cost_usd(usage, self.plan.prices)

    async def stream(self, request: LLMRequest, model: ModelInfo) -> AsyncIterator[StreamChunk]:
        """`inner.stream` between `_before` and `_after` (a reader that stops early ends
        the call as `cancelled`, with the tokens that arrived)."""
        await self._before()
        source = self.inner.stream(request, model)
        pieces: list[str] = []
        ttft: float | None = None
        done = False
        final: LLMResponse | None = None
        status = "cancelled"
        error: BaseException | None = None
        try:
            async for chunk in source:
                if chunk.text or chunk.tool_deltas:
                    if ttft is None:
                        ttft = time.perf_counter() - self.started
                    pieces.append(chunk.text)
                    pieces.extend(d.arguments for d in chunk.tool_deltas)
                if chunk.response is not None and not done:
                    # The call is over once its whole answer is here: record it before the
                    # reader sees it, whether or not the reader asks for more.
                    done = True
                    self._after(self._answered("ok", chunk.response, ttft=ttft, stream=True))
                yield chunk
        except RejectedOutput as exc:
            status, error, final = "invalid", exc, exc.response
            raise
        except Exception as exc:  # a cancellation or an early close stays "cancelled"
            status, error = "error", exc
            raise
        finally:
            await aclose_quietly(source)
            if done:
                pass
            elif final is not None:
                self._after(self._answered(status, final, error=error, ttft=ttft, stream=True))
            else:
                usage, cost = self._stopped(pieces)
                self._after(CallOutcome(status, None, usage, cost, error, ttft, stream=True))


class BudgetProvider(CallWrapper):
    """Reserves the call's worst case before it, settles what it really used after it.

    Raises:
        BudgetExceeded: before anything is sent.
    """

    def __init__(self, inner: Provider, plan: Plan, started: float, budgets: BudgetManager):
        super().__init__(inner, plan, started)
        self.budgets = budgets
        self._reservation: Reservation | None = None

    async def _before(self) -> None:
        plan = self.plan
        worst = Usage(input_tokens=plan.prompt_tokens, output_tokens=plan.max_tokens)
        self._reservation = await self.budgets.reserve(
            plan.request, tokens=worst.total_tokens, usd=cost_usd(worst, plan.prices),
            detail=f"{plan.prompt_tokens} prompt + {plan.max_tokens} max output tokens on "
                   f"{plan.model.name}")

    def _after(self, outcome: CallOutcome) -> None:
        usage = outcome.usage
        self.budgets.settle(self._reservation, tokens=usage.total_tokens if usage else 0,
                            usd=outcome.cost_usd)


class LedgerProvider(CallWrapper):
    """Writes one `llm_calls` row per call: tokens by class, cost, latency, status.

    A call the budget refused sent nothing and gets no row. The row names the model that
    answered (a fallback may have switched), else the planned one.
    """

    def __init__(self, inner: Provider, plan: Plan, started: float, ledger: CostLedger,
                 models: Mapping[str, ModelInfo]):
        super().__init__(inner, plan, started)
        self.ledger = ledger
        self.models = models

    def _after(self, outcome: CallOutcome) -> None:
        if isinstance(outcome.error, BudgetExceeded):
            return
        plan, request = self.plan, self.plan.request
        response = outcome.response
        model = self.models.get(response.model, plan.model) if response else plan.model
        usage = outcome.usage or Usage()
        error = outcome.error
        text = f"{type(error).__name__}: {error}" if outcome.status == "error" else \
            (str(error) if error is not None else None)
        cached = bool(response and response.cached)
        self.ledger.record(CallRecord(
            at=datetime.now(UTC), model=model.name, model_id=model.model_id,
            provider=model.provider, status=outcome.status, run_id=request.run_id,
            agent=request.agent, action=request.action, tenant=request.tenant,
            user=request.user, input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens, cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens, reasoning_tokens=usage.reasoning_tokens,
            counted=usage.counted, cost_usd=outcome.cost_usd,
            latency_s=time.perf_counter() - self.started,
            ttft_s=None if cached else outcome.ttft_s, cached=cached, stream=outcome.stream,
            error=text[:2000] if text else None, route_reason=plan.reason,
            api_key=request.api_key))
