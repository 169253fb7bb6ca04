"""Changing an existing API key's policy and expiry (`aios keys update`, `PATCH /api/tokens/ID`).

The changes are policy fields by name (`rpm`, `tpm`, `budget_usd`, `budget_period`, `models`,
`tenant`); a field given as None is removed (the key falls back to what applies to its user),
one left out is kept. The new policy is checked as a new key's would be; the key's cached entry
in the `TokenStore` that makes the change is dropped, so that store's server applies it to the
next request.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aios.auth.keys import KeyPolicy
from aios.auth.tokens import MAX_LIFETIME, TokenInfo, TokenStore
from aios.errors import ConfigError

__all__ = ["FIELDS", "update_key"]

#: The policy fields a change may name.
FIELDS = frozenset(f.name for f in dataclasses.fields(KeyPolicy))


async def update_key(tokens: TokenStore, key_id: str, changes: dict[str, Any], *,
                     expires_in: float | Literal["keep", "never"] = "keep",
                     now: datetime | None = None) -> tuple[TokenInfo, TokenInfo]:
    """The key before and after applying `changes` and a new lifetime from `now`.

    Raises:
        NotFoundError: no such key.
        ConflictError: the key is revoked.
        ConfigError: an unknown field, nothing to change, a value a new key could not have,
            or a budget period for a key without a budget.
    """
    unknown = sorted(set(changes) - FIELDS)
    if unknown:
        raise ConfigError(f"a key has no {', '.join(unknown)}; it has {', '.join(sorted(FIELDS))}")
    if not changes and expires_in == "keep":
        raise ConfigError("nothing to change; give --rpm, --tpm, --budget-usd, "
                          "--budget-period, --models, --tenant or --expires")
    now = now or datetime.now(UTC)
    before = await tokens.get(key_id)
    policy = dataclasses.replace(before.policy, **changes)
    if changes.get("budget_period") is not None and policy.budget_usd is None:
        raise ConfigError(f"a budget period needs a budget; key {before.id} has none "
                          "(give --budget-usd too)")
    if "budget_usd" in changes and policy.budget_usd is None:
        policy = dataclasses.replace(policy, budget_period="total")
    expires_at = before.expires_at
    if expires_in == "never":
        expires_at = None
    elif expires_in != "keep":
        if not 0 < expires_in <= MAX_LIFETIME:
            raise ConfigError(f"a key's lifetime must be positive and at most "
                              f"{MAX_LIFETIME // 86400:.0f} days, got {expires_in:g} s")
        expires_at = now + timedelta(seconds=expires_in)
    after = await tokens.update(before.id, policy=policy, expires_at=expires_at, now=now)
    return before, after
