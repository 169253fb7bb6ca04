"""The response cache: exact first, then semantic, scoped by tenant/user namespace.

Exact key (`aios.routing.keys`): a digest of everything that changes the output and nothing
else: model, messages, tools, `response_format`, sampling parameters; not who asks.

Semantic lookup: within a *bucket* (the same key computed with the last user message left
out, so a hit never crosses a different system prompt, conversation prefix, tool set, model
or parameters), the `top_k` nearest cached prompts by embedding cosine go to the guard
(`aios.routing.guard`): it refuses a candidate whose negation, opposites, numbers, units,
names or direction differ; the others are scored by a calibrated P(same request)
(`aios.routing.sameness`). The most similar candidate whose score reaches the namespace's
threshold is served. Sampled requests (temperature > 0) skip the semantic step unless their
namespace allows it. Namespaces (`tenant/user`) never share answers.

Bounds: a TTL per entry and a maximum entry count, evicting the least recently used
(`aios.routing.cache_config`: bounds, namespace policies, counters). Entries are persisted in
the store (`llm_cache`, `aios.routing.cache_store`) and loaded into memory by `load()`, so the
cache survives restarts; lookups never touch the database.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from aios.embeddings import EmbeddingService
from aios.errors import ConfigError
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo
from aios.routing.cache_config import CacheConfig, CacheStats, NamespacePolicy
from aios.routing.cache_store import CacheRow, CacheTable, response_from_json, response_to_json
from aios.routing.guard import TextFacts, facts
from aios.routing.index import VectorIndex
from aios.routing.keys import (
    bucket_key,
    exact_key,
    last_user_index,
    model_identity,
    namespace_of,
)
from aios.routing.sameness import Match, match_facts, min_cosine
from aios.routing.spec import DEFAULT_THRESHOLD
from aios.store.engine import Store

__all__ = ["DEFAULT_THRESHOLD", "CacheConfig", "CacheStats", "Candidate", "NamespacePolicy",
           "ResponseCache"]

log = logging.getLogger("aios.routing.cache")

#: Word-vector matrices of recent prompts kept by a cache (`ResponseCache._word_vectors`):
#: the query's serves its other candidates; ~10 KB each.
_WORD_MEMO = 256


@dataclass(frozen=True)
class Candidate:
    """A cached prompt near a request, and what the guard says of it (`candidates`).

    Attributes:
        prompt: the cached prompt.
        answer: its cached answer.
        cosine: embedding cosine with the request's prompt.
        match: the guard's verdict: a refusal reason, or the adjusted score that is
            compared with the threshold.
    """

    prompt: str
    answer: LLMResponse
    cosine: float
    match: Match


@dataclass(slots=True)
class _Entry:
    id: int
    namespace: str
    key: str
    bucket: str | None
    prompt: str
    response: LLMResponse
    expires: float | None
    hit: LLMResponse = field(init=False)
    facts: TextFacts | None = field(init=False)

    def __post_init__(self) -> None:
        # Built once: responses are frozen, so every hit can share this object; the guard's
        # facts of a semantic entry are extracted here, not on the lookup path.
        self.hit = dataclasses.replace(self.response, cached=True)
        self.facts = facts(self.prompt) if self.bucket is not None else None


class ResponseCache:
    """Exact and semantic response cache (see the module docstring).

    Args:
        store: where entries persist (None: memory only).
        embedder: the embedding service (None: exact hits only).
        config: bounds, TTL and namespace policies.
        clock: seconds since the epoch (tests pass a fake one).

    Call `await cache.load()` once after creating it on a store, to bring back the stored
    entries.
    """

    def __init__(self, store: Store | None = None, embedder: EmbeddingService | None = None,
                 config: CacheConfig | None = None, *,
                 clock: Callable[[], float] = time.time):
        self.config = config or CacheConfig()
        if self.config.max_entries < 1:
            raise ConfigError(f"cache max_entries must be at least 1, got "
                              f"{self.config.max_entries}")
        self.table = CacheTable(store) if store is not None else None
        self.embedder = embedder
        self.clock = clock
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._by_id: dict[int, _Entry] = {}
        self._indexes: dict[tuple[str, str], VectorIndex] = {}
        self._next_id = 1
        self._counts: dict[str, float] = dict.fromkeys(
            ("exact_hits", "semantic_hits", "misses", "refused", "saved_usd", "puts",
             "evictions", "expirations"), 0)
        # ModelInfo objects are built once and reused for every call: memoise their identity.
        self._identities: dict[int, tuple[ModelInfo, bytes]] = {}
        self._word_memo: OrderedDict[tuple[str, ...], np.ndarray] = OrderedDict()

    # -- public API -----------------------------------------------------------------------

    def stats(self) -> CacheStats:
        """Hits (exact, semantic), misses, guard refusals, saved USD, size, evictions."""
        counts = self._counts
        return CacheStats(
            exact_hits=int(counts["exact_hits"]), semantic_hits=int(counts["semantic_hits"]),
            misses=int(counts["misses"]), refused=int(counts["refused"]),
            saved_usd=float(counts["saved_usd"]), entries=len(self._entries),
            puts=int(counts["puts"]), evictions=int(counts["evictions"]),
            expirations=int(counts["expirations"]))

    async def load(self) -> int:
        """Load the stored, unexpired entries into memory; returns how many."""
        if self.table is None:
            return 0
        now = self.clock()
        rows = await self.table.load(now=datetime.fromtimestamp(now, UTC),
                                     limit=self.config.max_entries)
        pending: list[tuple[_Entry, np.ndarray | None]] = []
        reembed: list[int] = []
        for row in rows:
            entry = self._remember(row.namespace, row.key, row.bucket if row.semantic else None,
                                   row.prompt, response_from_json(row.response),
                                   row.expires_at.timestamp() if row.expires_at else None)
            vector = None
            if entry.bucket is not None and self.embedder is not None:
                if row.vector is not None and row.embedder == self.embedder.name:
                    vector = np.frombuffer(row.vector, dtype=np.float32)
                else:
                    reembed.append(len(pending))
            pending.append((entry, vector))
        if reembed and self.embedder is not None:
            vectors = self.embedder.embed([pending[i][0].prompt for i in reembed])
            for i, vector in zip(reembed, vectors, strict=True):
                pending[i] = (pending[i][0], vector)
        if self.embedder is not None:  # the words the guard aligns, as `put` does
            self.embedder.embed(sorted({word for entry, _ in pending if entry.facts is not None
                                        for word in entry.facts.forms}))
        groups: dict[tuple[str, str], list[tuple[int, np.ndarray]]] = {}
        for entry, vector in pending:
            if vector is not None and entry.bucket is not None:
                groups.setdefault((entry.namespace, entry.bucket), []).append((entry.id, vector))
        for scope, items in groups.items():
            ids = np.array([i for i, _ in items], dtype=np.int64)
            self._index(scope).add_many(ids, np.stack([v for _, v in items]))
        return len(rows)

    async def get(self, request: LLMRequest, model: ModelInfo) -> LLMResponse | None:
        """The cached response for `request` on `model`, or None (a miss)."""
        if not request.cache:
            return None
        hit = self.lookup_exact(request, model)
        if hit is None:
            hit = self.lookup_semantic(request, model)
        if hit is None:
            self._count(misses=1)
            return None
        return hit

    async def put(self, request: LLMRequest, model: ModelInfo, response: LLMResponse) -> None:
        """Store `response` (an assembled one for streams) for `request` on `model`."""
        if not request.cache or (not response.text and not response.tool_calls):
            return  # an empty answer is a failure, not something to replay
        namespace = namespace_of(request)
        identity = self._identity(model)
        key = exact_key(request, identity)
        policy = self.config.policy(namespace)
        ttl = policy.ttl_s if policy.ttl_s is not None else self.config.ttl_s
        now = self.clock()
        expires = now + ttl if ttl is not None else None
        bucket = bucket_key(request, identity) if self._semantic_ok(request, policy) else None
        index = last_user_index(request)
        prompt = request.messages[index].content if index is not None else ""
        if bucket is not None and not prompt.strip():
            bucket = None
        stored = dataclasses.replace(response, cached=False, route_reason=None)
        entry = self._remember(namespace, key, bucket, prompt, stored, expires)
        vector = None
        if bucket is not None and self.embedder is not None:
            vector = self.embedder.embed_one(prompt)
            self._index((namespace, bucket)).add(entry.id, vector)
            if entry.facts is not None:
                # Its words' vectors now, after a model call, not in a later lookup's budget
                # (the guard aligns them; the embedder remembers them).
                self.embedder.embed(entry.facts.forms)
        evicted: list[tuple[str, str]] = []
        while len(self._entries) > self.config.max_entries:
            oldest = next(iter(self._entries))
            self._drop(oldest)
            evicted.append(oldest)
        self._count(puts=1, evictions=len(evicted))
        if self.table is not None:
            await self.table.write(CacheRow(
                namespace=namespace, key=key, bucket=bucket or "", model=model.name,
                prompt=prompt, response=response_to_json(stored),
                cost_usd=stored.cost_usd, semantic=bucket is not None,
                embedder=self.embedder.name if vector is not None and self.embedder else None,
                vector=vector.astype(np.float32).tobytes() if vector is not None else None,
                created_at=datetime.fromtimestamp(now, UTC),
                expires_at=datetime.fromtimestamp(expires, UTC) if expires else None),
                drop=evicted)

    async def clear(self, namespace: str | None = None) -> int:
        """Forget every entry (of one namespace), in memory and in the store."""
        doomed = [k for k in self._entries if namespace is None or k[0] == namespace]
        for scope in doomed:
            self._drop(scope)
        if self.table is not None:
            return await self.table.clear(namespace)
        return len(doomed)

    # -- lookups (synchronous: no I/O) -----------------------------------------------------

    def lookup_exact(self, request: LLMRequest, model: ModelInfo) -> LLMResponse | None:
        """An exact hit, or None (does not count a miss)."""
        scope = (namespace_of(request), exact_key(request, self._identity(model)))
        entry = self._entries.get(scope)
        if entry is None:
            return None
        if entry.expires is not None and entry.expires <= self.clock():
            self._expire(entry)
            return None
        self._entries.move_to_end(scope)
        counts = self._counts
        counts["exact_hits"] += 1
        counts["saved_usd"] += entry.response.cost_usd
        return entry.hit

    def lookup_semantic(self, request: LLMRequest, model: ModelInfo) -> LLMResponse | None:
        """The most similar cached answer whose guard score reaches the namespace threshold,
        or None."""
        found = self._semantic_scope(request, model)
        if found is None:
            return None
        index, prompt, threshold = found
        refused = 0
        hit: _Entry | None = None
        for entry, _, verdict in self._candidates(index, prompt, threshold):
            if verdict.reason is not None:
                refused += 1
            elif verdict.score >= threshold:
                hit = entry
                break
        if refused:
            self._count(refused=refused)
        if hit is None:
            return None
        self._entries.move_to_end((hit.namespace, hit.key))
        self._count(semantic_hits=1, saved_usd=hit.response.cost_usd)
        return hit.hit

    def candidates(self, request: LLMRequest, model: ModelInfo) -> list[Candidate]:
        """The nearest cached prompts of `request`'s bucket with their guard verdicts, best
        cosine first, whatever the threshold (read-only: no counters, no LRU move; for
        explaining a miss and for benchmarks)."""
        found = self._semantic_scope(request, model, any_policy=True)
        if found is None:
            return []
        index, prompt, _ = found
        return [Candidate(entry.prompt, entry.hit, cosine, verdict)
                for entry, cosine, verdict in self._candidates(index, prompt, None)]

    def _semantic_scope(self, request: LLMRequest, model: ModelInfo, *,
                        any_policy: bool = False) -> tuple[VectorIndex, str, float] | None:
        """The bucket index, the prompt and the threshold of a semantic lookup (None: none)."""
        if self.embedder is None:
            return None
        namespace = namespace_of(request)
        policy = self.config.policy(namespace)
        if not any_policy and not self._semantic_ok(request, policy):
            return None
        bucket = bucket_key(request, self._identity(model))
        index = self._indexes.get((namespace, bucket)) if bucket is not None else None
        if index is None or len(index) == 0:
            return None
        position = last_user_index(request)
        assert position is not None  # a bucket exists only when there is a user message
        prompt = request.messages[position].content
        if not prompt.strip():
            return None
        return index, prompt, policy.threshold

    def _candidates(self, index: VectorIndex, prompt: str, threshold: float | None
                    ) -> Iterator[tuple[_Entry, float, Match]]:
        """The top-k entries of `index` for `prompt`, with the guard's verdict; candidates
        whose cosine cannot reach `threshold` even with the guard's bonus are skipped."""
        assert self.embedder is not None
        query = self.embedder.embed_one(prompt)
        now = self.clock()
        found: list[tuple[_Entry, float]] = []
        floor = min_cosine(threshold) if threshold is not None else -2.0
        for entry_id, cosine in index.search(query, self.config.top_k):
            if cosine < floor:
                break  # best first: no later candidate can reach the threshold either
            entry = self._by_id.get(entry_id)
            if entry is None or entry.facts is None:
                continue
            if entry.expires is not None and entry.expires <= now:
                if threshold is not None:
                    self._expire(entry)
                continue
            found.append((entry, cosine))
        if not found:
            return
        asked = facts(prompt)
        for entry, cosine in found:
            assert entry.facts is not None
            if entry.prompt == prompt:
                yield entry, cosine, Match(cosine)
            else:
                yield entry, cosine, match_facts(entry.facts, asked, cosine, self._word_vectors,
                                                 threshold=threshold)

    def _word_vectors(self, words: Sequence[str]) -> np.ndarray:
        """The vectors of a prompt's content words (`sameness.pair_features` asks for the
        query's once per candidate: remembered, bounded, for the lookups to come)."""
        assert self.embedder is not None
        key = tuple(words)
        memo = self._word_memo
        found = memo.get(key)
        if found is None:
            found = memo[key] = self.embedder.embed(key)
            if len(memo) > _WORD_MEMO:
                memo.popitem(last=False)
        else:
            memo.move_to_end(key)
        return found

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _semantic_ok(request: LLMRequest, policy: NamespacePolicy) -> bool:
        if not policy.semantic:
            return False
        # An unset temperature is the caller's "no preference": treated as deterministic.
        return policy.sampled or request.temperature is None or request.temperature <= 0

    def _count(self, **deltas: float) -> None:
        for name, value in deltas.items():
            self._counts[name] += value

    def _identity(self, model: ModelInfo) -> bytes:
        memo = self._identities.get(id(model))
        if memo is not None and memo[0] is model:
            return memo[1]
        if len(self._identities) > 1024:
            self._identities.clear()
        identity = model_identity(model)
        self._identities[id(model)] = (model, identity)
        return identity

    def _index(self, scope: tuple[str, str]) -> VectorIndex:
        index = self._indexes.get(scope)
        if index is None:
            assert self.embedder is not None
            index = self._indexes[scope] = VectorIndex(
                self.embedder.dim, ann_threshold=self.config.ann_threshold)
        return index

    def _remember(self, namespace: str, key: str, bucket: str | None, prompt: str,
                  response: LLMResponse, expires: float | None) -> _Entry:
        self._drop((namespace, key))
        entry = _Entry(self._next_id, namespace, key, bucket or None, prompt, response, expires)
        self._next_id += 1
        self._entries[(namespace, key)] = entry
        self._by_id[entry.id] = entry
        return entry

    def _drop(self, scope: tuple[str, str]) -> _Entry | None:
        entry = self._entries.pop(scope, None)
        if entry is None:
            return None
        self._by_id.pop(entry.id, None)
        if entry.bucket is not None:
            index = self._indexes.get((entry.namespace, entry.bucket))
            if index is not None:
                index.remove(entry.id)
                if len(index) == 0:
                    del self._indexes[(entry.namespace, entry.bucket)]
        return entry

    def _expire(self, entry: _Entry) -> None:
        self._drop((entry.namespace, entry.key))
        self._count(expirations=1)
        # The row is deleted by the next `load` (it filters and deletes expired rows).
