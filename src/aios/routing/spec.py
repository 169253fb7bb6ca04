"""The manifest's `routing:` section: router policy and response-cache settings, as data.

```yaml
routing:
  policy: cheapest-adequate        # quality-first | latency-budget | explicit
  policy_params: {}                # e.g. {max_latency_s: 3} or {model: big}
  classifier: packaged             # packaged | none | path/to/router.npz
  references:                      # reference model of the classifier -> your model
    gpt-4-1106-preview: big        #   (needed only where names and model ids differ)
  cache:
    enabled: true
    max_entries: 100000
    ttl_s: 604800
    threshold: 0.88
    namespaces:
      acme: {threshold: 0.95, sampled: false}
```

Plain pydantic models with no other Ai:oS import, so the manifest schema can use them;
`aios.routing.config` builds the router and the cache from them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_THRESHOLD", "CacheSpec", "NamespaceSpec", "RoutingSpec"]

#: Default semantic threshold on P(same request) (`aios.routing.sameness`, on WordLlama
#: embeddings). Chosen on the calibration half of the paraphrase pairs: the lowest threshold
#: with >= 95% precision on its MRPC pairs (`python bench/gateway.py --calibrate`); the bench
#: reports precision and hit rate at it on the other half.
DEFAULT_THRESHOLD = 0.88


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NamespaceSpec(_Frozen):
    """Semantic-cache settings of one namespace (`tenant` or `tenant/user`)."""

    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=-1.0, le=1.0,
                             description="Minimum P(same request) for a semantic hit.")
    semantic: bool = Field(default=True,
                           description="False: exact hits only in this namespace.")
    sampled: bool = Field(default=False,
                          description="Allow semantic hits when temperature > 0.")
    ttl_s: float | None = Field(default=None, gt=0,
                                description="Entry lifetime (s); null: the cache's default.")


class CacheSpec(_Frozen):
    """The response cache."""

    enabled: bool = Field(default=True, description="False turns the response cache off.")
    max_entries: int = Field(default=100_000, ge=1,
                             description="Entries kept (least recently used evicted).")
    ttl_s: float | None = Field(default=7 * 24 * 3600.0, gt=0,
                                description="Default entry lifetime in seconds; null: none.")
    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=-1.0, le=1.0,
                             description="Default semantic threshold on the guard's match "
                                         "score (adjusted cosine).")
    semantic: bool = Field(default=True, description="False: exact hits only.")
    namespaces: dict[str, NamespaceSpec] = Field(
        default_factory=dict,
        description="Per-namespace settings, by `tenant` or `tenant/user`.")


class RoutingSpec(_Frozen):
    """How the gateway chooses models for requests that name none, and caches answers."""

    policy: str = Field(default="cheapest-adequate",
                        description="A registered routing policy: cheapest-adequate, "
                                    "quality-first, latency-budget, explicit.")
    policy_params: dict[str, Any] = Field(default_factory=dict,
                                          description="Parameters of the policy.")
    classifier: str = Field(default="packaged",
                            description="`packaged` (the classifier shipped with Ai:oS), "
                                        "`none` (tiers from request features), or the path "
                                        "of a classifier written by `aios router train`.")
    references: dict[str, str] = Field(
        default_factory=dict,
        description="Reference model of the router classifier -> configured model name, for "
                    "models whose name and model id differ from the reference's. The router "
                    "serves the configured model that is the reference it picks.")
    cache: CacheSpec = Field(default_factory=CacheSpec, description="The response cache.")
