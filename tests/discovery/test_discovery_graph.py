"""The knowledge graph: merging without chaining, conflicts side by side, persistence."""

from __future__ import annotations

import numpy as np

from aios.discovery import KnowledgeGraph, normalise
from aios.discovery.extract import Claim, Provenance


def _claim(s: str, r: str, o: str, doc: str = "a.txt", conf: float = 0.8) -> Claim:
    return Claim(s, r, o, conf, Provenance(kind="passage", extractor="pattern", doc_id=doc,
                                           passage_id=f"{doc}:0", start=0, end=10,
                                           quote="..."))


class _Vectors:
    """An embedder with chosen vectors: the test decides which names are similar."""

    def __init__(self, table: dict[str, list[float]]):
        self.table = {k: np.asarray(v, dtype=np.float32) / np.linalg.norm(v)
                      for k, v in table.items()}

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.table[t] for t in texts])


def test_normalisation_ignores_case_articles_punctuation_and_company_suffixes() -> None:
    assert normalise("The Heronsgate Labs Ltd.") == normalise("heronsgate labs")
    assert normalise("Corvid's") == "corvid"
    assert normalise("B-12 Oscilloscope") == "b 12 oscilloscope"


def test_equal_names_merge_and_a_lone_surname_joins_its_full_name() -> None:
    kg = KnowledgeGraph()
    a, _ = kg.resolve("Mara Lindqvist")
    assert kg.resolve("the mara lindqvist")[0] == a
    assert kg.resolve("Lindqvist") == (a, False)
    assert kg.graph.nodes[a]["name"] == "Mara Lindqvist"
    assert "Lindqvist" in kg.graph.nodes[a]["aliases"]


def test_a_full_name_arriving_after_its_surname_takes_the_entity_over() -> None:
    kg = KnowledgeGraph()
    lone, _ = kg.resolve("Okafor")
    assert kg.resolve("Tomas Okafor") == (lone, False)
    assert kg.graph.nodes[lone]["name"] == "Tomas Okafor"


def test_an_ambiguous_surname_stays_a_separate_entity() -> None:
    kg = KnowledgeGraph()
    kg.resolve("Anna Berg")
    kg.resolve("Peter Berg")
    node, created = kg.resolve("Berg")
    assert created and kg.graph.nodes[node]["name"] == "Berg"


def test_embedding_merges_need_similarity_to_every_member_so_nothing_chains() -> None:
    # A~B (0.95) and B~C (0.95) but A!~C (0.81): C must not join the entity A and B share.
    emb = _Vectors({"Alpha Works": [1.0, 0.0, 0.0], "Alpha Works Group": [0.95, 0.31, 0.0],
                    "Alpha Group": [0.81, 0.59, 0.0]})
    kg = KnowledgeGraph(emb, merge_threshold=0.9)
    a, _ = kg.resolve("Alpha Works")
    assert kg.resolve("Alpha Works Group") == (a, False)
    c, created = kg.resolve("Alpha Group")
    assert created and c != a
    assert float(emb.table["Alpha Works Group"] @ emb.table["Alpha Group"]) >= 0.9


def test_real_embeddings_keep_distinct_organisations_apart(embedder: object) -> None:
    kg = KnowledgeGraph(embedder, merge_threshold=0.9)  # type: ignore[arg-type]
    names = ["Corvid Systems", "Corvid Ledger", "Kestrel City", "Kestrel Bay",
             "University of Kestrel", "Millbrook", "Millbrook Rovers", "Lumen Compiler",
             "Lumen Cooperative", "Heron OS", "Heronsgate Labs"]
    ids = {kg.resolve(n)[0] for n in names}
    assert len(ids) == len(names)
    assert kg.resolve("Corvid Systems Inc.")[0] == kg.find("Corvid Systems")


def test_conflicting_values_of_a_functional_relation_are_kept_with_both_sources() -> None:
    kg = KnowledgeGraph()
    first = kg.add(_claim("Heronsgate Labs", "founded_in", "1994", doc="labs.html"), step=1)
    second = kg.add(_claim("Heronsgate Labs", "founded_in", "1995", doc="newsletter.txt"),
                    step=2)
    assert second.new and second.conflicts == (first.claim_id,)
    claims = {c["object"]: c for c in kg.claims()}
    assert claims["1994"]["conflicts"] == [second.claim_id]
    assert claims["1995"]["conflicts"] == [first.claim_id]
    assert claims["1994"]["sources"][0]["doc_id"] == "labs.html"
    assert claims["1995"]["sources"][0]["doc_id"] == "newsletter.txt"
    assert kg.uncertainty(kg.find("Heronsgate Labs") or "") > 0.5


def test_non_functional_relations_take_several_objects_without_conflict() -> None:
    kg = KnowledgeGraph()
    kg.add(_claim("Corvid Systems", "founded_by", "Mara Lindqvist"))
    result = kg.add(_claim("Corvid Systems", "founded_by", "Tomas Okafor"))
    assert result.conflicts == ()


def test_a_second_source_corroborates_and_raises_confidence() -> None:
    kg = KnowledgeGraph()
    kg.add(_claim("Gull-7", "released_in", "2004", doc="a.txt", conf=0.6))
    again = kg.add(_claim("Gull-7", "released_in", "2004", doc="a.txt", conf=0.6))
    other = kg.add(_claim("Gull-7", "released_in", "2004", doc="b.txt", conf=0.6))
    assert not again.new and not again.corroborated
    assert other.corroborated
    [claim] = kg.claims()
    assert len(claim["sources"]) == 2
    assert abs(claim["confidence"] - (1 - 0.4 * 0.4)) < 1e-6


def test_graph_round_trips_through_node_link_json() -> None:
    kg = KnowledgeGraph()
    kg.add(_claim("Tern Robotics", "subsidiary_of", "Corvid Systems"), step=3)
    kg.mark_read("hash1", "a.txt", "hash1-300:0", total=2)
    back = KnowledgeGraph.from_json(kg.to_json())
    assert back.claims() == kg.claims()
    assert back.is_read("hash1", "hash1-300:0") and not back.fully_read("hash1")
    assert back.resolve("tern robotics")[1] is False
    assert "links" in kg.to_json()["graph"]


def test_ranked_entities_carry_pagerank_and_degree() -> None:
    kg = KnowledgeGraph()
    for person in ("A One", "B Two", "C Three"):
        kg.add(_claim("Hub Corp Systems", "founded_by", person))
    top = kg.ranked(2)
    assert top[0]["degree"] == 3 or top[0]["pagerank"] >= top[1]["pagerank"]
    assert {"pagerank", "degree", "name"} <= set(top[0])
