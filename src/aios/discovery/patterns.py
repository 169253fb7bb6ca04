"""The deterministic claim extractor: relation phrases between the entities of a sentence.

How it reads one sentence:

1. **Mentions**: runs of capitalised words ("Alder Institute of Technology", "Gull-7"),
   and years. A capitalised word that only ever starts sentences ("Salmon", "Today") is
   not a name; leading function words ("The", "In") are dropped. "He", "She", "It" and
   "The company" at the start of a sentence stand for the document's title entity.
2. **Relations**: the text between two consecutive mentions is matched, at its end, against
   the phrases of `aios.discovery.relations` ("was founded by", "based in", ...). The subject
   is the left mention when only auxiliaries precede the phrase ("has been the chief
   executive of"), else the sentence's subject ("... and released in 1997"). "and" after
   an object repeats the relation for the next mention ("founded by A and B"); "in YEAR"
   after `founded_by` adds `founded_in`.
3. **`is_a`**: "X is a <lower-case noun phrase>" gives `is_a(X, noun phrase)`.
4. **Fallback**: a short verb phrase (1-3 words, led by a verb-like word) between two
   names becomes a free-text relation with low confidence.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from aios.discovery.corpus import Passage, sentences
from aios.discovery.extract import (
    Claim,
    DocContext,
    Extraction,
    Extractor,
    ExtractorDeps,
    Provenance,
    extractor,
)
from aios.discovery.relations import RELATIONS, canonical_relation, relation_spec

__all__ = ["Mention", "PatternExtractor", "mentions"]

_TOKEN = r"[A-Z][\w\-]*(?:['\u2019][A-Za-z]+)?"
_NAME = re.compile(rf"{_TOKEN}(?:(?:\s+(?:of|de|du|van|von|&)\s+|\s+){_TOKEN})*")
_YEAR = re.compile(r"\b(?:1[6-9]\d\d|20\d\d)\b")
_FUNCTION = frozenset(["The", "A", "An", "In", "On", "At", "By", "For", "From", "To", "Of", "With",
                       "After", "Before", "During", "Since", "Until", "When", "While", "Where",
                       "Why", "How", "What", "Which", "Who", "This", "That", "These", "Those",
                       "Its", "His", "Her", "Their", "Our", "My", "Your", "It", "He", "She", "They",
                       "We", "I", "There", "Today", "Now", "Then", "Later", "Also", "But", "And",
                       "Or", "So", "Yet", "Although", "Though", "Because", "As", "If", "Once",
                       "One", "Two", "Three", "Four", "Five", "Several", "Many", "Most", "Some",
                       "All", "Every", "Each", "No", "Not", "Here", "Both", "Between", "Among",
                       "Under", "Over", "Around"])
_PRONOUN = re.compile(r"(?:He|She|It|They|The (?:company|firm|laboratory|lab|foundry|city|"
                      r"town|institute|university|cooperative|club|system|service|drone|"
                      r"processor|chip|compiler|database|festival|river|business))\b(?!['\u2019])")
_CONNECTORS = frozenset({"of", "de", "du", "van", "von", "&"})
_AUX = frozenset(["is", "was", "are", "were", "has", "have", "had", "been", "being", "also",
                  "later", "now", "still", "originally", "first", "then", "currently", "who",
                  "which", "jointly"])
_STOPGAP = frozenset(["a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with",
                      "and", "or", "as", "into", "onto"])
_IRREGULAR = frozenset(["became", "met", "led", "ran", "left", "won", "made", "built", "wrote",
                        "bought", "sold", "grew", "took", "gave", "began", "joined", "moved",
                        "hired"])
_ISA = re.compile(r"^\s*(?:is|was)\s+(?:a|an)\s+([a-z][a-z\-]*(?:\s+[a-z][a-z\-]*){0,3}?)"
                  r"(?=\s+(?:based|headquartered|located|in|on|at|for|with|that|which|who|from"
                  r"|of|used|known|made|held|and|by|to|since|near)\b|\s*[,.;:]|\s*$)")


@dataclass(frozen=True)
class Mention:
    """A name, a year, or a pronoun standing for the document's title entity."""

    start: int
    end: int
    text: str
    kind: str  # "name" | "year" | "topic"


def _clean(name: str) -> str:
    return re.sub(r"['\u2019]s$", "", name).strip()


def _known_words(context: DocContext) -> frozenset[str]:
    """Capitalised words the document uses in mid-sentence (so they are names) or in its title."""
    words = set(re.findall(r"[A-Z][\w\-]*", context.title))
    for start, end in sentences(context.text):
        sentence = context.text[start:end]
        lead = re.match(r"[#\s\"'(]*\S+", sentence)
        for match in re.finditer(r"[A-Z][\w\-]*", sentence):
            if lead is None or match.start() >= lead.end():
                words.add(match.group(0))
    return frozenset(words)


def _topic(context: DocContext) -> str | None:
    title = re.sub(r"^(?:The|A|An)\s+", "", context.title.strip())
    match = _NAME.fullmatch(title)
    return _clean(title) if match else None


def mentions(sentence: str, known: frozenset[str], topic: str | None) -> list[Mention]:
    """The mentions of `sentence`, in order (see the module docstring, step 1)."""
    lead = len(sentence) - len(sentence.lstrip("# \t\"'("))
    found: list[Mention] = []
    pronoun = _PRONOUN.match(sentence, lead)
    if pronoun and topic:
        found.append(Mention(pronoun.start(), pronoun.end(), topic, "topic"))
    for match in _NAME.finditer(sentence):
        tokens = [(match.start() + t.start(), t.group(0))
                  for t in re.finditer(r"\S+", match.group(0))]
        stripped = False
        if match.start() == lead:
            while tokens and tokens[0][1] in _FUNCTION:
                tokens.pop(0)
                stripped = True
        while tokens and tokens[-1][1] in _CONNECTORS:
            tokens.pop()
        if not tokens or (len(tokens) == 1 and tokens[0][1] in _FUNCTION):
            continue
        if (match.start() == lead and not stripped and len(tokens) == 1
                and _clean(tokens[0][1]) not in known):
            continue  # a capitalised common word that only ever starts a sentence
        start, end = tokens[0][0], tokens[-1][0] + len(tokens[-1][1])
        if found and found[0].kind == "topic" and start < found[0].end:
            continue
        found.append(Mention(start, end, _clean(sentence[start:end]), "name"))
    for match in _YEAR.finditer(sentence):
        found.append(Mention(match.start(), match.end(), match.group(0), "year"))
    return sorted(found, key=lambda m: m.start)


def _phrase_regex(functional_year: bool) -> re.Pattern[str]:
    phrases: list[str] = []
    for spec in RELATIONS:
        if spec.name == "is_a" or (spec.name in ("founded_in", "released_in")) != \
                functional_year:
            continue
        phrases += [*spec.active, *spec.passive]
    alternation = "|".join(re.escape(p) for p in sorted(set(phrases), key=len, reverse=True))
    return re.compile(rf"(?:^|\s)({alternation})$")


_NAME_PHRASES = _phrase_regex(False)
_YEAR_PHRASES = _phrase_regex(True)


def _gap(text: str) -> str:
    text = re.sub(r"[\s]+", " ", text.lower()).strip(" ,;:")
    return re.sub(r"(?:^|\s)(?:the|a|an)$", "", text).strip()


@dataclass
class _Emitted:
    subject: str
    relation: str
    object: str
    object_kind: str
    confidence: float
    surface: str


class PatternExtractor:
    """Sentence-level relation patterns (see the module docstring). Free and deterministic."""

    name = "pattern"

    def __init__(self) -> None:
        self._known: dict[tuple[str, int], frozenset[str]] = {}

    async def extract(self, passage: Passage, context: DocContext) -> Extraction:
        """The claims of every sentence of `passage`."""
        key = (context.title, hash(context.text))
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = _known_words(context)
        topic = _topic(context)
        claims = []
        for start, end in sentences(passage.text, passage.start):
            sentence = passage.text[start - passage.start:end - passage.start]
            for found in self._sentence(sentence, known, topic):
                claims.append(Claim(
                    found.subject, found.relation, found.object, found.confidence,
                    Provenance(kind="passage", extractor=self.name, doc_id=passage.doc_id,
                               doc_hash=passage.doc_hash, passage_id=passage.id, start=start,
                               end=end, quote=sentence),
                    surface=found.surface))
        return Extraction(tuple(claims))

    def _sentence(self, sentence: str, known: frozenset[str],
                  topic: str | None) -> Iterator[_Emitted]:
        found = mentions(sentence, known, topic)
        names = [m for m in found if m.kind != "year"]
        if not names:
            return
        head = names[0]
        pronoun = 0.85 if head.kind == "topic" else 1.0
        before = re.sub(r"[#\s\"'(]+", " ", sentence[:head.start]).split()
        isa = (_ISA.match(sentence[head.end:])
               if all(word in _FUNCTION for word in before) else None)
        if isa:
            noun = " ".join(isa.group(1).split())
            yield _Emitted(head.text, "is_a", noun, "class", 0.75 * pronoun, "is a")
        last: _Emitted | None = None
        for left, right in itertools.pairwise(found):
            raw = sentence[left.end:right.start]
            emitted = self._pair(head if left.kind == "year" else left, right, _gap(raw),
                                 head, last, coordinated=raw.strip() in (",", "and", ", and"))
            for item in emitted:
                if head.kind == "topic" and item.subject == head.text:
                    item.confidence *= pronoun
                yield item
                if item.object_kind != "year":
                    last = item

    def _pair(self, left: Mention, right: Mention, gap: str, head: Mention,
              last: _Emitted | None, *, coordinated: bool) -> list[_Emitted]:
        if right.kind == "year":
            match = _YEAR_PHRASES.search(gap)
            if match:
                subject = left if self._adjacent(gap, match) else head
                relation = canonical_relation(match.group(1))
                if relation:
                    return [_Emitted(subject.text, relation[0], right.text, "year", 0.75,
                                     match.group(1))]
            spec = relation_spec(last.relation) if last else None
            if last and spec and spec.year_relation and gap in ("in", "in the year"):
                return [_Emitted(last.subject, spec.year_relation, right.text, "year", 0.7,
                                 f"{last.surface} ... in")]
            return []
        if coordinated and last is not None and last.object == left.text:
            return [_Emitted(last.subject, last.relation, right.text, "name",
                             last.confidence * 0.9, last.surface)]
        match = _NAME_PHRASES.search(gap)
        if match:
            relation = canonical_relation(match.group(1))
            if relation:
                adjacent = self._adjacent(gap, match)
                subject = left if adjacent else head
                if subject is right:
                    return []
                a, b = (right.text, subject.text) if relation[1] else (subject.text, right.text)
                return [_Emitted(a, relation[0], b, "name", 0.8 if adjacent else 0.65,
                                 match.group(1))]
        words = gap.split()
        if (1 <= len(words) <= 3 and all(w.isalpha() for w in words)
                and any(w not in _STOPGAP and w not in _AUX for w in words)
                and (words[0].endswith(("ed", "es", "s")) or words[0] in _IRREGULAR)
                and words[0] not in _AUX):
            name = "_".join(w for w in words if w not in _AUX and w not in {"the", "a", "an"})
            return [_Emitted(left.text, name, right.text, "name", 0.35, gap)]
        return []

    @staticmethod
    def _adjacent(gap: str, match: re.Match[str]) -> bool:
        prefix = gap[:match.start(1)].split()
        return all(word in _AUX for word in prefix)


@extractor("pattern")
def _pattern_extractor(deps: ExtractorDeps) -> Extractor:
    return PatternExtractor()
