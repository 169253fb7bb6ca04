"""The routing decision shared by evaluation and runtime.

Evaluation (`aios router train|evaluate`, `bench/gateway.py`) and the deployed `Router.route`
compute the classifier's inputs with `request_inputs` and decide with
`TierClassifier.decide`, among the reference models that have a *counterpart*: a configured
model that is that reference (same name or model id, or mapped in the manifest's
`routing.references`). The router serves the counterpart of the reference it picks, never
"the cheapest model of its tier": a tier's models differ too much in quality for the
classifier's figures to hold for another model of the same price class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from aios.embeddings import EmbeddingService
from aios.errors import ConfigError
from aios.llm.types import LLMRequest, ModelInfo
from aios.routing.classifier import ReferenceModel
from aios.routing.features import extract_features, last_user_text

__all__ = ["counterparts", "request_inputs"]


def request_inputs(embedder: EmbeddingService, requests: Sequence[LLMRequest], *,
                   default_output_tokens: int = 512) -> np.ndarray:
    """Raw classifier inputs (embedding of the last user message + request features), one
    row per request, before the classifier's standardisation."""
    texts = [last_user_text(r) or r.prompt_text for r in requests]
    embeddings = embedder.embed(texts)
    features = np.stack([extract_features(r, default_output_tokens=default_output_tokens)
                         .vector() for r in requests])
    return np.hstack([embeddings, features]).astype(np.float32)


def _key(name: str) -> str:
    # "mistralai/mixtral-8x7b-chat" is "mixtral-8x7b-chat" at another provider.
    return name.strip().lower().rsplit("/", 1)[-1]


def counterparts(references: Sequence[ReferenceModel], models: Sequence[ModelInfo],
                 mapping: Mapping[str, str] | None = None) -> list[str | None]:
    """Per reference model, the name of the configured model that is it (None: none is).

    Args:
        references: the classifier's reference models.
        models: the configured models that may serve the request.
        mapping: reference name -> configured model name (the manifest's
            `routing.references`); unmapped references match a model whose name or model
            id is the reference's name (case and a `vendor/` prefix ignored).

    Raises:
        ConfigError: `mapping` names a reference the classifier does not have.
    """
    mapping = dict(mapping or {})
    known = {ref.name for ref in references}
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ConfigError(f"routing.references maps {', '.join(unknown)}, which the router "
                          f"classifier does not know; its reference models: "
                          f"{', '.join(sorted(known))} (`aios router show`)")
    by_name = {m.name: m for m in models}
    by_key: dict[str, str] = {}
    for model in models:
        by_key.setdefault(_key(model.name), model.name)
        by_key.setdefault(_key(model.model_id), model.name)
    out: list[str | None] = []
    for ref in references:
        if ref.name in mapping:
            target = mapping[ref.name]
            out.append(target if target in by_name else None)
        else:
            out.append(by_key.get(_key(ref.name)))
    return out
