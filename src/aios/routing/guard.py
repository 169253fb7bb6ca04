"""The semantic-hit guard: a similar prompt must agree on the facts before its answer is served.

Embeddings score "turn on the firewall" and "turn off the firewall" at 0.96, and two news
sentences about the same event but with different figures or an added clause at 0.9, so
similarity alone would serve one's answer for the other. Before a semantic hit is served,
both prompts are normalised (`facts`) and compared in two steps.

Hard rules (`conflict`): any disagreement refuses the hit.

* negation: both negated or neither (not, no, never, n't, without, absence, non-...);
* opposites: one side has a word of a pair (on/off, enable/disable, today/tomorrow, ...)
  whose opposite is on the other side only;
* numbers: the same set of quantities, digits or words (``1,000`` = ``1000``,
  ``one hundred`` = ``100``; ``$2.5 billion`` != ``$1.8 billion``, ``two daughters`` !=
  ``daughters``);
* named entities: every capitalised name, acronym, version or dotted identifier of one prompt
  appears in the other (``Safeway`` vs ``Kroger``, ``v2`` vs ``v3``, ``t.one`` vs ``t.two``;
  ``pkg.Name`` matches ``Name`` of ``pkg``).

Content agreement (`match`): the cosine is adjusted for the content words (not function
words; compared by a light stem) that only one prompt has. A paraphrase swaps words for
related words ("use" / "utilize"); a different request adds words ("... and clear its logs")
or swaps in unrelated ones ("spend the weekend" / "declined to elaborate"). So:

* swapped words pair up, best first, when their word cosine reaches `PAIR_SIMILARITY`;
* each word left without a partner costs 1/n (`WORD_WEIGHT` / n, n the prompts' mean length
  in words: what one word weighs in a mean-pooled embedding); a word one prompt has beyond
  the other's count costs again, as it adds to the request rather than rewording it;
* the swapped words' mean vectors are compared: `SWAP_WEIGHT` times their cosine is added
  (about 0 for unrelated swaps, 0.3-0.7 for rewordings);
* a lone replaced word ("start" / "restart" the container) must be a synonym
  (`SYNONYM_SIMILARITY`): otherwise both words are unmatched, with no swap credit.

The cache serves the most similar candidate whose adjusted score reaches the namespace's
threshold. The rules err towards refusing, because a wrong cached answer costs more than a
model call. ``bench/gateway.py`` (section 3) reports what they buy on held-out data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import numpy as np

__all__ = ["ANTONYM_PAIRS", "NEGATIONS", "PAIR_SIMILARITY", "STOPWORDS", "SWAP_WEIGHT",
           "SYNONYM_SIMILARITY", "WORD_WEIGHT", "Match", "TextFacts", "WordVectors", "conflict",
           "conflict_facts", "differing_words", "facts", "match", "match_facts"]


def _words(text: str) -> list[str]:
    return text.split()


NEGATIONS = frozenset({
    "not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere",
    "without", "cannot", "cant", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt",
    "werent", "wont", "wouldnt", "shouldnt", "couldnt", "hasnt", "havent", "hadnt",
    # Absence is negation too: "in the absence of a script" = "if there is no script".
    "absence", "absent", "lack", "lacks", "lacked", "lacking",
})

#: Prefixes of hyphenated words that negate them: "non-streaming" = "without streaming".
NEGATING_PREFIXES = ("non-", "no-")

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
    ("suspend", "resume"), ("ascending", "descending"), ("even", "odd"),
    ("yesterday", "today"), ("today", "tomorrow"), ("yesterday", "tomorrow"),
)

#: English function words: they carry grammar, not the facts a prompt asks about, so the
#: content comparison ignores them (negations and antonyms have rules of their own).
STOPWORDS = frozenset(_words("""
a an the and or but if then else so because as than that this these those there here
of to in on at by for with from into onto over under about between through during after
before above below up down out off around across along among against within upon via per
it its it's itself is are was were be been being am do does did done doing have has had
having i i'm i've i'd me my mine myself we we're our ours us you you're your yours he
he's him his she she's her hers they they're them their theirs what what's which who
who's whom whose where where's when when's why why's how how's can could may might must
shall should will would also just only very too quite rather really even still yet
more most some any all each every both either other another such same own much many few
lot lots one ones etc e.g i.e let let's please yes however thus therefore hence instead
while whereas although though whether unless until since whenever wherever nevertheless
"""))

#: What a content word without a counterpart costs, in cosine, times the prompts' length in
#: words: a mean-pooled embedding of n words moves by about 1/n per word, so an unmatched word
#: costs 1/n (0.05 in a 20-word sentence, 0.2 in "how do I use docker?").
WORD_WEIGHT = 1.0

#: Weight of the cosine between the mean vector of the words only one prompt has and that of
#: the words only the other has (no credit when a side has none, or for a lone replaced
#: word). A logistic fit on the calibration half of bench/gateway.py section 3 put it at
#: 0.6-0.85 of the cosine's weight (per-word cost 0.04-0.10 there); 0.5 is the rounded,
#: conservative value.
SWAP_WEIGHT = 0.5

#: Two words are related when their cosine is above what 95% of random pairs of vocabulary
#: words reach (WordLlama: 7,758 whole-word tokens of its tokenizer, 200,000 random pairs:
#: median 0.00, 90th percentile 0.10, 95th 0.13).
PAIR_SIMILARITY = 0.13

#: Word cosine from which a lone replaced word counts as a synonym: well above chance (99th
#: percentile of random vocabulary pairs: 0.20) and above related non-synonyms (today/
#: tomorrow 0.36, start/restart 0.40, Monday/Tuesday 0.38); delete/remove 0.68, big/large
#: 0.74, create/make 0.58.
SYNONYM_SIMILARITY = 0.5

#: Unit vectors of words, one row per word (an embedding service provides them).
WordVectors = Callable[[Sequence[str]], np.ndarray]

_UNITS = {word: n for n, word in enumerate(_words(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"))}
_TENS = {word: 10 * n for n, word in enumerate(
    _words("twenty thirty forty fifty sixty seventy eighty ninety"), start=2)}
_SCALES = {"hundred": 100, "thousand": 10**3, "million": 10**6, "billion": 10**9,
           "trillion": 10**12}

_NUMBER_WORDS = frozenset({*_UNITS, *_TENS, *_SCALES})

_TOKEN = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)*"
                    r"|[^\W\d_](?:[\w'\u2019.-]*\w)?", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?:;\n]\s*$")
_PARTS = re.compile(r"[-.]")
_DIGIT = re.compile(r"\d")


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

#: Inflectional and common derivational endings, longest first, with the shortest stem each
#: may leave ("used" -> "us" like "use" -> "us"; "ring" stays "ring").
_SUFFIXES = (("ations", 3), ("ation", 3), ("ments", 3), ("ment", 3), ("ings", 2), ("ing", 2),
             ("ions", 3), ("ion", 3), ("edly", 3), ("ies", 2), ("ied", 2), ("es", 2),
             ("ed", 2), ("ly", 3), ("s", 2))

_REPLACE = {"ies": "y", "ied": "y", "ation": "at", "ations": "at"}  # creation -> creat(e)


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A light stem, so inflections pair up: use/uses/used/using, stop/stopped, study/studies."""
    for suffix, shortest in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= shortest:
            word = word[:-len(suffix)] + _REPLACE.get(suffix, "")
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]  # stopped -> stopp -> stop
    if len(word) > 2 and word.endswith("e"):
        word = word[:-1]  # use -> us, like used -> us
    return word


@dataclass(frozen=True, slots=True)
class TextFacts:
    """The normalised words of a prompt that must agree between a prompt and its twin.

    The cache keeps one per entry, so it is built of strings and tuples of strings, which
    the garbage collector stops tracking: 100,000 entries add no collection time.

    Attributes:
        words: every lower-cased word, each between NUL characters (``in`` tests).
        negated: a negation word or prefix occurs.
        numbers: the quantities, normalised, sorted.
        entities: names, acronyms and versions (lower-cased).
        polar: antonym-pair sides present, as ``pair * 2 + side``, sorted.
        content: stems of the content words, sorted.
        forms: the first surface form of each stem in `content`.
        length: number of words and numbers.
        directed: what goes where, as ``source\0target`` stems of the content words on each
            side of "to", "into" or "onto" ("string to integer"), sorted.
    """

    words: str
    negated: bool
    numbers: tuple[str, ...]
    entities: tuple[str, ...]
    polar: tuple[int, ...]
    content: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    length: int = 0
    directed: tuple[str, ...] = ()


def _decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _digits(token: str) -> Decimal | str:
    """A numeral as a value; versions (``2.10.0``) stay text."""
    text = token.replace(",", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


class _Numbers:
    """Collects the quantities of a text, joining numerals and number words into values."""

    def __init__(self) -> None:
        self.found: set[str] = set()
        self._value: Decimal | None = None
        self._words: list[str] = []

    def digits(self, token: str) -> None:
        self.flush()
        value = _digits(token)
        if isinstance(value, str):
            self.found.add(value)
        else:
            self._value, self._words = value, [token]

    def word(self, word: str) -> bool:
        """Take a number word (True) or refuse it (False: the current number ends)."""
        if word in _SCALES:
            if self._value is None:
                return False  # "thousands of ...", "a million": no quantity stated
            self._value *= _SCALES[word]
        elif word in _UNITS or word in _TENS:
            unit = _UNITS.get(word, _TENS.get(word, 0))
            if self._value is not None and self._words and self._words[-1] in _TENS \
                    and unit < 10:
                self._value += unit  # twenty one
            else:
                self.flush()
                self._value = Decimal(unit)
        else:
            return False
        self._words.append(word)
        return True

    def flush(self) -> None:
        # "one" alone is mostly a pronoun ("the one we wanted"); "one hundred" is a number.
        if self._value is not None and self._words != ["one"]:
            self.found.add(_decimal_text(self._value))
        self._value, self._words = None, []


#: Words whose two sides say which way something goes: "convert a string to an integer" and
#: "convert an integer to a string" hold the same words but ask opposite things.
_DIRECTIONS = frozenset({"to", "into", "onto"})


def _content(token: str) -> list[str]:
    return [part for part in _PARTS.split(token)
            if len(part) > 1 and part not in STOPWORDS and part not in NEGATIONS
            and part not in _NUMBER_WORDS and not part.endswith("n't")]


@lru_cache(maxsize=65536)
def _lexeme(lower: str) -> tuple[str, str, bool, tuple[int, ...], tuple[tuple[str, str], ...]]:
    """What a lower-cased word token contributes: (word, word without 's, negates, antonym
    codes, (stem, form) of its content parts). Cached: words repeat across prompts."""
    bare = lower.replace("'", "")
    word = lower.rstrip(".")
    base = word.removesuffix("'s")
    negates = bare in NEGATIONS or lower.endswith("n't") or lower.startswith(NEGATING_PREFIXES)
    polar = tuple(pair * 2 + side for pair, side in _ANTONYMS.get(bare, ()))
    return word, base, negates, polar, tuple((_stem(part), part) for part in _content(base))


def _starts_sentence(text: str, start: int) -> bool:
    return start == 0 or bool(_SENTENCE_END.search(text[max(0, start - 3):start]))


@lru_cache(maxsize=8192)
def facts(text: str) -> TextFacts:
    """Normalise `text` into the facts `conflict` compares (cached: prompts repeat)."""
    words: set[str] = set()
    entities: set[str] = set()
    polar: set[int] = set()
    forms: dict[str, str] = {}
    numbers = _Numbers()
    negated = False
    length = 0
    directed: set[str] = set()
    last: str | None = None  # the stem of the latest content word
    source: str | None = None  # the content word before a direction word, until its target
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        length += 1
        if token[0].isdigit():
            numbers.digits(token)
            continue
        lower = token.lower()
        if "\u2019" in lower:
            lower = lower.replace("\u2019", "'")
        if lower.split("-", 1)[0] in _NUMBER_WORDS and all(
                numbers.word(part) for part in lower.split("-")):
            continue  # a number word is a quantity: the numbers rule compares it
        numbers.flush()
        word, base, negates, codes, content = _lexeme(lower)
        words.add(word)
        words.add(base)
        if "." in word:  # a qualified name: "datasets.Audio" also names "audio"
            words.update(word.split("."))
        negated = negated or negates
        polar.update(codes)
        if word in _DIRECTIONS:
            source = last
        for stem, form in content:
            forms.setdefault(stem, form)
            if source is not None:
                if stem != source:
                    directed.add(f"{source}\0{stem}")
                source = None
            last = stem
        rest = token[1:]
        if rest != rest.lower() or (not token.isalpha() and _DIGIT.search(token)) or (
                token[0].isupper() and base not in STOPWORDS  # "I", a title's "The"
                and not _starts_sentence(text, match.start())) or (
                "." in word and base not in STOPWORDS):
            entities.add(base)  # a name, acronym, version or dotted identifier (t.one)
    numbers.flush()
    stems = tuple(sorted(forms))
    return TextFacts("\0" + "\0".join(sorted(words)) + "\0", negated,
                     tuple(sorted(numbers.found)), tuple(sorted(entities)),
                     tuple(sorted(polar)), stems, tuple(forms[stem] for stem in stems), length,
                     tuple(sorted(directed)))


def _named_in(entity: str, words: str) -> bool:
    if f"\0{entity}\0" in words:
        return True
    return "." in entity and all(f"\0{part}\0" in words for part in entity.split(".") if part)


def _pairs(sims: np.ndarray) -> list[tuple[int, int]]:
    """Rows and columns paired best first, each used once, at PAIR_SIMILARITY or above."""
    rows, cols = sims.shape
    used_rows: set[int] = set()
    used_cols: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for index in np.argsort(sims, axis=None)[::-1].tolist():
        row, col = divmod(index, cols)
        if sims[row, col] < PAIR_SIMILARITY or len(pairs) == min(rows, cols):
            break
        if row not in used_rows and col not in used_cols:
            used_rows.add(row)
            used_cols.add(col)
            pairs.append((row, col))
    return pairs


def conflict_facts(fa: TextFacts, fb: TextFacts) -> str | None:
    """`conflict` on facts already extracted (the cache keeps the facts of its entries)."""
    if fa.negated != fb.negated:
        return "negation differs"
    if fa.numbers != fb.numbers:
        return "numbers differ"
    if fa.polar != fb.polar:
        for code in fa.polar:
            opposite = code ^ 1  # the other side of the same pair
            if opposite in fb.polar and opposite not in fa.polar and code not in fb.polar:
                first, second = ANTONYM_PAIRS[code // 2]
                return f"opposites differ ({first}/{second})"
    missing = [e for e in fa.entities if not _named_in(e, fb.words)] + \
        [e for e in fb.entities if not _named_in(e, fa.words)]
    if missing:
        return f"names differ ({', '.join(sorted(missing)[:3])})"
    for pair in fa.directed:
        first, _, second = pair.partition("\0")
        reverse = f"{second}\0{first}"
        if reverse in fb.directed and pair not in fb.directed:
            return f"direction differs ({first} to {second})"
    return None


def conflict(a: str, b: str) -> str | None:
    """Why `a` and `b` must not share an answer (a hard rule), or None."""
    return conflict_facts(facts(a), facts(b))


@dataclass(frozen=True)
class Match:
    """How well a cached prompt answers a new one.

    Attributes:
        score: the cosine adjusted for the content words the prompts do not share.
        reason: why they must not share an answer (a hard rule), or None.
        unmatched: content words without a counterpart (extra plus unrelated swaps).
    """

    score: float
    reason: str | None = None
    unmatched: tuple[str, ...] = ()


def differing_words(fa: TextFacts, fb: TextFacts) -> tuple[list[str], list[str]]:
    """The content words (as written) that only `fa`, and only `fb`, has."""
    in_a, in_b = set(fa.content), set(fb.content)
    return ([form for stem, form in zip(fa.content, fa.forms, strict=True) if stem not in in_b],
            [form for stem, form in zip(fb.content, fb.forms, strict=True) if stem not in in_a])


def match_facts(fa: TextFacts, fb: TextFacts, cosine: float,
                vectors: WordVectors | None = None) -> Match:
    """`match` on facts already extracted."""
    reason = conflict_facts(fa, fb)
    if reason is not None:
        return Match(-1.0, reason)
    if fa.content == fb.content:
        return Match(cosine)
    only_a, only_b = differing_words(fa, fb)
    pairs: list[tuple[int, int]] = []
    swap = 0.0
    if only_a and only_b and vectors is not None:
        matrix = vectors(only_a + only_b)
        va, vb = matrix[:len(only_a)], matrix[len(only_a):]
        sims = va @ vb.T
        pairs = _pairs(sims)
        if len(only_a) == len(only_b) == 1:
            # One word replaced, all else equal: "start" / "restart" the container, the
            # weather "today" / "tomorrow". Only a synonym keeps the request; anything else
            # leaves both words unmatched, and one word is the whole difference, so the
            # swapped words' mean says nothing more.
            pairs = pairs if sims[0, 0] >= SYNONYM_SIMILARITY else []
        else:
            mean_a, mean_b = va.sum(axis=0), vb.sum(axis=0)
            norms = float(mean_a @ mean_a) * float(mean_b @ mean_b)
            swap = float(mean_a @ mean_b) / math.sqrt(norms) if norms > 0 else 0.0
    paired_a, paired_b = {i for i, _ in pairs}, {j for _, j in pairs}
    unmatched = [w for i, w in enumerate(only_a) if i not in paired_a] + \
        [w for j, w in enumerate(only_b) if j not in paired_b]
    # Unmatched: the longer side's words without a related partner (both words of a lone
    # non-synonym replacement); an added word counts twice: it is unmatched, and it adds
    # to the request rather than rewording it. A word is ~1/n of a mean-pooled prompt.
    lone = len(only_a) == len(only_b) == 1
    missing = len(unmatched) if lone else max(len(only_a), len(only_b)) - len(pairs)
    extra = abs(len(only_a) - len(only_b))
    per_word = WORD_WEIGHT / max((fa.length + fb.length) / 2, 1.0)
    score = cosine + SWAP_WEIGHT * swap - per_word * (missing + extra)
    return Match(score, None, tuple(unmatched))


def match(a: str, b: str, cosine: float, vectors: WordVectors | None = None) -> Match:
    """Score prompt `b` against cached prompt `a` whose embeddings have `cosine`.

    Args:
        a: one prompt.
        b: the other.
        cosine: the cosine of their embeddings.
        vectors: word vectors (`EmbeddingService.embed`); without them, replaced words
            count as unmatched.
    """
    return match_facts(facts(a), facts(b), cosine, vectors)
