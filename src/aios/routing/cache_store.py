"""Persistence of the response cache: the `llm_cache` table and its reads and writes.

One row per cached answer, keyed by (namespace, exact key). The vector of the prompt is
stored with the name of the model that made it, so a restart reloads the in-memory index
without re-embedding (and re-embeds when the embedding model changed). The answer is stored
as JSON (`response_to_json`, `response_from_json`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Table, and_, delete, insert, or_, select, tuple_
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from aios.errors import StoreError
from aios.llm.types import LLMResponse, ToolCall, Usage
from aios.store import columns as col
from aios.store.engine import Store, database_error
from aios.store.tables import metadata

__all__ = ["CacheRow", "CacheTable", "llm_cache", "response_from_json", "response_to_json"]

llm_cache = Table(
    "llm_cache",
    metadata,
    col.string("namespace", 200, primary_key=True),
    col.string("key", 64, primary_key=True),
    col.string("bucket", 64),
    col.string("model", 200),
    col.text("prompt"),
    col.json("response"),
    col.number("cost_usd", default=0.0),
    col.boolean("semantic", default=False),
    col.string("embedder", 100, null=True),
    col.binary("vector", null=True),
    col.timestamp("created_at"),
    col.timestamp("expires_at", null=True),
    Index("ix_llm_cache_created", "created_at"),
)


@dataclass(frozen=True)
class CacheRow:
    """One stored answer."""

    namespace: str
    key: str
    bucket: str
    model: str
    prompt: str
    response: dict[str, Any]
    cost_usd: float
    semantic: bool
    embedder: str | None
    vector: bytes | None
    created_at: datetime
    expires_at: datetime | None


def response_to_json(response: LLMResponse) -> dict[str, Any]:
    """The JSON stored in a row's `response` column."""
    return {"text": response.text, "model": response.model, "provider": response.provider,
            "usage": dataclasses.asdict(response.usage),
            "tool_calls": [dataclasses.asdict(c) for c in response.tool_calls],
            "finish_reason": response.finish_reason, "latency_s": response.latency_s,
            "ttft_s": response.ttft_s, "cost_usd": response.cost_usd,
            "response_model": response.response_model}


def response_from_json(data: Mapping[str, Any]) -> LLMResponse:
    """The response a row's `response` column holds (`response_to_json`)."""
    return LLMResponse(
        text=data["text"], model=data["model"], provider=data["provider"],
        usage=Usage(**data.get("usage", {})),
        tool_calls=tuple(ToolCall(**c) for c in data.get("tool_calls", [])),
        finish_reason=data.get("finish_reason"), latency_s=data.get("latency_s", 0.0),
        ttft_s=data.get("ttft_s"), cost_usd=data.get("cost_usd", 0.0),
        response_model=data.get("response_model"))


class CacheTable:
    """Reads and writes `llm_cache` rows on a store."""

    def __init__(self, store: Store):
        self.store = store

    async def load(self, *, now: datetime, limit: int) -> list[CacheRow]:
        """The `limit` newest unexpired rows, oldest first; expired rows are deleted."""
        live = or_(llm_cache.c.expires_at.is_(None), llm_cache.c.expires_at > now)
        query = select(llm_cache).where(live).order_by(llm_cache.c.created_at.desc()) \
            .limit(limit)
        try:
            async with self.store.engine.begin() as conn:
                await conn.execute(delete(llm_cache).where(llm_cache.c.expires_at <= now))
                rows = (await conn.execute(query)).mappings().all()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the response cache (table llm_cache): "
                             f"{database_error(exc)}") from exc
        out = [CacheRow(**row) for row in rows]
        out.reverse()
        return out

    async def write(self, row: CacheRow, *, drop: Sequence[tuple[str, str]] = ()) -> None:
        """Insert or replace `row`, deleting the `drop` (namespace, key) rows in the same
        transaction (evictions)."""
        keys = [(row.namespace, row.key), *drop]
        values = {name: getattr(row, name) for name in CacheRow.__dataclass_fields__}
        try:
            async with self.store.engine.begin() as conn:
                await conn.execute(delete(llm_cache).where(
                    tuple_(llm_cache.c.namespace, llm_cache.c.key).in_(keys)))
                await conn.execute(insert(llm_cache), [values])
        except IntegrityError:
            # Another process stored the same answer between our delete and insert; theirs
            # is equivalent (same key), so nothing is lost.
            return
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write the response cache (table llm_cache): "
                             f"{database_error(exc)}") from exc

    async def delete(self, keys: Sequence[tuple[str, str]]) -> None:
        """Delete rows by (namespace, key)."""
        if not keys:
            return
        try:
            async with self.store.engine.begin() as conn:
                await conn.execute(delete(llm_cache).where(
                    tuple_(llm_cache.c.namespace, llm_cache.c.key).in_(list(keys))))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot delete from the response cache: "
                             f"{database_error(exc)}") from exc

    async def clear(self, namespace: str | None = None) -> int:
        """Delete every row (of one namespace); returns how many."""
        query = delete(llm_cache)
        if namespace is not None:
            query = query.where(and_(llm_cache.c.namespace == namespace))
        try:
            async with self.store.engine.begin() as conn:
                result = await conn.execute(query)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot clear the response cache: "
                             f"{database_error(exc)}") from exc
        return int(result.rowcount or 0)
