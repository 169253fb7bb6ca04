"""API keys with what they have spent: one listing for `aios keys list` and the dashboard.

The figures come from the cost ledger's rows (`llm_calls.api_key`): the cost each call was
charged when it ended, summed, never recomputed; the key budget the gateway checks reads the
same rows (`CostLedger.spend(api_key=...)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aios.auth.tokens import TokenInfo, TokenStore
from aios.llm.budget import period_start
from aios.llm.ledger import CostLedger, KeySpend
from aios.store.engine import Store

__all__ = ["KeyUsage", "key_usage"]


@dataclass(frozen=True)
class KeyUsage:
    """One key (never its secret), what its calls used, and its budget's current window.

    Attributes:
        key: the key.
        spend: calls, tokens and USD over the key's lifetime.
        budget_used_usd: USD spent in the budget's current window (None: no budget).
    """

    key: TokenInfo
    spend: KeySpend
    budget_used_usd: float | None

    def json(self, now: datetime) -> dict[str, Any]:
        """The key as `aios keys list --json` prints it."""
        info = self.key
        return {"id": info.id, "user": info.user, "name": info.label,
                "created_at": info.created_at.isoformat(),
                "expires_at": info.expires_at.isoformat() if info.expires_at else None,
                "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
                "state": info.state(now), **info.policy.json(),
                "calls": self.spend.calls, "tokens": self.spend.tokens,
                "spent_usd": self.spend.usd, "budget_used_usd": self.budget_used_usd}


async def key_usage(store: Store, *, user: str | None = None, ledger: CostLedger | None = None,
                    now: datetime | None = None) -> list[KeyUsage]:
    """Every key (of `user` when given), newest first, with its spend from the ledger.

    Args:
        ledger: the gateway's ledger in a server (its queued rows count); None: one of its own.
    """
    now = now or datetime.now(UTC)
    keys = await TokenStore(store).list(user)
    own = ledger is None
    ledger = ledger if ledger is not None else CostLedger(store)
    try:
        spent = await ledger.by_key(keys=[k.id for k in keys]) if keys else {}
        found = []
        for key in keys:
            spend = spent.get(key.id, KeySpend())
            budget_used: float | None = None
            if key.policy.budget_usd is not None:
                start = period_start(key.policy.budget_period, now)
                budget_used = spend.usd if start is None else \
                    (await ledger.spend(api_key=key.id, since=start)).usd
            found.append(KeyUsage(key, spend, budget_used))
    finally:
        if own:
            await ledger.close()
    return found
