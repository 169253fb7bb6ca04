"""The knowledge graph: entities as nodes, claims as edges, every edge with its sources.

A `networkx.MultiDiGraph` holds it: one node per entity (canonical name, aliases, kind), one
edge per distinct (subject, relation, object) claim, keyed by the claim's id, carrying the
confidence (noisy-OR over independent sources) and the list of sources (provenances).

**Entity merging** never chains: a mention joins an entity only when

1. its normalised form (case, punctuation, leading articles and company suffixes ignored)
   equals the entity's name or one of its aliases; or
2. it is a one-word surname matching the last word of exactly one multi-word entity (or the
   reverse: a full name arriving after the lone surname); or
3. its embedding is within `merge_threshold` cosine similarity of the entity's canonical
   name **and of every alias** (complete linkage), with the same digits.

So A~B and B~C never pull C into A's entity unless C is close to A as well.

**Conflicts**: for a functional relation (a founding year, a birthplace) a second, different
object does not replace the first: both claims stay, each listing the other in `conflicts`,
each with its own sources.

**Documents read**: the graph remembers, by content hash, which passages of which documents
it has read, so a later mission extending it reads only what is new.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from aios.discovery.extract import Claim
from aios.discovery.relations import relation_spec
from aios.discovery.retrieval import Embedder
from aios.extras import import_extra

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["AddResult", "KnowledgeGraph", "claim_id", "entity_kind", "networkx", "normalise"]


def networkx() -> Any:
    """The `networkx` module, imported on first use so that `aios.discovery` (and the
    built-in action list) imports without the `discovery` extra."""
    return import_extra("networkx",
                        "the knowledge graph needs networkx: pip install 'aios[discovery]'")

_SUFFIX = re.compile(r"\b(?:inc|incorporated|ltd|limited|llc|corp|corporation|co|plc|gmbh|"
                     r"ag|sa)\.?$")
_YEAR = re.compile(r"^(?:1[6-9]\d\d|20\d\d)$")


def normalise(name: str) -> str:
    """The form names are compared in: lower case, no punctuation, articles or suffixes."""
    text = name.casefold().replace("\u2019", "'")
    text = re.sub(r"'s\b", "", text)
    text = re.sub(r"[^\w\s]", " ", text).replace("_", " ")
    text = re.sub(r"^(?:the|a|an)\s+", "", " ".join(text.split()))
    return " ".join(_SUFFIX.sub("", text).split()) or " ".join(name.casefold().split())


def entity_kind(name: str) -> str:
    """`year`, `class` (a lower-case noun phrase such as "software company") or `name`."""
    if _YEAR.match(name.strip()):
        return "year"
    if name[:1].islower():
        return "class"
    return "name"


def claim_id(subject: str, relation: str, obj: str) -> str:
    """A stable id for a claim between two entity ids."""
    return hashlib.sha1(f"{subject}\x1f{relation}\x1f{obj}".encode()).hexdigest()[:12]


@dataclass(frozen=True)
class AddResult:
    """What adding one claim changed.

    Attributes:
        claim_id: the edge key; new: a claim the graph did not hold.
        new_entities: entities created for it (0-2).
        corroborated: an existing claim got a new, independent source.
        conflicts: ids of claims it conflicts with (functional relations only).
    """

    claim_id: str
    new: bool
    new_entities: int
    corroborated: bool
    conflicts: tuple[str, ...] = ()


def _personal(words: list[str]) -> bool:
    """Two alphabetic words: the shape of a personal name the surname rule applies to."""
    return len(words) == 2 and all(w.isalpha() for w in words)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


class KnowledgeGraph:
    """Entities and claims with their sources (see the module docstring).

    Args:
        embedder: the embedding service (None: merging by normalisation and surnames only).
        merge_threshold: cosine similarity needed for an embedding merge.
    """

    def __init__(self, embedder: Embedder | None = None, *, merge_threshold: float = 0.9):
        self.graph: nx.MultiDiGraph = networkx().MultiDiGraph()
        self.documents: dict[str, dict[str, Any]] = {}
        self._embedder = embedder
        self._threshold = merge_threshold
        self._alias_index: dict[str, str] = {}
        self._vectors: dict[str, np.ndarray] = {}

    # -- entities -------------------------------------------------------------------------

    @property
    def entity_count(self) -> int:
        """Entities held."""
        return int(self.graph.number_of_nodes())

    @property
    def claim_count(self) -> int:
        """Distinct claims held."""
        return int(self.graph.number_of_edges())

    def find(self, name: str) -> str | None:
        """The id of the entity `name` resolves to without creating one, or None."""
        return self._alias_index.get(normalise(name)) or self._match(name)

    def resolve(self, name: str, step: int | None = None) -> tuple[str, bool]:
        """The entity id for mention `name`, creating the entity if nothing matches.

        Returns:
            `(entity id, created)`.
        """
        norm = normalise(name)
        found = self._alias_index.get(norm) or self._match(name)
        if found is not None:
            self._add_alias(found, name)
            return found, False
        node = f"e:{norm}"
        self.graph.add_node(node, name=name.strip(), aliases=[name.strip()],
                            kind=entity_kind(name), first_step=step)
        self._alias_index[norm] = node
        return node, True

    def _add_alias(self, node: str, name: str) -> None:
        data = self.graph.nodes[node]
        name = name.strip()
        if name not in data["aliases"]:
            data["aliases"].append(name)
        self._alias_index.setdefault(normalise(name), node)
        # The fullest name is the canonical one ("Mara Lindqvist", not "Lindqvist"); a mere
        # variant in case or articles ("the mara lindqvist") does not replace it.
        if len(normalise(name)) > len(normalise(data["name"])):
            data["name"] = name

    def _match(self, name: str) -> str | None:
        kind = entity_kind(name)
        if kind != "name":
            return None  # years and classes merge only when equal after normalisation
        tokens = normalise(name).split()
        names = [(n, normalise(d["name"]).split()) for n, d in self.graph.nodes(data=True)
                 if d["kind"] == "name"]
        if len(tokens) == 1:
            owners = [n for n, words in names if _personal(words) and words[-1] == tokens[0]]
            if len(owners) == 1:
                return str(owners[0])
            if owners:
                return None  # an ambiguous surname: a new entity rather than a wrong merge
        elif _personal(tokens):
            # A full name arriving after its lone surname takes that entity over, unless
            # another full name shares the surname.
            lone = [n for n, words in names if words == tokens[-1:]]
            rivals = [n for n, words in names if _personal(words) and words[-1] == tokens[-1]
                      and words != tokens]
            if len(lone) == 1 and not rivals:
                return str(lone[0])
        return self._embedding_match(name)

    def _embedding_match(self, name: str) -> str | None:
        if self._embedder is None or not self.graph:
            return None
        vector = self._vector(name)
        best, best_score = None, self._threshold
        for node, data in self.graph.nodes(data=True):
            if data["kind"] != "name" or _digits(data["name"]) != _digits(name):
                continue
            sims = [float(vector @ self._vector(other))
                    for other in {data["name"], *data["aliases"]}]
            if min(sims) >= self._threshold and sum(sims) / len(sims) >= best_score:
                best, best_score = node, sum(sims) / len(sims)
        return best

    def _vector(self, name: str) -> np.ndarray:
        key = normalise(name)
        if key not in self._vectors and self._embedder is not None:
            self._vectors[key] = np.asarray(self._embedder.embed([name]), dtype=np.float32)[0]
        return self._vectors[key]

    # -- claims ---------------------------------------------------------------------------

    def add(self, claim: Claim, step: int | None = None) -> AddResult:
        """Merge `claim` into the graph (entities resolved, sources accumulated)."""
        subject, new_s = self.resolve(claim.subject, step)
        obj, new_o = self.resolve(claim.object, step)
        key = claim_id(subject, claim.relation, obj)
        source = {**claim.provenance.to_json(), "step": step,
                  "confidence": round(claim.confidence, 4)}
        if self.graph.has_edge(subject, obj, key):
            data = self.graph.edges[subject, obj, key]
            fingerprint = (source.get("passage_id"), source.get("call_id"), source["extractor"])
            seen = {(s.get("passage_id"), s.get("call_id"), s["extractor"])
                    for s in data["sources"]}
            if fingerprint in seen:
                return AddResult(key, False, int(new_s) + int(new_o), False)
            independent = source.get("passage_id") not in {s.get("passage_id")
                                                           for s in data["sources"]}
            data["sources"].append(source)
            data["confidence"] = 1 - (1 - data["confidence"]) * (1 - claim.confidence) \
                if independent else max(data["confidence"], claim.confidence)
            if claim.surface and claim.surface not in data["surfaces"]:
                data["surfaces"].append(claim.surface)
            return AddResult(key, False, int(new_s) + int(new_o), independent)
        conflicts = self._conflicts(subject, claim.relation, obj)
        self.graph.add_edge(subject, obj, key=key, relation=claim.relation,
                            confidence=claim.confidence, sources=[source],
                            surfaces=[claim.surface] if claim.surface else [],
                            first_step=step, conflicts=list(conflicts))
        for _, _, other, data in self.graph.out_edges(subject, keys=True, data=True):
            if other in conflicts and key not in data["conflicts"]:
                data["conflicts"].append(key)
        return AddResult(key, True, int(new_s) + int(new_o), False, conflicts)

    def _conflicts(self, subject: str, relation: str, obj: str) -> tuple[str, ...]:
        spec = relation_spec(relation)
        if spec is None or not spec.functional:
            return ()
        return tuple(k for _, v, k, d in self.graph.out_edges(subject, keys=True, data=True)
                     if d["relation"] == relation and v != obj)

    def claims(self, entity: str | None = None) -> list[dict[str, Any]]:
        """Every claim (or those touching `entity`) as plain dicts with entity names."""
        edges: Iterable[tuple[str, str, str, Mapping[str, Any]]]
        if entity is None:
            edges = self.graph.edges(keys=True, data=True)
        else:
            edges = [*self.graph.out_edges(entity, keys=True, data=True),
                     *self.graph.in_edges(entity, keys=True, data=True)]
        nodes = self.graph.nodes
        return [{"id": k, "subject": nodes[u]["name"], "subject_id": u,
                 "relation": d["relation"], "object": nodes[v]["name"], "object_id": v,
                 "confidence": round(float(d["confidence"]), 4), "sources": d["sources"],
                 "conflicts": d["conflicts"], "first_step": d["first_step"]}
                for u, v, k, d in edges]

    def uncertainty(self, entity: str) -> float:
        """1 for an entity nothing is known about; lower as confident claims accumulate;
        raised by conflicts."""
        if entity not in self.graph:
            return 1.0
        edges = [d for *_, d in self.graph.out_edges(entity, data=True)] + \
                [d for *_, d in self.graph.in_edges(entity, data=True)]
        if not edges:
            return 1.0
        mean = sum(float(d["confidence"]) for d in edges) / len(edges)
        support = 1 - 1 / (1 + len(edges))
        conflict = 0.5 if any(d["conflicts"] for d in edges) else 0.0
        return min(1.0, (1 - mean) * (1 - support) + (1 - support) * 0.5 + conflict)

    def ranked(self, limit: int = 10) -> list[dict[str, Any]]:
        """Entities by PageRank (ties: degree), with both figures."""
        if not self.graph:
            return []
        nx = networkx()
        simple = nx.DiGraph(self.graph)
        rank = nx.pagerank(simple) if simple.number_of_edges() else {n: 0.0 for n in simple}
        nodes = sorted(self.graph.nodes, key=lambda n: (-rank[n], -self.graph.degree(n), n))
        return [{"id": n, "name": self.graph.nodes[n]["name"],
                 "kind": self.graph.nodes[n]["kind"], "degree": int(self.graph.degree(n)),
                 "pagerank": round(float(rank[n]), 5)} for n in nodes[:limit]]

    # -- documents read -------------------------------------------------------------------

    def mark_read(self, doc_hash: str, doc_id: str, passage_id: str, total: int) -> None:
        """Record that `passage_id` of the document with `doc_hash` has been read."""
        entry = self.documents.setdefault(doc_hash, {"id": doc_id, "passages": total,
                                                     "read": []})
        if passage_id not in entry["read"]:
            entry["read"].append(passage_id)

    def is_read(self, doc_hash: str, passage_id: str) -> bool:
        """True when that passage was read by this graph before."""
        entry = self.documents.get(doc_hash)
        return bool(entry and passage_id in entry["read"])

    def fully_read(self, doc_hash: str) -> bool:
        """True when every passage of the document with `doc_hash` has been read."""
        entry = self.documents.get(doc_hash)
        return bool(entry and len(entry["read"]) >= entry["passages"])

    # -- persistence ----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Node-link JSON (networkx) plus the documents read."""
        data = networkx().node_link_data(self.graph, edges="links")
        return {"graph": data, "documents": self.documents}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None, embedder: Embedder | None = None, *,
                  merge_threshold: float = 0.9) -> KnowledgeGraph:
        """The inverse of `to_json` (an empty graph for None)."""
        kg = cls(embedder, merge_threshold=merge_threshold)
        if not data:
            return kg
        kg.graph = networkx().node_link_graph(data["graph"], directed=True, multigraph=True,
                                      edges="links")
        kg.documents = {k: dict(v) for k, v in data.get("documents", {}).items()}
        for node, attrs in kg.graph.nodes(data=True):
            for alias in attrs["aliases"]:
                kg._alias_index.setdefault(normalise(alias), node)
        return kg
