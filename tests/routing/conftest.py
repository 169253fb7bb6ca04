"""Shared fixtures for routing tests: one embedding service per session (loading takes ~1 s)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aios.embeddings import EmbeddingService
from aios.llm.types import ModelInfo


def _datasets() -> Path:
    """`AIOS_DATASETS`, else the nearest `shared/datasets` above the repository (a worktree
    may sit deeper than the main checkout)."""
    if os.environ.get("AIOS_DATASETS"):
        return Path(os.environ["AIOS_DATASETS"])
    for parent in Path(__file__).resolve().parents[2].parents:
        if (parent / "shared" / "datasets").is_dir():
            return parent / "shared" / "datasets"
    return Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


#: The shared development datasets (read by path, never copied into the repo).
DATASETS = _datasets()


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


@pytest.fixture(scope="session")
def routing_dir() -> Path:
    """The RouterBench CSV directory (skip when the shared datasets are absent)."""
    path = DATASETS / "routing"
    if not path.is_dir():
        pytest.skip(f"shared datasets not found at {path}")
    return path
