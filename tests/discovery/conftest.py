"""Fixtures of the discovery tests: the real embedding service, the example corpus, a store."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aios.discovery import DiscoveryStore
from aios.embeddings import EmbeddingService
from aios.llm.gateway import Gateway
from aios.llm.types import Usage
from aios.store import Store
from aios.testing import ScriptedProvider

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "examples" / "discovery" / "corpus"
GOLD = ROOT / "examples" / "discovery" / "gold.jsonl"
MISSION = "Who founded the technology companies of Kestrel Bay, and what did they build?"


def scripted_llm(*texts: str, default: str = "{}") -> tuple[ScriptedProvider, Gateway]:
    """A scripted model answering from `texts` (then `default`) behind the real gateway, every
    call 50 + 20 tokens and $0.001 (the gateway over HTTP is exercised in
    test_discovery_model.py). Returns the provider (its `requests`) and the gateway."""
    provider = ScriptedProvider(*texts, default=default,
                                usage=Usage(input_tokens=50, output_tokens=20))
    return provider, provider.gateway(input_price=10.0, output_price=25.0,  # USD per million
                                      supports_json=True)


@pytest.fixture(scope="session")
def embedder() -> EmbeddingService:
    """The shared embedding service on its real default model (wordllama), loaded once."""
    pytest.importorskip("wordllama")
    return EmbeddingService.open("wordllama")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the example corpus (tests may add or change documents)."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
async def missions(store: Store) -> AsyncIterator[DiscoveryStore]:
    """The discovery checkpoint store on each backend (SQLite, PostgreSQL when available)."""
    yield DiscoveryStore(store)
