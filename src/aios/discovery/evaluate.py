"""Scoring discovered claims against a gold list of facts.

A claim matches a gold fact when

- its subject and its object equal the fact's after `normalise` (case, punctuation, leading
  articles and company suffixes ignored: "the Gull-7" = "Gull-7"); the graph's entity
  merging has already mapped "Varga" to "Ilse Varga", so the graph's canonical names are
  what is compared; and
- its relation is the fact's relation or in the same synonym group
  (`aios.discovery.relations.equivalent`: `headquartered_in` ~ `located_in`,
  `developed` ~ `manufactures`); `partnered_with` matches in either direction.

Precision is the share of claims that match some gold fact; recall is the share of gold
facts matched by some claim. When the gold list holds every fact the corpus states,
precision is meaningful; otherwise it is a lower bound.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aios.discovery.graph import normalise
from aios.discovery.relations import equivalent
from aios.errors import ConfigError, NotFoundError

__all__ = ["GoldFact", "Score", "load_gold", "match_claims"]

_SYMMETRIC = frozenset({"partnered_with"})


@dataclass(frozen=True)
class GoldFact:
    """One expected fact."""

    subject: str
    relation: str
    object: str
    source: str = ""
    topic: str = ""


@dataclass(frozen=True)
class Score:
    """Precision and recall of a set of claims against a gold list."""

    claims: int
    matched_claims: int
    gold: int
    recalled: int

    @property
    def precision(self) -> float:
        """Matched claims / claims (0 without claims)."""
        return self.matched_claims / self.claims if self.claims else 0.0

    @property
    def recall(self) -> float:
        """Gold facts found / gold facts."""
        return self.recalled / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_gold(path: Path) -> list[GoldFact]:
    """Read a JSON-lines gold file (`subject`, `relation`, `object`; optional `source`, the
    document stating it, and `topic`, to score a subset).

    Raises:
        NotFoundError: no such file. ConfigError: a line is not a fact (file:line given).
    """
    if not path.exists():
        raise NotFoundError(f"gold file {path} does not exist")
    facts = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            facts.append(GoldFact(str(row["subject"]), str(row["relation"]),
                                  str(row["object"]), str(row.get("source", "")),
                                  str(row.get("topic", ""))))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{number}: not a gold fact ({exc}); each line must be "
                              'a JSON object with "subject", "relation" and "object"') from exc
    return facts


def _matches(claim: tuple[str, str, str], fact: GoldFact) -> bool:
    subject, relation, obj = claim
    if not equivalent(relation, fact.relation):
        return False
    pairs = [(subject, obj)]
    if fact.relation in _SYMMETRIC:
        pairs.append((obj, subject))
    return any(normalise(a) == normalise(fact.subject) and normalise(b) == normalise(fact.object)
               for a, b in pairs)


def match_claims(claims: Iterable[Mapping[str, Any] | tuple[str, str, str]],
                 gold: list[GoldFact]) -> Score:
    """Score `claims` (dicts with subject/relation/object, or triples) against `gold`."""
    triples = [(c["subject"], c["relation"], c["object"]) if isinstance(c, Mapping)
               else (c[0], c[1], c[2]) for c in claims]
    recalled = set()
    matched = 0
    for triple in triples:
        hits = [i for i, fact in enumerate(gold) if _matches(triple, fact)]
        matched += bool(hits)
        recalled.update(hits)
    return Score(len(triples), matched, len(gold), len(recalled))
