"""Fixtures of the discovery tests: the real embedding service, the example corpus, a store."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aios.discovery import DiscoveryStore
from aios.embeddings import EmbeddingService
from aios.llm.types import LLMRequest, LLMResponse, Usage
from aios.store import Store

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "examples" / "discovery" / "corpus"
GOLD = ROOT / "examples" / "discovery" / "gold.jsonl"
MISSION = "Who founded the technology companies of Kestrel Bay, and what did they build?"


class ScriptedLLM:
    """A gateway stand-in answering from a list, every call 50 + 20 tokens and $0.001
    (the real gateway over HTTP is exercised in test_discovery_model.py)."""

    def __init__(self, *texts: str, default: str = "{}"):
        self.texts = list(texts)
        self.default = default
        self.requests: list[LLMRequest] = []

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        text = self.texts.pop(0) if self.texts else self.default
        return LLMResponse(text=text, model="scripted", provider="test",
                           usage=Usage(input_tokens=50, output_tokens=20), cost_usd=0.001)


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
