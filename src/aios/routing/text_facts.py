"""What the guard compares: a prompt normalised into its `TextFacts` (`facts`).

A prompt's words are lower-cased, stemmed and sorted into the kinds of fact that must agree
between a prompt and its twin (`aios.routing.guard` compares them): negation, quantities
(numerals and number words joined into values: ``1,000`` = ``1000``, ``one hundred`` =
``100``), units of measure, sides of antonym pairs, names and identifiers, words with a
negating prefix, what goes before and after "to", and the content words with their first
surface form (`aios.routing.sameness` aligns them by word vectors). The word lists the rules
rely on (`NEGATIONS`, `ANTONYM_PAIRS`, `STOPWORDS`, units) live here with the extraction.

`facts` is cached (prompts repeat); the cache keeps one `TextFacts` per entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

__all__ = ["ANTONYM_PAIRS", "NEGATING_PREFIXES", "NEGATIONS", "STOPWORDS", "TextFacts", "facts"]

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
    ("oldest", "newest"), ("upgrade", "downgrade"), ("upgrades", "downgrades"),
    ("largest", "smallest"), ("fastest", "slowest"), ("best", "worst"), ("good", "bad"),
    ("success", "failure"), ("pass", "fail"), ("valid", "invalid"), ("legal", "illegal"),
    ("synchronous", "asynchronous"), ("sync", "async"), ("encode", "decode"),
    ("compress", "decompress"), ("freeze", "unfreeze"), ("pause", "resume"),
    ("suspend", "resume"), ("ascending", "descending"), ("even", "odd"),
    ("yesterday", "today"), ("today", "tomorrow"), ("yesterday", "tomorrow"),
    ("promote", "demote"), ("approve", "reject"), ("expand", "shrink"), ("grow", "shrink"),
    ("whitelist", "blacklist"), ("allowlist", "denylist"),
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

_UNITS = {word: n for n, word in enumerate(_words(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"))}
_TENS = {word: 10 * n for n, word in enumerate(
    _words("twenty thirty forty fifty sixty seventy eighty ninety"), start=2)}
_SCALES = {"hundred": 100, "thousand": 10**3, "million": 10**6, "billion": 10**9,
           "trillion": 10**12}

_NUMBER_WORDS = frozenset({*_UNITS, *_TENS, *_SCALES})

#: Units of measure, by canonical name: "five minutes" and "five seconds" hold the same number
#: but ask different things; "5 MB" and "5 GB" too.
_MEASURES = {
    "nanosecond": "ns nanosecond nanoseconds", "microsecond": "us microsecond microseconds",
    "millisecond": "ms msec millisecond milliseconds", "second": "s sec secs second seconds",
    "minute": "min mins minute minutes", "hour": "h hr hrs hour hours hourly",
    "day": "day days daily", "week": "week weeks weekly", "month": "month months monthly",
    "year": "year years yearly annually", "byte": "b byte bytes", "kb": "kb kib kilobyte "
    "kilobytes", "mb": "mb mib megabyte megabytes", "gb": "gb gib gigabyte gigabytes",
    "tb": "tb tib terabyte terabytes", "bit": "bit bits", "percent": "% percent pct",
    "core": "core cores vcpu vcpus cpu cpus", "millicore": "m millicore millicores",
}
_UNIT_OF = {word: unit for unit, words in _MEASURES.items() for word in words.split()}
#: One-letter units count only right after a number ("5s", "5 s"), never as words.
_BARE_UNITS = frozenset(word for word in _UNIT_OF if len(word) == 1 or word == "us")

#: Prefixes that make a word's opposite: healthy/unhealthy, active/inactive, blocking/
#: non-blocking, connect/disconnect, activate/deactivate.
_OPPOSITE_PREFIXES = ("non-", "non", "un", "in", "im", "il", "ir", "dis", "de")

_TOKEN = re.compile(r"%|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)*"
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
        directed: what goes where: the content stems and numerals before the last "to",
            "into" or "onto", each as ``<stem``, and those after it, as ``>stem``; content
            words also as written, as ``<=word`` and ``>=word`` (``copy alpha to beta``:
            ``<alpha``, ``<copy``, ``>beta``, ``<=alpha`` ...), sorted; empty without such
            a word.
        units: units of measure named, canonical (``minute``, ``gb``), sorted.
        prefixed: ``word\0rest`` for each word that starts with a negating prefix
            (``unhealthy\0healthy``), sorted.
        hyphenated: the words joined by a hyphen (``db-primary``), sorted.
        sequence: the stems of the content words in the order they are written (``show
            disk usage`` and ``show memory usage`` differ at one place).
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
    units: tuple[str, ...] = ()
    prefixed: tuple[str, ...] = ()
    hyphenated: tuple[str, ...] = ()
    sequence: tuple[str, ...] = ()


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
    sequence: list[str] = []
    numbers = _Numbers()
    negated = False
    length = 0
    units: set[str] = set()
    counted = False  # the previous token was a quantity: "5 s", "five seconds"
    ordered: list[str] = []  # content stems and numerals, in order (for `directed`)
    cut = -1  # len(ordered) at the last direction word
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        length += 1
        if token[0].isdigit():
            numbers.digits(token)
            ordered.append(token)
            counted = True
            continue
        lower = token.lower()
        if "\u2019" in lower:
            lower = lower.replace("\u2019", "'")
        if lower.split("-", 1)[0] in _NUMBER_WORDS and all(
                numbers.word(part) for part in lower.split("-")):
            counted = True
            continue  # a number word is a quantity: the numbers rule compares it
        unit = _UNIT_OF.get(lower)
        if unit is not None and (counted or lower not in _BARE_UNITS):
            units.add(unit)
        counted = False
        if token == "%":
            continue
        numbers.flush()
        word, base, negates, codes, content = _lexeme(lower)
        words.add(word)
        words.add(base)
        if "." in word:  # a qualified name: "datasets.Audio" also names "audio"
            words.update(word.split("."))
        negated = negated or negates
        polar.update(codes)
        if word in _DIRECTIONS:
            cut = len(ordered)
        for stem, form in content:
            forms.setdefault(stem, form)
            sequence.append(stem)
            ordered.append(stem)
            ordered.append(f"={form}")  # and as written: http / https share a stem
        rest = token[1:]
        if rest != rest.lower() or (not token.isalpha() and _DIGIT.search(token)) or (
                token[0].isupper() and base not in STOPWORDS  # "I", a title's "The"
                and not _starts_sentence(text, match.start())) or (
                "." in word and base not in STOPWORDS):
            entities.add(base)  # a name, acronym, version or dotted identifier (t.one)
    numbers.flush()
    stems = tuple(sorted(forms))
    directed = () if cut < 0 else tuple(sorted(
        {f"<{item}" for item in ordered[:cut]} | {f">{item}" for item in ordered[cut:]}))
    return TextFacts("\0" + "\0".join(sorted(words)) + "\0", negated,
                     tuple(sorted(numbers.found)), tuple(sorted(entities)),
                     tuple(sorted(polar)), stems, tuple(forms[stem] for stem in stems), length,
                     directed, tuple(sorted(units)),
                     tuple(sorted(f"{w}\0{w[len(p):]}" for w in words
                                  if w.startswith(_OPPOSITE_PREFIXES)  # few do: test once
                                  for p in _OPPOSITE_PREFIXES
                                  if w.startswith(p) and len(w) - len(p) >= 3)),
                     tuple(sorted(w for w in words if "-" in w.strip("-"))), tuple(sequence))
