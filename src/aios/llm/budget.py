"""Budgets: tokens and dollars per run, per agent within a run, per tenant, per user, and per
API key (a key's own `--budget-usd`, carried on the request as `key_budget`).

Before a call, the gateway *reserves* its worst case (the prompt's tokens plus the output cap,
priced at the model's rates) against every budget the call falls under; a reservation that
would take any of them past its limit raises `BudgetExceeded` and nothing is sent. After the
call the reservation is *settled* with the real figures (or released, when the call failed).

Concurrency: each budget key has an asyncio lock; a reservation takes the locks of all its
keys in a fixed order, so concurrent calls of one run (sub-calls share the run's budget) can
never both squeeze under a limit that only one of them fits. A key's earlier spend is read
from the cost ledger the first time the key is used, so a resumed run keeps its spend.
Across processes, tenant and user spend is read once per process and period; two processes
can together overshoot by what their calls in flight reserved.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aios.errors import BudgetExceeded
from aios.llm.config import BudgetLimit, BudgetsConfig
from aios.llm.ledger import CostLedger, Spend
from aios.llm.types import LLMRequest

__all__ = ["BudgetManager", "Reservation", "period_start"]


@dataclass(eq=False)
class _Account:
    key: tuple[str, ...]
    label: str
    setting: str
    limit: BudgetLimit
    filters: dict[str, Any]
    advice: str
    used_tokens: int = 0
    used_usd: float = 0.0
    reserved_tokens: int = 0
    reserved_usd: float = 0.0
    loaded: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True)
class Reservation:
    """What one call holds against its budgets until it is settled or released."""

    accounts: tuple[Any, ...]
    tokens: int
    usd: float


def period_start(period: str, now: datetime) -> datetime | None:
    """When the budget window containing `now` began (None for `total`: all time)."""
    if period == "day":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return None


def _advice(setting: str) -> str:
    """How to raise the budget a setting names (`{measure}` is filled in)."""
    if setting == "key":
        return "Issue a key with a larger budget (`aios keys create USER --budget-usd X`)"
    return f"Raise {setting}.{{measure}} in the manifest"


class BudgetManager:
    """Checks, reserves and settles budgets.

    Args:
        config: the manifest's `budgets:`.
        ledger: where earlier spend is read from (None: every budget starts at zero).
        clock: the current UTC time (passed in so periods can be tested).
    """

    def __init__(self, config: BudgetsConfig, ledger: CostLedger | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.config = config
        self.ledger = ledger
        self._clock = clock
        self._accounts: dict[tuple[str, ...], _Account] = {}

    @property
    def enabled(self) -> bool:
        """False when the manifest configures no budget (the gateway then skips budgets for
        every call that carries no key budget of its own)."""
        return not self.config.empty

    def applies(self, request: LLMRequest) -> bool:
        """Whether any budget can apply to `request`."""
        return request.key_budget is not None or not self.config.empty

    def _accounts_for(self, request: LLMRequest) -> list[_Account]:
        cfg = self.config
        wanted: list[tuple[tuple[str, ...], str, str, BudgetLimit, dict[str, Any]]] = []
        now = self._clock()
        if request.key_budget is not None and request.api_key:
            budget = request.key_budget
            start = period_start(budget.period, now)
            window = f" this {budget.period}" if start is not None else " (its lifetime)"
            wanted.append((("key", request.api_key, start.isoformat() if start else "total"),
                           f"budget of API key {request.api_key}{window}", "key",
                           BudgetLimit(usd=budget.usd, period=budget.period),
                           {"api_key": request.api_key, "since": start}))
        if cfg.run is not None and request.run_id:
            wanted.append((("run", request.run_id), f"run budget of run {request.run_id}",
                           "budgets.run", cfg.run, {"run_id": request.run_id}))
        agent_limit = cfg.agents.get(request.agent or "") or cfg.agent
        if agent_limit is not None and request.agent and request.run_id:
            setting = (f"budgets.agents.{request.agent}" if request.agent in cfg.agents
                       else "budgets.agent")
            wanted.append((("agent", request.run_id, request.agent),
                           f"agent budget of {request.agent} in run {request.run_id}",
                           setting, agent_limit,
                           {"run_id": request.run_id, "agent": request.agent}))
        for scope, name, default, overrides in (
                ("tenant", request.tenant, cfg.tenant, cfg.tenants),
                ("user", request.user, cfg.user, cfg.users)):
            limit = overrides.get(name or "") or default
            if limit is None or not name:
                continue
            start = period_start(limit.period, now)
            window = f" this {limit.period}" if start is not None else ""
            setting = f"budgets.{scope}s.{name}" if name in overrides else f"budgets.{scope}"
            wanted.append(((scope, name, start.isoformat() if start else "total"),
                           f"{scope} budget of {name}{window}", setting, limit,
                           {scope: name, "since": start}))
        accounts = []
        for key, label, setting, limit, filters in wanted:
            account = self._accounts.get(key)
            if account is None:
                account = self._accounts[key] = _Account(key, label, setting, limit, filters,
                                                         _advice(setting))
            elif account.limit != limit:  # the key was given a new budget
                account.limit = limit
            accounts.append(account)
        return accounts

    async def _load(self, account: _Account) -> None:
        if account.loaded:
            return
        if self.ledger is not None:
            spent: Spend = await self.ledger.spend(**account.filters)
            account.used_tokens += spent.tokens
            account.used_usd += spent.usd
        account.loaded = True

    async def reserve(self, request: LLMRequest, *, tokens: int, usd: float,
                      detail: str = "") -> Reservation | None:
        """Reserve `tokens` and `usd` on every budget `request` falls under.

        Args:
            request: the call (its run_id, agent, tenant and user select the budgets).
            tokens: the call's worst-case tokens (prompt plus output cap).
            usd: the call's worst-case cost.
            detail: how the worst case was computed, for the error message.

        Returns:
            The reservation to settle or release, or None when no budget applies.

        Raises:
            BudgetExceeded: a budget would be exceeded; the message names it, its limit, what
                is used and reserved, and what this call needed.
        """
        accounts = self._accounts_for(request)
        if not accounts:
            return None
        accounts.sort(key=lambda a: a.key)  # one lock order for everyone: no deadlock
        async with contextlib.AsyncExitStack() as stack:
            for account in accounts:
                await stack.enter_async_context(account.lock)
                await self._load(account)
            for account in accounts:
                self._check(account, tokens, usd, detail)
            for account in accounts:
                account.reserved_tokens += tokens
                account.reserved_usd += usd
        return Reservation(tuple(accounts), tokens, usd)

    @staticmethod
    def _check(account: _Account, tokens: int, usd: float, detail: str) -> None:
        limit = account.limit
        why = f" ({detail})" if detail else ""
        total_tokens = account.used_tokens + account.reserved_tokens + tokens
        if limit.tokens is not None and total_tokens > limit.tokens:
            raise BudgetExceeded(
                f"{account.label} would be exceeded by {total_tokens - limit.tokens} tokens: "
                f"limit {limit.tokens} tokens, used {account.used_tokens} "
                f"(+{account.reserved_tokens} reserved by calls in flight), this call needs up "
                f"to {tokens} tokens{why}. {account.advice.format(measure='tokens')}, or ask "
                "for fewer max_tokens")
        total_usd = account.used_usd + account.reserved_usd + usd
        if limit.usd is not None and total_usd > limit.usd:
            raise BudgetExceeded(
                f"{account.label} would be exceeded by ${total_usd - limit.usd:.6f}: limit "
                f"${limit.usd:.6f}, used ${account.used_usd:.6f} (+${account.reserved_usd:.6f} "
                f"reserved by calls in flight), this call needs up to ${usd:.6f}{why}. "
                f"{account.advice.format(measure='usd')}, use a cheaper model, or ask for "
                "fewer max_tokens")

    def settle(self, reservation: Reservation | None, *, tokens: int, usd: float) -> None:
        """Replace the reservation by what the call really used."""
        if reservation is None:
            return
        for account in reservation.accounts:
            account.reserved_tokens -= reservation.tokens
            account.reserved_usd -= reservation.usd
            account.used_tokens += tokens
            account.used_usd += usd

    def release(self, reservation: Reservation | None) -> None:
        """Drop the reservation of a call that used nothing (it failed before an answer)."""
        self.settle(reservation, tokens=0, usd=0.0)

    def usage(self, request: LLMRequest) -> list[dict[str, Any]]:
        """The budgets `request` falls under, with limits, use and reservations (for display)."""
        return [{"budget": a.label, "setting": a.setting, "limit_tokens": a.limit.tokens,
                 "limit_usd": a.limit.usd, "used_tokens": a.used_tokens, "used_usd": a.used_usd,
                 "reserved_tokens": a.reserved_tokens, "reserved_usd": a.reserved_usd}
                for a in self._accounts_for(request)]
