"""Bulkheads: a cap on calls in flight at once, so one slow dependency cannot take every slot.

A bulkhead is an `asyncio.Semaphore` with a name and a size; `Bulkheads` keeps one per key
(a provider's name, an action's name) so every wrapper of the same provider shares it.
"""

from __future__ import annotations

import asyncio

__all__ = ["Bulkhead", "Bulkheads"]


class Bulkhead:
    """At most `limit` holders at once; the others wait in FIFO order.

    Use as `async with bulkhead: ...`.
    """

    def __init__(self, name: str, limit: int):
        if limit < 1:
            raise ValueError(f"bulkhead {name!r}: limit must be at least 1, got {limit}")
        self.name = name
        self.limit = limit
        self._semaphore = asyncio.Semaphore(limit)

    @property
    def in_flight(self) -> int:
        """Holders right now."""
        return self.limit - self._semaphore._value  # asyncio exposes no public count

    async def __aenter__(self) -> Bulkhead:
        await self._semaphore.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._semaphore.release()


class Bulkheads:
    """One `Bulkhead` per key, created on first use with the first limit asked for."""

    def __init__(self) -> None:
        self._by_key: dict[str, Bulkhead] = {}

    def get(self, key: str, limit: int) -> Bulkhead:
        """The bulkhead for `key`."""
        bulkhead = self._by_key.get(key)
        if bulkhead is None:
            bulkhead = self._by_key[key] = Bulkhead(key, limit)
        return bulkhead
