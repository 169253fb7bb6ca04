"""Claim extraction: the pattern extractor's rules, and the model extractor's validation."""

from __future__ import annotations

from tests.discovery.conftest import scripted_llm

from aios.discovery import PatternExtractor, chunk
from aios.discovery.corpus import Document, content_hash
from aios.discovery.extract import DocContext, ModelExtractor, parse_triples
from aios.discovery.modelcall import parse_json


def _doc(text: str, title: str = "Notes") -> Document:
    return Document(id="notes.txt", title=title, text=text,
                    hash=content_hash(text.encode()), kind="text")


async def _claims(text: str, title: str = "Notes") -> set[tuple[str, str, str]]:
    doc = _doc(text, title)
    out = set()
    for passage in chunk(doc, 1000):
        got = await PatternExtractor().extract(passage, DocContext(doc.title, doc.text))
        for c in got.claims:
            assert doc.text[c.provenance.start:c.provenance.end] == c.provenance.quote
            assert c.provenance.passage_id == passage.id
            out.add((c.subject, c.relation, c.object))
    return out


async def test_passive_founding_with_two_founders_and_a_year() -> None:
    claims = await _claims("Corvid Systems was founded by Mara Lindqvist and Tomas Okafor "
                           "in 1987.")
    assert claims == {("Corvid Systems", "founded_by", "Mara Lindqvist"),
                      ("Corvid Systems", "founded_by", "Tomas Okafor"),
                      ("Corvid Systems", "founded_in", "1987")}


async def test_active_voice_is_turned_into_the_canonical_direction() -> None:
    claims = await _claims("Kwame Mensah founded Northwind Foundry in 1999. "
                           "Heron OS was developed by Heronsgate Labs and released in 1997.")
    assert ("Northwind Foundry", "founded_by", "Kwame Mensah") in claims
    assert ("Northwind Foundry", "founded_in", "1999") in claims
    assert ("Heronsgate Labs", "developed", "Heron OS") in claims
    assert ("Heron OS", "released_in", "1997") in claims


async def test_pronouns_refer_to_the_document_title() -> None:
    claims = await _claims("Ilse Varga\n\nShe studied at the University of Kestrel.",
                           title="Ilse Varga")
    assert ("Ilse Varga", "studied_at", "University of Kestrel") in claims


async def test_is_a_takes_the_noun_phrase_and_location_follows() -> None:
    claims = await _claims("Corvid Systems is a software company headquartered in Port Alder.")
    assert claims == {("Corvid Systems", "is_a", "software company"),
                      ("Corvid Systems", "headquartered_in", "Port Alder")}


async def test_sentence_initial_common_words_are_not_entities() -> None:
    claims = await _claims("Salmon returned to the Ash River in the 1990s. "
                           "Collectors still trade working units.")
    assert not any("Salmon" in (s, o) or "Collectors" in (s, o) for s, _, o in claims)


async def test_unknown_verbs_become_low_confidence_free_relations() -> None:
    doc = _doc("Mara Lindqvist retired to Gannet Island.")
    got = await PatternExtractor().extract(chunk(doc)[0], DocContext(doc.title, doc.text))
    [claim] = got.claims
    assert (claim.relation, claim.object) == ("retired_to", "Gannet Island")
    assert claim.confidence < 0.5


async def test_model_triples_are_kept_only_when_the_passage_supports_them() -> None:
    doc = _doc("The Gull-7 is a low-power processor. It was manufactured by Northwind "
               "Foundry and released in 2004.")
    reply = ('{"triples": [{"subject": "Northwind Foundry", "relation": "manufactures", '
             '"object": "Gull-7"}, {"subject": "Gull-7", "relation": "designed by", '
             '"object": "Ada Lovelace"}]}')
    model, llm = scripted_llm(reply)
    got = await ModelExtractor(llm).extract(chunk(doc)[0], DocContext(doc.title, doc.text))
    assert got.proposed == 2 and got.dropped == 1
    [claim] = got.claims
    assert (claim.subject, claim.relation, claim.object) == (
        "Northwind Foundry", "manufactures", "Gull-7")
    assert claim.provenance.call_id == got.calls[0].id
    assert claim.provenance.quote in doc.text
    assert got.calls[0].tokens == 70 and got.calls[0].cost_usd == 0.001
    assert model.requests[0].response_format == {}


async def test_model_junk_yields_no_claims_and_is_counted() -> None:
    doc = _doc("Millbrook Rovers is a football club.")
    got = await ModelExtractor(scripted_llm("I am a helpful assistant! {{{")[1]).extract(
        chunk(doc)[0], DocContext(doc.title, doc.text))
    assert got.claims == () and got.proposed == 0 and len(got.calls) == 1


def test_triples_parse_from_objects_lists_and_fenced_json() -> None:
    assert parse_triples(parse_json('```json\n[["A", "b", "C"]]\n```')) == [("A", "b", "C")]
    assert parse_triples({"facts": [{"subject": "A", "relation": "r", "object": 1999}]}) == [
        ("A", "r", "1999")]
    assert parse_triples(parse_json("no json here")) == []


