"""Building the router and the response cache from the manifest's `routing:` section."""

from __future__ import annotations

from pathlib import Path

from aios.embeddings import EmbeddingService
from aios.routing.cache import CacheConfig, NamespacePolicy, ResponseCache
from aios.routing.classifier import TierClassifier
from aios.routing.router import PriceFn, Router
from aios.routing.spec import RoutingSpec
from aios.store.engine import Store

__all__ = ["build_cache", "build_router"]


def build_router(spec: RoutingSpec, embedder: EmbeddingService | None, *,
                 prices: PriceFn | None = None, base: Path | None = None) -> Router:
    """The router `spec` describes.

    Args:
        spec: the manifest's `routing:` section.
        embedder: the embedding service (None: the classifier is not used).
        prices: the gateway's price lookup (see `Router`).
        base: the directory relative classifier paths are resolved against.
    """
    classifier: TierClassifier | None = None
    if embedder is not None and spec.classifier != "none":
        if spec.classifier == "packaged":
            classifier = TierClassifier.packaged()
        else:
            path = Path(spec.classifier)
            classifier = TierClassifier.load(path if path.is_absolute() or base is None
                                             else base / path)
    return Router(spec.policy, policy_params=spec.policy_params, classifier=classifier,
                  embedder=embedder if classifier is not None else None, prices=prices,
                  references=spec.references if classifier is not None else None)


async def build_cache(spec: RoutingSpec, store: Store | None,
                      embedder: EmbeddingService | None) -> ResponseCache | None:
    """The response cache `spec` describes, loaded from `store` (None when disabled)."""
    cache_spec = spec.cache
    if not cache_spec.enabled:
        return None
    default = NamespacePolicy(threshold=cache_spec.threshold, semantic=cache_spec.semantic)
    config = CacheConfig(
        max_entries=cache_spec.max_entries, ttl_s=cache_spec.ttl_s, default=default,
        namespaces={name: NamespacePolicy(ns.threshold, ns.semantic, ns.sampled, ns.ttl_s)
                    for name, ns in cache_spec.namespaces.items()})
    cache = ResponseCache(store, embedder, config)
    await cache.load()
    return cache
