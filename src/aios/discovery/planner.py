"""Self-directed goals: the sub-questions a mission sets itself.

Two planners, and the agent records which one produced each frontier item (`origin`):

- **model**: the gateway proposes up to three new questions from the mission and what is
  known so far. A proposal is kept only if it is a question (ends with "?", 3-25 words),
  is new, and shares a content word with the mission or a known entity; a weak model's
  junk fails these checks and is counted as rejected.
- **fallback** (deterministic, always on): the mission itself, "What is known about X?" for
  each name in the mission, and the same for every entity the graph gains. So the loop
  keeps going when the model proposes nothing usable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aios.discovery.curiosity import FrontierItem
from aios.discovery.graph import KnowledgeGraph, normalise
from aios.discovery.modelcall import LLM, ModelCall, ask
from aios.discovery.patterns import mentions
from aios.discovery.retrieval import tokenize

__all__ = ["Proposal", "entity_item", "mission_items", "model_questions", "question_item"]

_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)]|Q\d*[:.])\s*")


@dataclass(frozen=True)
class Proposal:
    """What one model planning call gave: the questions kept and the call's record."""

    questions: tuple[str, ...]
    call: ModelCall
    proposed: int
    rejected: int


def question_item(question: str, *, origin: str, step: int, order: int) -> FrontierItem:
    """A frontier item for a free-text question (its query is the question)."""
    slug = "-".join(tokenize(question))[:60] or "question"
    return FrontierItem(id=f"q:{slug}", question=question, query=question, origin=origin,
                        created=step, order=order)


def entity_item(entity: str, name: str, *, step: int, order: int) -> FrontierItem:
    """The fallback frontier item for an entity: what is known about it."""
    return FrontierItem(id=f"about:{entity}", question=f"What is known about {name}?",
                        query=name, origin="fallback", entity=entity, created=step,
                        order=order)


def mission_items(question: str, *, order: int) -> list[FrontierItem]:
    """The mission itself plus one item per name it mentions (the deterministic start)."""
    items = [FrontierItem(id="mission", question=question, query=question, origin="mission",
                          order=order)]
    words = frozenset(re.findall(r"[A-Z][\w\-]*", question))
    for offset, mention in enumerate(m for m in mentions(question, words, None)
                                     if m.kind == "name"):
        items.append(FrontierItem(
            id=f"about:e:{normalise(mention.text)}",
            question=f"What is known about {mention.text}?", query=mention.text,
            origin="fallback", created=0, order=order + 1 + offset))
    return items


async def model_questions(llm: LLM, mission: str, graph: KnowledgeGraph,
                          asked: list[str], *, max_tokens: int,
                          tags: dict[str, str]) -> Proposal:
    """Ask the model for new sub-questions and keep the valid ones (module docstring)."""
    known = [e["name"] for e in graph.ranked(12) if e["kind"] == "name"]
    prompt = (f"Mission: {mission}\n"
              f"Known so far: {', '.join(known) or 'nothing yet'}\n"
              f"Already asked: {'; '.join(asked[-6:]) or 'nothing yet'}\n"
              "Write up to 3 new short questions that would help the mission, one per line.")
    text, call = await ask(llm, prompt, purpose="plan", max_tokens=max_tokens, tags=tags,
                           system="You plan research. Reply with questions only.")
    vocabulary = set(tokenize(mission)) | {w for name in known for w in tokenize(name)}
    seen = {" ".join(tokenize(q)) for q in asked}
    kept: list[str] = []
    lines = [line for line in text.splitlines() if line.strip()]
    for line in lines:
        question = _BULLET.sub("", line).strip().strip('"')
        key = " ".join(tokenize(question))
        if (not question.endswith("?") or not 3 <= len(question.split()) <= 25
                or key in seen or not vocabulary & set(tokenize(question))):
            continue
        seen.add(key)
        kept.append(question)
        if len(kept) == 3:
            break
    return Proposal(tuple(kept), call, len(lines), len(lines) - len(kept))
