"""The semantic-hit guard: hard rules a similar prompt must pass before its answer is served.

Embeddings score "turn on the firewall" and "turn off the firewall" at 0.96, so similarity
alone would serve one's answer for the other. Both prompts are normalised (`facts`) and
compared by the `RULES`; any one that fires refuses the hit, whatever the similarity:

* negation: both negated or neither (not, no, never, n't, without, absence, non-...);
* numbers: two different quantities (``3 replicas`` / ``30 replicas``; ``1,000`` = ``1000``,
  ``one hundred`` = ``100``, versions as written). A number only one side states is an added
  detail, weighed by the score (`aios.routing.sameness`), not refused here;
* units: two different units of measure (``five minutes`` / ``five seconds``, ``5 MB`` /
  ``5 GB``, ``last hour`` / ``last day``);
* opposites: one side has a word of a pair (on/off, enable/disable, upgrade/downgrade, ...)
  whose opposite is on the other side only, or a word the other side has with a negating
  prefix (healthy/unhealthy, active/inactive, connect/disconnect);
* names: each side names an identifier (host, file, id) the other does not (``web-01`` /
  ``web-02``, ``app.log`` / ``sys.log``; ``pkg.Name`` matches ``Name`` of ``pkg``); swapped
  capitalised names (``Alice`` / ``Bob``) are weighed by the score instead;
* direction: words (or numbers) moved across "to"/"into"/"onto" both ways (``copy alpha
  to beta`` / ``copy beta to alpha``, ``port 8080 to 80`` / ``80 to 8080``); in prompts of
  more than `DIRECTION_WORDS` words, only when both hold the same content words.

Rules must earn their place: bench/gateway.py section 3 reports, on the calibration pairs,
the precision each buys at equal hit rate; the cache's score (`aios.routing.sameness`) then
weighs what the rules let through. The facts they compare, and the word lists behind them,
are extracted by `aios.routing.text_facts` (re-exported here).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from aios.routing.text_facts import ANTONYM_PAIRS, NEGATIONS, STOPWORDS, TextFacts, facts

__all__ = ["ANTONYM_PAIRS", "NEGATIONS", "RULES", "STOPWORDS", "TextFacts", "WordVectors",
           "conflict", "conflict_facts", "differing_words", "facts", "missing_names"]

#: Unit vectors of words, one row per word (an embedding service provides them).
WordVectors = Callable[[Sequence[str]], np.ndarray]


def _named_in(entity: str, words: str) -> bool:
    if f"\0{entity}\0" in words:
        return True
    return "." in entity and all(f"\0{part}\0" in words for part in entity.split(".") if part)


def _swapped(a: Sequence[str], b: Sequence[str]) -> bool:
    """Each side has an item the other lacks: a substitution, not an added detail."""
    return bool(set(a) - set(b)) and bool(set(b) - set(a))


def _prefixed_opposite(fa: TextFacts, fb: TextFacts) -> str | None:
    """A word of one side that is a word of the other side only with a negating prefix
    (healthy/unhealthy, active/inactive, connect/disconnect)."""
    for one, other in ((fa, fb), (fb, fa)):
        for entry in one.prefixed:
            word, _, rest = entry.partition("\0")
            if f"\0{rest}\0" in other.words and f"\0{word}\0" not in other.words \
                    and f"\0{rest}\0" not in one.words:
                return f"{rest}/{word}"
    return None


#: The hard rules, in the order they are tried: name -> rule. Each refuses a pair whatever
#: its similarity. bench/gateway.py measures what each buys on the calibration pairs.
def _negation(fa: TextFacts, fb: TextFacts) -> str | None:
    return "negation differs" if fa.negated != fb.negated else None


def _numbers(fa: TextFacts, fb: TextFacts) -> str | None:
    # A number only one side states is an added detail, which the score weighs; two
    # different numbers are two different requests.
    return "numbers differ" if _swapped(fa.numbers, fb.numbers) else None


def _units(fa: TextFacts, fb: TextFacts) -> str | None:
    if _swapped(fa.units, fb.units):
        return f"units differ ({'/'.join(sorted(set(fa.units) ^ set(fb.units))[:2])})"
    return None


def _opposites(fa: TextFacts, fb: TextFacts) -> str | None:
    if fa.polar != fb.polar:
        for code in fa.polar:
            opposite = code ^ 1  # the other side of the same pair
            if opposite in fb.polar and opposite not in fa.polar and code not in fb.polar:
                first, second = ANTONYM_PAIRS[code // 2]
                return f"opposites differ ({first}/{second})"
    # Both negated: "non-streaming" and "without streaming" say the same thing.
    pair = None if fa.negated and fb.negated else _prefixed_opposite(fa, fb)
    return f"opposites differ ({pair})" if pair else None


def missing_names(fa: TextFacts, fb: TextFacts) -> tuple[list[str], list[str]]:
    """The names of `fa` that `fb` does not name, and those of `fb` that `fa` does not."""
    return ([e for e in fa.entities if not _named_in(e, fb.words)],
            [e for e in fb.entities if not _named_in(e, fa.words)])


#: An identifier: a name with a digit, an underscore or a colon, or a file or host name
#: (``web-01``, ``db_2``, ``app.log``, ``example.com``), as opposed to a capitalised word.
_IDENTIFIER = re.compile(r"[\d_:]|[^\W\d_]\.[^\W\d_]{2,}")


def _names(fa: TextFacts, fb: TextFacts) -> str | None:
    # Identifiers swapped for others (hosts, paths, ids). Capitalised names are left to the
    # score: on the calibration pairs, refusing swapped names refused true paraphrases as
    # often as false ones ("Mr. Bush" / "President Bush"), buying no precision.
    only_a, only_b = missing_names(fa, fb)
    ids_a = [e for e in only_a if _IDENTIFIER.search(e)]
    ids_b = [e for e in only_b if _IDENTIFIER.search(e)]
    if not (ids_a and ids_b):
        # Hyphenated words swapped (db-primary / db-replica): on the calibration pairs this
        # refused more false paraphrases than true ones.
        ids_a = [w for w in fa.hyphenated if f"\0{w}\0" not in fb.words]
        ids_b = [w for w in fb.hyphenated if f"\0{w}\0" not in fa.words]
    if ids_a and ids_b:
        return f"identifiers differ ({', '.join(sorted(ids_a + ids_b)[:3])})"
    return None


#: Prompts of at most this many words (mean of the two) are checked for swapped directions
#: even when other words differ too ("convert celsius to fahrenheit" / "how do I turn
#: fahrenheit into celsius").
DIRECTION_WORDS = 10


def _direction(fa: TextFacts, fb: TextFacts) -> str | None:
    # The same words, one moved from before "to" to after it and another the other way:
    # "copy alpha to beta" / "copy beta to alpha", "merge the branch into main" / "merge main
    # into the branch". The same words in another order ("from staging to prod" / "to prod
    # from staging") move only one way. Long sentences with other words too are left to
    # the score: on the calibration pairs, an infinitive "to" in reworded sentences made
    # this refuse true paraphrases only.
    if not (fa.directed and fb.directed) or (
            fa.content != fb.content and fa.length + fb.length > 2 * DIRECTION_WORDS):
        return None
    forward = _moved(fa.directed, fb.directed)
    backward = _moved(fb.directed, fa.directed)
    if forward and backward:
        return f"direction differs ({forward} to {backward})"
    return None


def _moved(one: Sequence[str], other: Sequence[str]) -> str | None:
    """An item before "to" in `one` only, after it in `other` only."""
    for item in one:
        if item[0] == "<" and f">{item[1:]}" not in one and f">{item[1:]}" in other \
                and item not in other:
            return item[1:]
    return None


RULES: dict[str, Callable[[TextFacts, TextFacts], str | None]] = {
    "negation": _negation, "numbers": _numbers, "units": _units, "opposites": _opposites,
    "names": _names, "direction": _direction}


def conflict_facts(fa: TextFacts, fb: TextFacts,
                   rules: Sequence[str] | None = None) -> str | None:
    """`conflict` on facts already extracted (the cache keeps the facts of its entries).

    Args:
        fa: one side's facts.
        fb: the other's.
        rules: the names of the `RULES` to apply (default: all).
    """
    for name in RULES if rules is None else rules:
        reason = RULES[name](fa, fb)
        if reason is not None:
            return reason
    return None


def conflict(a: str, b: str) -> str | None:
    """Why `a` and `b` must not share an answer (a hard rule), or None."""
    return conflict_facts(facts(a), facts(b))


def differing_words(fa: TextFacts, fb: TextFacts) -> tuple[list[str], list[str]]:
    """The content words (as written) that only `fa`, and only `fb`, has."""
    in_a, in_b = set(fa.content), set(fb.content)
    return ([form for stem, form in zip(fa.content, fa.forms, strict=True) if stem not in in_b],
            [form for stem, form in zip(fb.content, fb.forms, strict=True) if stem not in in_a])
