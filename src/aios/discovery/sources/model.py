"""The `model` source: ask the LLM gateway what it knows; its claims cite the model call."""

from __future__ import annotations

import re

from aios.discovery.curiosity import FrontierItem
from aios.discovery.extract import Claim, Provenance, orient_triple, parse_triples
from aios.discovery.modelcall import ask, parse_json
from aios.discovery.retrieval import tokenize
from aios.discovery.sources.base import Evidence, Source, SourceContext, source
from aios.errors import ConfigError

__all__ = ["ModelSource"]

_SYSTEM = ("You answer research questions with facts. Reply with JSON only: "
           '{"triples": [{"subject": "...", "relation": "...", "object": "..."}]}. '
           "Give only facts you are confident about; give none if you do not know.")
_PLACEHOLDER = re.compile(r"^(?:subject|object|relation|\.+|x|y|unknown|none|n/?a|null|"
                          r"entity|something)$", re.IGNORECASE)


class ModelSource:
    """The model as a source of claims: asked once per frontier item.

    Its claims carry `kind="model"` provenance (the call id and model, no passage) and the
    mission's `model_confidence`, lower than claims read in a corpus. A triple is kept only
    when subject and object are short (at most 8 words), distinct, not placeholders, and one
    of them shares a word with the question: a weak model's junk is dropped and counted.
    """

    kind = "model"
    spec = "model"

    def __init__(self) -> None:
        self.proposed = 0
        self.dropped = 0

    async def open(self, ctx: SourceContext) -> None:
        """Check that a gateway is configured.

        Raises:
            ConfigError: no gateway was given.
        """
        if ctx.llm is None:
            raise ConfigError("source 'model' needs the model gateway, and none is "
                              "configured; drop --source model or configure a model")

    def novelty(self, item: FrontierItem, k: int) -> float:
        """1 until the model has been asked about the item, then 0."""
        return 0.0 if self.spec in item.asked else 1.0

    def remaining(self, item: FrontierItem) -> int:
        """1 until the model has been asked about the item, then 0."""
        return 0 if self.spec in item.asked else 1

    def matched(self, item: FrontierItem) -> int:
        """The model can always be asked."""
        return 1

    def relevance(self, item: FrontierItem, k: int) -> float | None:
        """No opinion: the model's answer is not known before asking."""
        return None

    async def gather(self, item: FrontierItem, k: int, ctx: SourceContext) -> Evidence:
        """Ask the model about the item and keep the triples that pass validation."""
        assert ctx.llm is not None  # checked by open()
        text, call = await ask(ctx.llm, f"Question: {item.question}", purpose="ask",
                               system=_SYSTEM, max_tokens=ctx.max_tokens, json_mode=True,
                               tags=ctx.tags)
        triples = parse_triples(parse_json(text)) if text else []
        words = set(tokenize(item.question))
        claims = []
        for subject, relation, obj in triples:
            if not _plausible(subject, obj, words):
                continue
            oriented = orient_triple(subject, relation, obj)
            if oriented is None:
                continue
            subject, name, obj, _ = oriented
            claims.append(Claim(subject, name, obj, ctx.model_confidence,
                                Provenance(kind="model", extractor="model", quote=text[:240],
                                           call_id=call.id, model=call.model or None),
                                surface=relation))
        self.proposed += len(triples)
        self.dropped += len(triples) - len(claims)
        return Evidence(claims=tuple(claims), calls=(call,), exhausted=True)

    def mark_read(self, passage: object) -> None:
        """Nothing to record: the model has no passages."""

    def describe(self) -> dict[str, object]:
        """Triples proposed and dropped by validation."""
        return {"proposed": self.proposed, "dropped": self.dropped}


def _plausible(subject: str, obj: str, question_words: set[str]) -> bool:
    for value in (subject, obj):
        if not value.strip() or len(value.split()) > 8 or _PLACEHOLDER.match(value.strip()):
            return False
    if subject.strip().casefold() == obj.strip().casefold():
        return False
    return bool(question_words & (set(tokenize(subject)) | set(tokenize(obj))))


@source("model")
def _model(argument: str, mission: str) -> Source:
    return ModelSource()
