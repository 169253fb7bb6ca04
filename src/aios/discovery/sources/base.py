"""The source interface and its registry: where a mission looks for evidence."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from aios.discovery.corpus import Passage
from aios.discovery.curiosity import FrontierItem
from aios.discovery.extract import Claim, DocContext
from aios.discovery.graph import KnowledgeGraph
from aios.discovery.modelcall import LLM, ModelCall
from aios.discovery.retrieval import Embedder
from aios.errors import ConfigError
from aios.registry import Registry

__all__ = ["SOURCES", "Evidence", "Source", "SourceContext", "parse_source", "source"]


@dataclass(frozen=True)
class SourceContext:
    """What a source may use: the graph (documents read), the embedder, the gateway.

    Attributes:
        passage_chars: passage size for corpora; min_similarity: the retrieval floor.
        model_confidence, max_tokens: for claims the model states.
        tags: trace tags for model calls (`run_id`, `action`).
    """

    graph: KnowledgeGraph
    embedder: Embedder | None = None
    llm: LLM | None = None
    passage_chars: int = 300
    min_similarity: float = 0.35
    model_confidence: float = 0.3
    max_tokens: int = 256
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Evidence:
    """What one source returned for one frontier item.

    Attributes:
        passages: passages to extract claims from, each with its document's context.
        claims: claims the source states directly (the model source).
        calls: model calls made.
        exhausted: the source has nothing more for this item.
    """

    passages: tuple[tuple[Passage, DocContext], ...] = ()
    claims: tuple[Claim, ...] = ()
    calls: tuple[ModelCall, ...] = ()
    exhausted: bool = False

    @property
    def found(self) -> bool:
        """True when there is anything to learn from."""
        return bool(self.passages or self.claims)


class Source(Protocol):
    """A place to look: a corpus, the model, ..."""

    #: The spec it was built from (`corpus:docs/`, `model`).
    spec: str
    #: Short name of its kind (`corpus`, `model`).
    kind: str

    async def open(self, ctx: SourceContext) -> None:
        """Prepare (load and index documents); called once per mission session."""
        ...

    def novelty(self, item: FrontierItem, k: int) -> float:
        """The share of the item's best `k` pieces of evidence this source has not given yet."""
        ...

    def remaining(self, item: FrontierItem) -> int:
        """How many pieces of evidence for the item this source has not given yet."""
        ...

    def matched(self, item: FrontierItem) -> int:
        """How many pieces of evidence for the item this source has at all (read or not)."""
        ...

    def relevance(self, item: FrontierItem, k: int) -> float | None:
        """How close to the mission the evidence the item would read is (None: no opinion)."""
        ...

    async def gather(self, item: FrontierItem, k: int, ctx: SourceContext) -> Evidence:
        """Up to `k` new pieces of evidence for `item`."""
        ...

    def mark_read(self, passage: Passage) -> None:
        """Record that `passage` has been read (in the graph, so later missions skip it)."""
        ...

    def describe(self) -> dict[str, object]:
        """Figures for progress and `show` (documents, passages, skipped ...)."""
        ...


#: Source factories by kind, filled by `@source`: `factory(argument, mission_text)`.
SOURCES: Registry[Callable[[str, str], Source]] = Registry("source kind")


def source(kind: str) -> Callable[[Callable[[str, str], Source]], Callable[[str, str], Source]]:
    """Register a source factory for specs `kind` or `kind:ARGUMENT`."""

    return SOURCES.register(kind)


def parse_source(spec: str, mission: str) -> Source:
    """Build the source a spec names (`corpus:PATH`, `model`).

    Raises:
        ConfigError: the kind is unknown (the message lists the known ones).
    """
    kind, _, argument = spec.partition(":")
    if kind not in SOURCES:
        raise ConfigError(f"unknown source kind {kind!r} in {spec!r}; known kinds: "
                          f"{', '.join(sorted(SOURCES))} (e.g. --source corpus:PATH)")
    return SOURCES[kind](argument, mission)
