"""Checks on model text before anyone sees it: degenerate repetition, and grounding in facts.

A small local model (the packaged SmolLM2-135M) often loops ("ls" nine times, "the health
report is a warning, and the health report is a warning") or states numbers it was never
given. Text that fails a check is not shown: the caller says why instead.

Both checks are deliberately plain: exact repeated lines, sentences and word 5-grams for
repetition; every number and every name-like token (a path, a dotted key, a host:port, a
quoted string) looked up in the facts for grounding.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

__all__ = ["fact_text", "repetition", "ungrounded"]

_WORD = re.compile(r"[a-z0-9%']+")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)*(?:\.\d+)?")
#: Name-like tokens: paths, dotted keys (net.ipv4.ip_forward), host:port, snake_case names.
_NAME = re.compile(r"(?:/[\w.@-]+)+/?|\b[A-Za-z][\w-]*(?:[._:][\w-]+)+\b")
_QUOTED = re.compile("[`'\"\u201c\u2018]([^`'\"\u201d\u2019\n]{2,60})[`'\"\u201d\u2019]")
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+|,\s+(?:and|but)\s+")

#: Words of the same n-gram repeated: that many words in a row.
_NGRAM = 5


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def repetition(text: str) -> str | None:
    """Why `text` is degenerate repetition, or None when it reads as text.

    Degenerate: one line or sentence said three times or more, or a run of five words
    repeated (the repeats covering at least a quarter of the text).
    """
    pieces = [" ".join(_words(p)) for p in _SENTENCE.split(text.strip())]
    pieces = [p for p in pieces if p]
    if pieces:
        piece, count = Counter(pieces).most_common(1)[0]
        if count >= 3 or (count >= 2 and len(piece.split()) >= 3):
            return f"it repeats {_quote(piece)} {count} times"
    words = _words(text)
    grams = Counter(tuple(words[i:i + _NGRAM]) for i in range(len(words) - _NGRAM + 1))
    repeated = {gram: n for gram, n in grams.items() if n >= 2}
    if repeated and sum(repeated.values()) * _NGRAM >= len(words) / 4 + _NGRAM:
        gram, count = max(repeated.items(), key=lambda item: item[1])
        return f"it repeats {_quote(' '.join(gram))} {count} times"
    return None


def _quote(piece: str) -> str:
    return repr(piece if len(piece) <= 40 else piece[:37] + "...")


def fact_text(*facts: Any) -> str:
    """The facts (JSON-like values or strings) as one searchable text."""
    return "\n".join(f if isinstance(f, str) else json.dumps(f, default=str, sort_keys=True)
                     for f in facts)


def _numbers(text: str) -> set[str]:
    """Every number in `text`, in each rounding a sentence may use (91.37 -> 91.37, 91.4, 91)."""
    out: set[str] = set()
    for raw in _NUMBER.findall(text):
        value = raw.replace(",", "")
        try:
            number = float(value)
        except ValueError:
            continue
        out.update({value, f"{number:g}", str(round(number)), f"{number:.1f}", f"{number:.2f}"})
    return out


def ungrounded(text: str, facts: str, *, allowed: Iterable[str] = ()) -> list[str]:
    """The numbers and names `text` states that `facts` does not contain.

    Args:
        text: the model's text.
        facts: what the model was given (see `fact_text`).
        allowed: extra words that need no fact (the system's own name, ...).
    """
    known_numbers = _numbers(facts)
    lowered = facts.lower()
    free = {word.lower() for word in allowed}
    missing: list[str] = []
    for raw in _NUMBER.findall(text):
        value = raw.replace(",", "")
        if value.lstrip("-") not in known_numbers and value not in known_numbers:
            missing.append(raw)
    names = [m.group(0).rstrip(".:") for m in _NAME.finditer(text)]
    names += [m.group(1).strip() for m in _QUOTED.finditer(text)]
    for name in names:
        if name and name.lower() not in lowered and name.lower() not in free:
            missing.append(name)
    return list(dict.fromkeys(missing))
