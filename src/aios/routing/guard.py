"""The semantic-hit guard: two similar prompts must also agree on the words that flip a meaning.

Embeddings score "turn on the firewall" and "turn off the firewall" at 0.96, so similarity
alone would serve one's answer for the other. Before a semantic hit is served, both prompts
are normalised and compared on:

* negation: both negated or neither (not, no, never, n't, without, ...);
* antonyms: one side has a word of a pair (on/off, enable/disable, allow/deny, ...) whose
  opposite is on the other side only;
* numbers: the same set of numbers (``1,000`` = ``1000``, ``4.50`` = ``4.5``);
* named entities: every capitalised name, acronym or version of one prompt appears in the
  other (``Safeway`` vs ``Kroger``, ``v2`` vs ``v3``).

Any disagreement refuses the hit (the request goes to the model); the rules err towards
refusing, because a wrong cached answer costs more than a model call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["ANTONYM_PAIRS", "NEGATIONS", "TextFacts", "conflict", "facts"]

NEGATIONS = frozenset({
    "not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere",
    "without", "cannot", "cant", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt",
    "werent", "wont", "wouldnt", "shouldnt", "couldnt", "hasnt", "havent", "hadnt",
})

#: Opposites: a prompt with one side and its twin with the other side are different requests.
ANTONYM_PAIRS = (
    ("on", "off"), ("enable", "disable"), ("allow", "deny"), ("allow", "block"),
    ("start", "stop"), ("open", "close"), ("add", "remove"), ("add", "delete"),
    ("create", "delete"), ("create", "destroy"), ("increase", "decrease"),
    ("before", "after"), ("up", "down"), ("in", "out"), ("true", "false"),
    ("yes", "no"), ("accept", "reject"), ("accept", "drop"), ("max", "min"),
    ("maximum", "minimum"), ("more", "less"), ("most", "least"), ("higher", "lower"),
    ("above", "below"), ("first", "last"), ("lock", "unlock"), ("install", "uninstall"),
    ("include", "exclude"), ("mount", "unmount"), ("encrypt", "decrypt"),
    ("import", "export"), ("upload", "download"), ("push", "pull"), ("buy", "sell"),
    ("win", "lose"), ("rise", "fall"), ("positive", "negative"), ("grant", "revoke"),
    ("connect", "disconnect"), ("attach", "detach"), ("show", "hide"), ("read", "write"),
    ("input", "output"), ("inbound", "outbound"), ("ingress", "egress"),
    ("internal", "external"), ("public", "private"), ("left", "right"), ("old", "new"),
    ("oldest", "newest"),
    ("largest", "smallest"), ("fastest", "slowest"), ("best", "worst"), ("good", "bad"),
    ("success", "failure"), ("pass", "fail"), ("valid", "invalid"), ("legal", "illegal"),
    ("synchronous", "asynchronous"), ("sync", "async"), ("encode", "decode"),
    ("compress", "decompress"), ("freeze", "unfreeze"), ("pause", "resume"),
    ("suspend", "resume"), ("ascending", "descending"),
)

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_](?:[\w'\u2019.-]*\w)?", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?:;\n]\s*$")


def _inflections(word: str) -> set[str]:
    forms = {word, word + "s", word + "es", word + "ed", word + "ing", word + "d"}
    if word.endswith("e"):
        forms |= {word[:-1] + "ing", word + "d"}
    if len(word) <= 4 and word[-1] not in "aeiouwy" and word[-2:-1] in set("aeiou"):
        forms |= {word + word[-1] + "ed", word + word[-1] + "ing"}  # stop -> stopped
    return forms


def _antonym_index() -> dict[str, set[tuple[int, int]]]:
    index: dict[str, set[tuple[int, int]]] = {}
    for pair_id, pair in enumerate(ANTONYM_PAIRS):
        for side, word in enumerate(pair):
            # Short function words (on, in, up ...) are taken as written; verbs inflect.
            forms = {word} if len(word) <= 3 else _inflections(word)
            for form in forms:
                index.setdefault(form, set()).add((pair_id, side))
    return index


_ANTONYMS = _antonym_index()


@dataclass(frozen=True)
class TextFacts:
    """The normalised words of a prompt that must agree between a prompt and its twin."""

    words: frozenset[str]
    negated: bool
    numbers: frozenset[str]
    entities: frozenset[str]
    polar: frozenset[tuple[int, int]]


def _number(token: str) -> str:
    text = token.replace(",", "")
    if "." in text:
        text = text.rstrip("0").rstrip(".") or "0"
    return text.lstrip("0") or "0"


@lru_cache(maxsize=8192)
def facts(text: str) -> TextFacts:
    """Normalise `text` into the facts `conflict` compares (cached: prompts repeat)."""
    words: set[str] = set()
    numbers: set[str] = set()
    entities: set[str] = set()
    polar: set[tuple[int, int]] = set()
    negated = False
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        lower = token.lower().replace("\u2019", "'")
        if token[0].isdigit():
            numbers.add(_number(token))
            continue
        bare = lower.replace("'", "")
        word = lower.rstrip(".")
        words.update((word, word.removesuffix("'s")))
        if bare in NEGATIONS or lower.endswith("n't"):
            negated = True
        polar |= _ANTONYMS.get(bare, set())
        starts_sentence = match.start() == 0 or bool(
            _SENTENCE_END.search(text[max(0, match.start() - 3):match.start()]))
        inner_caps = any(ch.isupper() for ch in token[1:])
        has_digit = any(ch.isdigit() for ch in token)
        if inner_caps or has_digit or (token[0].isupper() and not starts_sentence):
            entities.add(word.removesuffix("'s"))
    return TextFacts(frozenset(words), negated, frozenset(numbers), frozenset(entities),
                     frozenset(polar))


def conflict(a: str, b: str) -> str | None:
    """Why `a` and `b` must not share an answer, or None when nothing disagrees."""
    fa, fb = facts(a), facts(b)
    if fa.negated != fb.negated:
        return "negation differs"
    if fa.numbers != fb.numbers:
        return "numbers differ"
    for pair_id, side in fa.polar:
        if (pair_id, 1 - side) in fb.polar and (pair_id, 1 - side) not in fa.polar \
                and (pair_id, side) not in fb.polar:
            first, second = ANTONYM_PAIRS[pair_id]
            return f"opposites differ ({first}/{second})"
    missing = [e for e in fa.entities if e not in fb.words] + \
        [e for e in fb.entities if e not in fa.words]
    if missing:
        return f"names differ ({', '.join(sorted(missing)[:3])})"
    return None
