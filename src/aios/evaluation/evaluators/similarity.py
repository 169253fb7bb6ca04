"""Embedding similarity: the cosine similarity of output and target embeddings.

The embeddings come from the one embedding service (`aios.embeddings`), handed in as
`EvaluatorContext.embedder`. Without one, the evaluator is skipped with a message saying so:
a similarity score invented by another method would not mean the same thing.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field

from aios.evaluation.datasets import Sample
from aios.evaluation.evaluators.base import (
    Evaluator,
    EvaluatorParams,
    Score,
    output_text,
    register_evaluator,
)
from aios.evaluation.targets import TargetOutput

__all__ = ["cosine_similarity", "embed_texts"]

_NO_SERVICE = ("embedding_similarity skipped: no embedding service was given; `aios eval "
               "run` opens aios.embeddings.EmbeddingService (its packaged model must be "
               "installed), library callers pass Harness(embedder=EmbeddingService.open())")


def cosine_similarity(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray
                      ) -> float:
    """Cosine similarity of two vectors (0 when either is all zeros)."""
    va, vb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    norm = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb / norm) if norm else 0.0


async def embed_texts(embedder: Any, texts: list[str]) -> np.ndarray:
    """Vectors for `texts` from an embedding service with `embed(texts)` (sync or async)."""
    result = embedder.embed(texts)
    if inspect.isawaitable(result):
        result = await result
    return np.asarray(result, dtype=float)


class SimilarityParams(EvaluatorParams):
    threshold: float = Field(0.8, ge=-1, le=1, description="Cosine similarity needed to pass.")


@register_evaluator("embedding_similarity")
class EmbeddingSimilarity(Evaluator[SimilarityParams]):
    """Passes when the output's embedding is close to a target's (best of several targets)."""

    Params = SimilarityParams

    async def score(self, sample: Sample, output: TargetOutput) -> Score:
        if self.ctx.embedder is None:
            return Score.skip(_NO_SERVICE)
        if not sample.targets:
            return Score.failure(f"sample {sample.id!r} has no target to compare with")
        texts = [output_text(output.output), *(output_text(t) for t in sample.targets)]
        vectors = await embed_texts(self.ctx.embedder, texts)
        best = max(cosine_similarity(vectors[0], v) for v in vectors[1:])
        return Score.verdict(best >= self.params.threshold,
                             f"cosine similarity {best:.3f} (threshold "
                             f"{self.params.threshold:g})", value=max(best, 0.0),
                             similarity=best)
