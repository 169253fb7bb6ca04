"""The `corpus:PATH` source: a local directory (or file) of .txt/.md/.html/.pdf documents."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from aios.discovery.corpus import (
    Document,
    Passage,
    chunk,
    content_hash,
    corpus_files,
    load_document,
)
from aios.discovery.curiosity import FrontierItem
from aios.discovery.extract import DocContext
from aios.discovery.graph import KnowledgeGraph
from aios.discovery.retrieval import Hit, HybridIndex
from aios.discovery.sources.base import Evidence, Source, SourceContext, source

__all__ = ["CorpusSource"]


class CorpusSource:
    """Passages of a local corpus, found by hybrid retrieval (BM25 + embeddings).

    Documents whose every passage the graph has read already (same content hash) are not
    even parsed; passages read before are left out of the index. So a mission that extends
    a graph reads only what is new.
    """

    kind = "corpus"

    def __init__(self, path: str, mission: str):
        self.spec = f"corpus:{path}"
        self.root = Path(path).expanduser()
        self._mission = mission
        self._docs: dict[str, Document] = {}
        self._totals: dict[str, int] = {}
        self._index = HybridIndex([])
        self._ranked: dict[str, list[Hit]] = {}
        self._read: set[str] = set()
        self._mission_rel: dict[str, float] = {}
        self._graph: KnowledgeGraph | None = None
        self.skipped_documents = 0

    async def open(self, ctx: SourceContext) -> None:
        """Load the documents not fully read yet and index their unread passages.

        Raises:
            NotFoundError: the path does not exist. ConfigError: it holds no document.
        """
        await asyncio.to_thread(self._load, ctx)

    def _load(self, ctx: SourceContext) -> None:
        self._graph = ctx.graph
        passages: list[Passage] = []
        for path in corpus_files(self.root):
            if ctx.graph.fully_read(content_hash(path.read_bytes())):
                self.skipped_documents += 1
                continue
            doc = load_document(path, self.root)
            self._docs[doc.hash] = doc
            cut = chunk(doc, ctx.passage_chars)
            self._totals[doc.hash] = len(cut)
            passages += [p for p in cut if not ctx.graph.is_read(doc.hash, p.id)]
        self._index = HybridIndex(passages, ctx.embedder, min_similarity=ctx.min_similarity)
        if passages:
            bm25, sims = self._index.scores(self._mission)
            parts = [bm25 / bm25.max() if bm25.max() > 0 else np.zeros_like(bm25)]
            if sims is not None:
                parts.append(np.clip(sims, 0.0, 1.0))
            relevance = np.mean(parts, axis=0)
            self._mission_rel = {p.id: float(r) for p, r in zip(passages, relevance,
                                                                strict=True)}

    def _candidates(self, query: str) -> list[Hit]:
        if query not in self._ranked:
            self._ranked[query] = self._index.search(query, k=len(self._index))
        return self._ranked[query]

    def _unread(self, query: str) -> list[Hit]:
        return [h for h in self._candidates(query) if h.passage.id not in self._read]

    def novelty(self, item: FrontierItem, k: int) -> float:
        """The unread share of the item's best `2k` passages."""
        top = self._candidates(item.query)[:2 * k]
        if not top:
            return 0.0
        return sum(h.passage.id not in self._read for h in top) / len(top)

    def remaining(self, item: FrontierItem) -> int:
        """Unread passages matching the item's query."""
        return len(self._unread(item.query))

    def matched(self, item: FrontierItem) -> int:
        """Passages matching the item's query, read or not."""
        return len(self._candidates(item.query))

    def relevance(self, item: FrontierItem, k: int) -> float | None:
        """Mean mission relevance of the `k` passages the item would read next."""
        nxt = self._unread(item.query)[:k]
        if not nxt:
            return None
        return sum(self._mission_rel.get(h.passage.id, 0.0) for h in nxt) / len(nxt)

    async def gather(self, item: FrontierItem, k: int, ctx: SourceContext) -> Evidence:
        """The `k` best unread passages for the item (marked read)."""
        unread = self._unread(item.query)
        chosen = unread[:k]
        for hit in chosen:
            self.mark_read(hit.passage)
        passages = tuple((h.passage, DocContext(self._docs[h.passage.doc_hash].title,
                                                self._docs[h.passage.doc_hash].text))
                         for h in chosen)
        return Evidence(passages=passages, exhausted=len(unread) <= k)

    def mark_read(self, passage: Passage) -> None:
        """Record the passage as read, here and in the graph."""
        self._read.add(passage.id)
        if self._graph is not None:
            self._graph.mark_read(passage.doc_hash, passage.doc_id, passage.id,
                                  self._totals.get(passage.doc_hash, 1))

    def passages(self) -> list[Passage]:
        """Every indexed passage in corpus order (documents by path, passages in order)."""
        return sorted(self._index.passages, key=lambda p: (p.doc_id, p.index))

    def context(self, passage: Passage) -> DocContext:
        """The document context of one of this corpus's passages."""
        doc = self._docs[passage.doc_hash]
        return DocContext(doc.title, doc.text)

    def describe(self) -> dict[str, object]:
        """Documents loaded and skipped, passages indexed and read."""
        return {"documents": len(self._docs), "skipped_documents": self.skipped_documents,
                "passages": len(self._index), "read": len(self._read)}


@source("corpus")
def _corpus(argument: str, mission: str) -> Source:
    return CorpusSource(argument, mission)
