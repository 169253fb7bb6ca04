"""Model routing, the response cache and natural-language prompts.

* `Router` (router.py): the classifier's pick (decision.py: the one decision function that
  evaluation shares) served as the configured model that is that reference model, else a
  tier from request features; a policy picks among the models that fit; `RouteDecision`
  records why.
* `ResponseCache` (cache.py): exact, then semantic answers, per namespace, persisted in the
  store's `llm_cache` table; hard rules (guard.py) then a calibrated P(same request)
  (sameness.py) decide a semantic hit.
* `IntentMatcher` (intent.py): a natural-language request → manifest actions.
* `train_router` (training.py): the classifier from per-prompt outcome data (outcomes.py
  reads it); `evaluate` (evaluation.py): its cost-quality curve, APGR and CPT on other data.
"""

from aios.routing.cache import (
    DEFAULT_THRESHOLD,
    CacheConfig,
    CacheStats,
    NamespacePolicy,
    ResponseCache,
)
from aios.routing.classifier import ReferenceModel, TierClassifier
from aios.routing.config import build_cache, build_router
from aios.routing.features import RequestFeatures, extract_features
from aios.routing.guard import conflict
from aios.routing.index import VectorIndex
from aios.routing.intent import ClauseMatch, IntentMatcher, IntentPlan, split_clauses
from aios.routing.keys import bucket_key, exact_key, namespace_of
from aios.routing.latency import LatencyEstimator
from aios.routing.policies import (
    CheapestAdequate,
    Explicit,
    LatencyBudget,
    Policy,
    QualityFirst,
    create_policy,
    policy_names,
    register_policy,
)
from aios.routing.router import RouteDecision, Router
from aios.routing.spec import CacheSpec, NamespaceSpec, RoutingSpec
from aios.routing.training import (
    RoutingData,
    TrainingReport,
    assign_tiers,
    read_routing_data,
    train_router,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "CacheConfig",
    "CacheSpec",
    "CacheStats",
    "CheapestAdequate",
    "ClauseMatch",
    "Explicit",
    "IntentMatcher",
    "IntentPlan",
    "LatencyBudget",
    "LatencyEstimator",
    "NamespacePolicy",
    "NamespaceSpec",
    "Policy",
    "QualityFirst",
    "ReferenceModel",
    "RequestFeatures",
    "ResponseCache",
    "RouteDecision",
    "Router",
    "RoutingData",
    "RoutingSpec",
    "TierClassifier",
    "TrainingReport",
    "VectorIndex",
    "assign_tiers",
    "bucket_key",
    "build_cache",
    "build_router",
    "conflict",
    "create_policy",
    "exact_key",
    "extract_features",
    "namespace_of",
    "policy_names",
    "read_routing_data",
    "register_policy",
    "split_clauses",
    "train_router",
]
