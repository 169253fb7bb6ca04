"""The answer to a mission's question, from its knowledge graph: claims with citations.

A mission builds a graph; the user asked a question. The answer is the claims whose relation
the question asks about ("Who founded ..." asks for `founded_by`), among the entities near
the ones the question names ("... the companies of Kestrel Bay": claims about what is
located in Kestrel Bay), each with the passages that support it. When nothing matches, the
answer says "not found" and what was searched: the relations, the entities, the documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aios.discovery.graph import KnowledgeGraph, normalise
from aios.discovery.relations import canonical_relation, equivalent

__all__ = ["answer_question", "asked_relations"]

_WORD = re.compile(r"[A-Za-z][A-Za-z-]*")

#: Question words that name a relation without a verb ("Where is X based?").
#: Base forms too ("What did they build?"): the vocabulary lists inflected phrases.
_HINTS = {"founder": "founded_by", "founders": "founded_by", "found": "founded_by",
          "headquarters": "headquartered_in", "born": "born_in", "build": "developed",
          "create": "developed", "develop": "developed", "invent": "developed",
          "design": "designed", "study": "studied_at"}

#: Claims shown at most.
_LIMIT = 12


def asked_relations(question: str) -> list[str]:
    """The canonical relations `question` asks about, in the order it names them."""
    words = _WORD.findall(question.lower())
    found: list[str] = []
    for size in (3, 2, 1):
        for i in range(len(words) - size + 1):
            mapped = canonical_relation(" ".join(words[i:i + size]))
            if mapped and mapped[0] not in found:
                found.append(mapped[0])
    for word in words:
        hinted = _HINTS.get(word)
        if hinted and hinted not in found:
            found.append(hinted)
    return found


def _named(graph: KnowledgeGraph, question: str) -> list[str]:
    """Entity ids whose name the question contains."""
    text = normalise(question)
    ids = []
    for node, data in graph.graph.nodes(data=True):
        name = normalise(str(data.get("name", "")))
        if len(name) >= 3 and re.search(rf"\b{re.escape(name)}\b", text):
            ids.append(node)
    return ids


def _near(graph: KnowledgeGraph, entities: Iterable[str], hops: int = 2) -> set[str]:
    """Entities within `hops` edges (either direction) of `entities`."""
    undirected = graph.graph.to_undirected(as_view=True)
    seen = set(entities)
    frontier = set(seen)
    for _ in range(hops):
        frontier = {n for node in frontier for n in undirected.neighbors(node)} - seen
        seen |= frontier
    return seen


def _citation(source: Any) -> dict[str, Any]:
    if not isinstance(source, dict):
        return {"source": str(source)}
    where = source.get("doc_id") or source.get("model") or source.get("kind", "?")
    if source.get("passage_id"):
        where = f"{where}#{source['passage_id']}"
    return {"source": where, "quote": source.get("quote", "")}


def answer_question(question: str, graph: KnowledgeGraph, *,
                    documents_read: int | None = None) -> dict[str, Any]:
    """The claims of `graph` that answer `question`, with citations, or what was searched.

    Returns:
        {"found": bool, "relations": [asked], "entities": [named in the question],
        "claims": [{"subject", "relation", "object", "confidence", "citations": [...]}],
        "searched": "..." (when nothing was found)}.
    """
    relations = asked_relations(question)
    named = _named(graph, question)
    scope = _near(graph, named) if named else None
    claims = []
    for claim in graph.claims():
        if relations and not any(equivalent(claim["relation"], r) for r in relations):
            continue
        if not relations:
            continue
        if scope is not None and claim["subject_id"] not in scope \
                and claim["object_id"] not in scope:
            continue
        claims.append({"subject": claim["subject"], "relation": claim["relation"],
                       "object": claim["object"], "confidence": claim["confidence"],
                       "citations": [_citation(s) for s in claim["sources"]][:3]})
    claims.sort(key=lambda c: (-c["confidence"], c["subject"], c["object"]))
    names = [graph.graph.nodes[n]["name"] for n in named]
    out: dict[str, Any] = {"found": bool(claims), "relations": relations, "entities": names,
                           "claims": claims[:_LIMIT], "more": max(0, len(claims) - _LIMIT)}
    if not claims:
        read = len(graph.documents) if documents_read is None else documents_read
        looked = (f"claims of relation {', '.join(relations)}" if relations
                  else "a relation the question names (none recognised)")
        near = f" about {', '.join(names)} and what is linked to it" if names else ""
        out["searched"] = (f"{looked}{near}, among {graph.claim_count} claims on "
                           f"{graph.entity_count} entities from {read} document(s)")
    return out
