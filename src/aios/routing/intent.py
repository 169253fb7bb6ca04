"""Natural-language prompts: split a request into clauses and match each to a manifest action.

"enable firewall and check container load" → ["enable firewall", "check container load"]
→ each clause scored against every action's text (agent, key, description) by embedding
cosine plus keyword overlap, with a small nudge towards mutating actions for clauses that
ask for a change (enable, kill, delete ...) and towards read-only ones for clauses that ask
to look (check, show, list ...). Below `min_score` a clause matches nothing and the plan
lists the closest actions instead. Running the plan is the caller's job (the CLI hands each
action to the runtime, so forensic mode, confirmation and approvals apply).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from aios.embeddings import EmbeddingService
from aios.errors import ConfigError

if TYPE_CHECKING:  # the manifest schema imports aios.routing.spec: no import cycle at run time
    from aios.manifest.schema import Manifest

__all__ = ["ClauseMatch", "IntentMatcher", "IntentPlan", "split_clauses"]

_SPLIT = re.compile(r"\s*(?:[;,\n]|\.\s+|\band then\b|\bthen\b|\band also\b|\balso\b|"
                    r"\band\b|&|\+)\s*", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
_CHANGE_VERBS = frozenset(
    ["enable", "disable", "turn", "add", "remove", "delete", "kill", "terminate", "stop", "start",
     "restart", "block", "allow", "deny", "drop", "accept", "open", "close", "clean", "purge",
     "install", "uninstall", "set", "change", "create", "apply", "reset", "shutdown", "reboot"])
_LOOK_VERBS = frozenset(
    ["check", "show", "list", "get", "what", "which", "how", "display", "inspect", "report",
     "status", "view", "describe", "find", "count", "look", "audit", "scan", "probe", "monitor"])
_STOP = frozenset(
    ["the", "a", "an", "of", "to", "in", "on", "for", "and", "or", "is", "are", "be", "it",
     "this", "that", "with", "as", "at", "by", "from", "my", "me", "all", "any", "please", "can",
     "you", "i", "we", "our", "its", "their", "them", "there", "what's"])


def split_clauses(text: str) -> list[str]:
    """Clauses of a request; a clause without a verb borrows the previous clause's verb
    ("check disks and memory" → "check disks", "check memory")."""
    parts = [p.strip(" .!?") for p in _SPLIT.split(text)]
    clauses: list[str] = []
    verb: str | None = None
    for part in parts:
        if not part:
            continue
        first = part.split()[0].lower()
        if first in _CHANGE_VERBS or first in _LOOK_VERBS:
            verb = first
        elif verb is not None and len(part.split()) <= 3:
            part = f"{verb} {part}"
        clauses.append(part)
    return clauses


def _words(text: str) -> set[str]:
    out = set()
    for word in _WORD.findall(text.lower()):
        if word in _STOP or word in _LOOK_VERBS or len(word) < 2:
            continue
        out.add(word[:-1] if len(word) > 4 and word.endswith("s") else word)
    return out


@dataclass(frozen=True)
class ClauseMatch:
    """One clause and the action it matched (None: no action scored high enough).

    Attributes:
        clause: the clause text.
        action: `agent.key`, or None.
        score: the combined score of the best action.
        criticality, mutates: of the matched action.
        alternatives: the closest actions with their scores, best first.
    """

    clause: str
    action: str | None
    score: float
    criticality: str | None
    mutates: bool | None
    alternatives: tuple[tuple[str, float], ...]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able record."""
        return {"clause": self.clause, "action": self.action, "score": round(self.score, 4),
                "criticality": self.criticality, "mutates": self.mutates,
                "alternatives": [{"action": a, "score": round(s, 4)}
                                 for a, s in self.alternatives]}


@dataclass(frozen=True)
class IntentPlan:
    """What a natural-language request maps to."""

    text: str
    matches: tuple[ClauseMatch, ...]

    @property
    def actions(self) -> list[str]:
        """The matched actions, in clause order, without repeats."""
        return list(dict.fromkeys(m.action for m in self.matches if m.action))

    @property
    def unmatched(self) -> list[ClauseMatch]:
        """Clauses that matched no action."""
        return [m for m in self.matches if m.action is None]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able record."""
        return {"text": self.text, "actions": self.actions,
                "clauses": [m.as_dict() for m in self.matches]}


class IntentMatcher:
    """Matches clauses to a manifest's actions.

    Args:
        manifest: the actions to choose from.
        embedder: the embedding service.
        min_score: the lowest combined score that counts as a match.
        keyword_weight: share of keyword overlap in the score (the rest is cosine).
        intent_bonus: added when a clause's verb asks for a change and the action mutates,
            or asks to look and the action is read-only.
    """

    def __init__(self, manifest: Manifest, embedder: EmbeddingService, *,
                 min_score: float = 0.35, keyword_weight: float = 0.4,
                 intent_bonus: float = 0.08):
        self.manifest = manifest
        self.embedder = embedder
        self.min_score = min_score
        self.keyword_weight = keyword_weight
        self.intent_bonus = intent_bonus
        self.names = manifest.action_names()
        if not self.names:
            raise ConfigError("the manifest declares no actions to match a prompt against")
        texts = []
        for name in self.names:
            agent_name, _, key = name.partition(".")
            action = manifest.action(name)
            agent = manifest.agents[agent_name]
            texts.append(f"{agent_name} {key.replace('_', ' ')}: {action.description} "
                         f"({agent.description})")
        self._keywords = [_words(text) for text in texts]
        self._name_words = [_words(name.replace("_", " ").replace(".", " "))
                            for name in self.names]
        self._vectors = embedder.embed(texts)
        self._mutates = np.array([manifest.action(n).mutates for n in self.names])

    def scores(self, clause: str) -> np.ndarray:
        """The combined score of every action for `clause` (in `names` order)."""
        cosine = self._vectors @ self.embedder.embed_one(clause)
        words = _words(clause)
        overlap = np.array([
            (len(words & kw) + len(words & nw)) / (2 * len(words)) if words else 0.0
            for kw, nw in zip(self._keywords, self._name_words, strict=True)])
        score = (1 - self.keyword_weight) * cosine + self.keyword_weight * overlap
        first = clause.split()[0].lower() if clause.split() else ""
        if first in _CHANGE_VERBS:
            score = score + self.intent_bonus * self._mutates
        elif first in _LOOK_VERBS:
            score = score + self.intent_bonus * ~self._mutates
        return np.asarray(score, dtype=np.float64)

    def match(self, text: str, *, alternatives: int = 3) -> IntentPlan:
        """The plan for `text`.

        Raises:
            ConfigError: `text` is empty.
        """
        if not text or not text.strip():
            raise ConfigError('the prompt is empty; say what to do, for example: aios prompt '
                              '"check disk space and list containers"')
        matches = []
        for clause in split_clauses(text):
            score = self.scores(clause)
            order = np.argsort(-score)[:max(alternatives, 1)]
            best = int(order[0])
            closest = tuple((self.names[i], float(score[i])) for i in order)
            if score[best] >= self.min_score:
                action = self.manifest.action(self.names[best])
                matches.append(ClauseMatch(clause, self.names[best], float(score[best]),
                                           action.criticality.value, action.mutates,
                                           closest))
            else:
                matches.append(ClauseMatch(clause, None, float(score[best]), None, None,
                                           closest))
        return IntentPlan(text, tuple(matches))
