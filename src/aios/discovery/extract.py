"""Claims and claim extraction: (subject, relation, object) + confidence + provenance.

Two extractors share one interface and register by name:

- `pattern` (`aios.discovery.patterns`): sentence-level relation patterns; deterministic, free.
- `model`: asks the gateway for JSON triples from a passage and keeps a triple only when its
  subject and object both occur in the passage (anything else is dropped, and counted).

Every claim read from a passage cites the document, the passage and the character offsets of
the sentence it came from; a claim the model states without a passage cites the model call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from aios.discovery.corpus import Passage, sentences
from aios.discovery.modelcall import LLM, ModelCall, ask, parse_json
from aios.discovery.relations import canonical_relation
from aios.errors import ConfigError
from aios.registry import Registry

__all__ = ["EXTRACTORS", "Claim", "DocContext", "Extraction", "Extractor", "ExtractorDeps",
           "ModelExtractor", "Provenance", "extractor", "make_extractor", "orient_triple",
           "parse_triples", "slug_relation"]


@dataclass(frozen=True)
class Provenance:
    """Where a claim comes from.

    Attributes:
        kind: `passage` (read in the corpus) or `model` (stated by the model, no passage).
        extractor: `pattern` or `model`: what turned the source into the claim.
        doc_id, doc_hash, passage_id: the document and passage (kind `passage`).
        start, end: character offsets of the supporting sentence in the document's text.
        quote: that sentence (or the model's reply excerpt).
        call_id, model: the model call that produced the claim, when a model did.
        step: the mission step that found it (set when the claim enters the graph).
    """

    kind: str
    extractor: str
    doc_id: str | None = None
    doc_hash: str | None = None
    passage_id: str | None = None
    start: int | None = None
    end: int | None = None
    quote: str = ""
    call_id: str | None = None
    model: str | None = None
    step: int | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict without empty fields."""
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Provenance:
        """The inverse of `to_json`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class Claim:
    """One extracted fact. `relation` is canonical when the vocabulary knows it."""

    subject: str
    relation: str
    object: str
    confidence: float
    provenance: Provenance
    surface: str = ""


@dataclass(frozen=True)
class DocContext:
    """What an extractor may know about a passage's document besides the passage.

    Attributes:
        title: the document's title (pronouns like "she" or "the company" refer to it).
        text: the document's full text (to tell a name from a capitalised common word).
    """

    title: str
    text: str


@dataclass(frozen=True)
class Extraction:
    """What one extractor got from one passage.

    Attributes:
        claims: the claims kept.
        calls: model calls made.
        proposed: triples proposed before validation; dropped: how many failed it.
    """

    claims: tuple[Claim, ...] = ()
    calls: tuple[ModelCall, ...] = ()
    proposed: int = 0
    dropped: int = 0


class Extractor(Protocol):
    """Turns a passage into claims."""

    name: str

    async def extract(self, passage: Passage, context: DocContext) -> Extraction:
        """The claims `passage` supports."""
        ...


@dataclass(frozen=True)
class ExtractorDeps:
    """What an extractor factory may need: the gateway, call settings and trace tags."""

    llm: LLM | None = None
    max_tokens: int = 256
    tags: Mapping[str, str] = field(default_factory=dict)


#: Extractor factories by name, filled by `@extractor`.
EXTRACTORS: Registry[Callable[[ExtractorDeps], Extractor]] = Registry("extractor")


def extractor(name: str) -> Callable[[Callable[[ExtractorDeps], Extractor]],
                                     Callable[[ExtractorDeps], Extractor]]:
    """Register an extractor factory under `name`."""

    return EXTRACTORS.register(name)


def make_extractor(name: str, deps: ExtractorDeps) -> Extractor:
    """Build the extractor registered as `name`.

    Raises:
        ConfigError: no such extractor, or it needs a model and none is configured.
    """
    import aios.discovery.patterns  # noqa: F401  (registers `pattern`)

    return EXTRACTORS.get(name)(deps)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def slug_relation(text: str) -> str:
    """A free-text relation as a short `snake_case` name ("" when nothing is left)."""
    words = re.findall(r"[a-z0-9]+", text.lower())[:5]
    return "_".join(words)


def orient_triple(subject: str, relation: str, obj: str
                  ) -> tuple[str, str, str, bool] | None:
    """`(subject, relation name, object, known)`: a known relation under its canonical name,
    an inverse one turned around ("is part of" -> `has_part`, the other way), a free-text one
    slugged (`known` False); None when nothing of the relation is left."""
    canonical = canonical_relation(relation)
    name = canonical[0] if canonical else slug_relation(relation)
    if not name:
        return None
    if canonical and canonical[1]:
        subject, obj = obj, subject
    return subject, name, obj, canonical is not None


def parse_triples(value: Any) -> list[tuple[str, str, str]]:
    """Triples from a model's JSON: `{"triples": [...]}`, a list of objects or of lists."""
    if isinstance(value, Mapping):
        value = next((v for v in value.values() if isinstance(v, list)), [value])
    out: list[tuple[str, str, str]] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, Mapping):
            parts = [item.get(k) for k in ("subject", "relation", "object")]
        elif isinstance(item, list | tuple) and len(item) == 3:
            parts = list(item)
        else:
            continue
        if all(isinstance(p, str | int) and str(p).strip() for p in parts):
            subject, relation, obj = (str(p).strip() for p in parts)
            out.append((subject, relation, obj))
    return out


_SYSTEM = ("You extract facts from text. Reply with JSON only: "
           '{"triples": [{"subject": "...", "relation": "...", "object": "..."}]}. '
           "Copy subject and object exactly as written in the text.")


class ModelExtractor:
    """Asks the model for triples and keeps only those the passage supports.

    A triple is supported when its subject and its object both occur in the passage
    (case and spacing ignored); the claim cites the sentence that holds both (or the first
    that holds the subject) and the model call.
    """

    name = "model"

    def __init__(self, llm: LLM, *, max_tokens: int = 256,
                 tags: Mapping[str, str] | None = None, confidence: float = 0.6):
        self._llm = llm
        self._max_tokens = max_tokens
        self._tags = dict(tags or {})
        self._confidence = confidence

    async def extract(self, passage: Passage, context: DocContext) -> Extraction:
        """Ask, parse, validate (see the class docstring)."""
        prompt = (f"Document: {context.title}\nText: {passage.text}\n\n"
                  "List the facts this text states as subject-relation-object triples.")
        text, call = await ask(self._llm, prompt, purpose="extract", system=_SYSTEM,
                               max_tokens=self._max_tokens, json_mode=True, tags=self._tags)
        triples = parse_triples(parse_json(text)) if text else []
        claims = []
        haystack = _norm(passage.text)
        for subject, relation, obj in triples:
            if (_norm(subject) not in haystack or _norm(obj) not in haystack
                    or _norm(subject) == _norm(obj)):
                continue
            oriented = orient_triple(subject, relation, obj)
            if oriented is None:
                continue
            subject, name, obj, canonical = oriented
            start, end = self._support(passage, subject, obj)
            claims.append(Claim(
                subject, name, obj, self._confidence if canonical else self._confidence * 0.7,
                Provenance(kind="passage", extractor=self.name, doc_id=passage.doc_id,
                           doc_hash=passage.doc_hash, passage_id=passage.id, start=start,
                           end=end, quote=passage.text[start - passage.start:
                                                       end - passage.start],
                           call_id=call.id, model=call.model or None),
                surface=relation))
        return Extraction(tuple(claims), (call,), len(triples), len(triples) - len(claims))

    @staticmethod
    def _support(passage: Passage, subject: str, obj: str) -> tuple[int, int]:
        spans = list(sentences(passage.text, passage.start))
        text_of = {span: _norm(passage.text[span[0] - passage.start:span[1] - passage.start])
                   for span in spans}
        for want in ((subject, obj), (subject,)):
            for span in spans:
                if all(_norm(w) in text_of[span] for w in want):
                    return span
        return passage.start, passage.end


@extractor("model")
def _model_extractor(deps: ExtractorDeps) -> Extractor:
    if deps.llm is None:
        raise ConfigError("the `model` extractor needs the model gateway; configure a model "
                          "(see `aios models`) or use --extractor pattern")
    return ModelExtractor(deps.llm, max_tokens=deps.max_tokens, tags=deps.tags)
