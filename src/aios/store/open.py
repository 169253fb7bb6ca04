"""`open_store`: the store a `Settings` names, migrated, closed on exit.

Its own small module so a command that only reads the store (`aios runs`) imports the store
and nothing of the application around it (`aios.app` re-exports it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aios.settings import Settings
from aios.store.engine import Store

__all__ = ["open_store"]


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    """The store named by `settings`, migrated, closed on exit."""
    store = await Store.open(settings.store_url())
    try:
        yield store
    finally:
        await store.close()
