"""What a `ResponseCache` is told and what it reports: namespace policies, bounds, counters.

`CacheConfig` holds the bounds (entries, TTL), the semantic search's size (`top_k`, when
the HNSW index takes over) and the `NamespacePolicy` of each namespace (`tenant/user` or a
whole `tenant`): threshold, semantic or exact only, sampled requests, TTL. `CacheStats` is
the cache's counters. `aios.routing.config` builds these from a manifest's `CacheSpec`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aios.routing.spec import DEFAULT_THRESHOLD

__all__ = ["CacheConfig", "CacheStats", "NamespacePolicy"]


@dataclass(frozen=True)
class NamespacePolicy:
    """Semantic-cache settings of one namespace (`tenant/user`, or a whole `tenant`).

    Attributes:
        threshold: minimum cosine for a semantic hit.
        semantic: False for exact hits only.
        sampled: allow semantic hits for requests with temperature > 0.
        ttl_s: entry lifetime in seconds (None: the cache's default).
    """

    threshold: float = DEFAULT_THRESHOLD
    semantic: bool = True
    sampled: bool = False
    ttl_s: float | None = None


@dataclass(frozen=True)
class CacheConfig:
    """Bounds and defaults of a `ResponseCache`.

    Attributes:
        max_entries: entries kept; the least recently used go first.
        ttl_s: default entry lifetime in seconds (None: no expiry).
        default: the policy of namespaces not listed in `namespaces`.
        namespaces: per-namespace policies, by `tenant/user` or by `tenant`.
        top_k: semantic candidates examined per lookup.
        ann_threshold: bucket size from which the HNSW index is used.
    """

    max_entries: int = 100_000
    ttl_s: float | None = 7 * 24 * 3600.0
    default: NamespacePolicy = field(default_factory=NamespacePolicy)
    namespaces: Mapping[str, NamespacePolicy] = field(default_factory=dict)
    top_k: int = 4
    ann_threshold: int = 8192

    def policy(self, namespace: str) -> NamespacePolicy:
        """The policy for `namespace` (exact name, then its tenant, then the default)."""
        found = self.namespaces.get(namespace)
        if found is None:
            found = self.namespaces.get(namespace.split("/", 1)[0])
        return found or self.default


@dataclass(frozen=True)
class CacheStats:
    """Counters since the cache was created."""

    exact_hits: int = 0
    semantic_hits: int = 0
    misses: int = 0
    refused: int = 0
    saved_usd: float = 0.0
    entries: int = 0
    puts: int = 0
    evictions: int = 0
    expirations: int = 0

    @property
    def hits(self) -> int:
        """Exact plus semantic hits."""
        return self.exact_hits + self.semantic_hits

    @property
    def hit_rate(self) -> float:
        """Hits / lookups (0 before any lookup)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able record."""
        return {**dataclasses.asdict(self), "hits": self.hits,
                "hit_rate": round(self.hit_rate, 4)}
