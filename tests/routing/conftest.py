"""Shared fixtures for routing tests: one embedding service per session (loading takes ~1 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aios.embeddings import EmbeddingService
from aios.llm.types import ModelInfo

#: The shared development datasets (read by path, never copied into the repo).
DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def embedder() -> EmbeddingService:
    """The default (WordLlama) embedding service."""
    return EmbeddingService.open()


@pytest.fixture
def model() -> ModelInfo:
    """A priced model with tools and JSON."""
    return ModelInfo("small", "openai", "gpt-small", tier="simple", context_window=16000,
                     supports_tools=True, supports_json=True, input_price=0.1,
                     output_price=0.4)


@pytest.fixture
def routing_dir() -> Path:
    """The RouterBench CSV directory (skip when the shared datasets are absent)."""
    path = DATASETS / "routing"
    if not path.is_dir():
        pytest.skip(f"shared datasets not found at {path}")
    return path
