"""Literal keywords of a regex, gitleaks style: a rule runs only if one of them is in the text.

`required_literals(pattern)` reads the pattern's parse tree and returns lower-cased ASCII
strings of which every match contains at least one (case-insensitively), or None when the
pattern has no such literal (it must then always run). `fold(text)` is the text those keywords
are looked up in: lower-cased, with the four non-ASCII characters that `re.IGNORECASE` matches
to an ASCII letter (U+0130, U+0131, U+017F, U+212A) mapped to it, so a keyword test never
skips a rule that matches.

Derivation: a node matching one of a few known strings (a literal, a small character class,
an alternation or an optional part of those) is "exact"; consecutive exact nodes multiply into
runs (`gh[pousr]_` gives `ghp_`, `gho_`, ...); zero-width assertions consume nothing and do not
break a run; anything else ends it. Of the runs and the requirements of required sub-parts
(a group, a repeat of at least one, an alternation every branch of which has keywords), the
one whose shortest string is longest is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

from ahocorasick_rs import AhoCorasick

__all__ = ["KeywordIndex", "fold", "required_literals"]

_CAP = 128  # most alternatives kept for one node or run
_CLASS_CAP = 8  # largest character class expanded into alternatives
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
_ZERO_WIDTH = frozenset({C.AT, C.ASSERT, C.ASSERT_NOT})
_REPEATS = frozenset({C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", C.MAX_REPEAT)})

Strings = frozenset[str]


def fold(text: str) -> str:
    """`text` as keywords are looked up in: lower-cased (and the IGNORECASE oddities mapped)."""
    return text.lower() if text.isascii() else text.translate(_FOLD).lower()


class KeywordIndex:
    """Which of a fixed set of keywords occur in a text: one Aho-Corasick pass (overlapping
    matches), not one substring search per keyword (a 2,000-character text and 300 keywords:
    about 10 microseconds instead of 350)."""

    def __init__(self, keywords: Iterable[str]):
        self._words = tuple(sorted(set(keywords)))
        self._automaton = AhoCorasick(list(self._words)) if self._words else None

    def found(self, text: str) -> frozenset[str]:
        """The keywords that occur in `fold(text)`."""
        if self._automaton is None:
            return frozenset()
        matches = self._automaton.find_matches_as_indexes(fold(text), overlapping=True)
        return frozenset(self._words[i] for i, _, _ in matches)


def required_literals(pattern: re.Pattern[str]) -> Strings | None:
    """Lower-cased strings one of which every match of `pattern` contains, or None."""
    tree = P.parse(pattern.pattern, pattern.flags)
    best = _required(list(tree))
    if not best or "" in best:
        return None
    # A string that contains another is implied by it: `cl` covers `cloudant`.
    return frozenset(s for s in best if not any(o != s and o in s for o in best))


def _char(code: int) -> str | None:
    ch = chr(code)
    return ch.lower() if ch.isascii() else None


def _product(left: Strings, right: Strings) -> Strings | None:
    if len(left) * len(right) > _CAP:
        return None
    return frozenset(a + b for a in left for b in right)


def _exact(op: Any, av: Any) -> Strings | None:
    """The strings this node matches, if they are few and known."""
    if op == C.LITERAL:
        ch = _char(av)
        return None if ch is None else frozenset({ch})
    if op in _ZERO_WIDTH:
        return frozenset({""})
    if op == C.IN:
        chars: set[str] = set()
        for item_op, item_av in av:
            if item_op == C.LITERAL and (ch := _char(item_av)) is not None:
                chars.add(ch)
            elif item_op == C.RANGE and item_av[1] < 128 and item_av[1] - item_av[0] < _CLASS_CAP:
                chars.update(chr(c).lower() for c in range(item_av[0], item_av[1] + 1))
            else:  # NEGATE, CATEGORY, non-ASCII
                return None
        return frozenset(chars) if 0 < len(chars) <= _CLASS_CAP else None
    if op == C.SUBPATTERN:
        return _exact_seq(av[-1])
    if op == C.BRANCH:
        return _union(_exact_seq(branch) for branch in av[1])
    if op in _REPEATS:
        low, high, body = av
        inner = _exact_seq(body)
        if inner is None or high > 2:
            return None
        out: set[str] = set()
        power: Strings | None = frozenset({""})
        for count in range(high + 1):
            if power is None:
                return None
            if count >= low:
                out |= power
            power = _product(power, inner)
        return frozenset(out) if len(out) <= _CAP else None
    return None


def _exact_seq(items: Iterable[tuple[Any, Any]]) -> Strings | None:
    run: Strings | None = frozenset({""})
    for op, av in items:
        part = _exact(op, av)
        if part is None or run is None:
            return None
        run = _product(run, part)
    return run


def _better(a: Strings | None, b: Strings | None) -> Strings | None:
    """The more selective of two keyword sets (longer shortest string, then fewer strings)."""
    usable = [s for s in (a, b) if s and "" not in s]
    if not usable:
        return None
    return max(usable, key=lambda s: (min(map(len, s)), -len(s)))


def _required(items: list[tuple[Any, Any]]) -> Strings | None:
    best: Strings | None = None
    run: Strings = frozenset({""})
    for op, av in items:
        part = _exact(op, av)
        if part is not None:
            grown = _product(run, part)
            if grown is not None:
                run = grown
                continue
            best = _better(best, run)
            run = part if len(part) <= _CAP else frozenset({""})
            continue
        best = _better(best, _better(run, _inner(op, av)))
        run = frozenset({""})
    return _better(best, run)


def _inner(op: Any, av: Any) -> Strings | None:
    """Keywords of a node that is not exact but must match somewhere in every match."""
    if op == C.SUBPATTERN:
        return _required(list(av[-1]))
    if op in _REPEATS and av[0] >= 1:
        return _required(list(av[2]))
    if op == C.BRANCH:
        return _union(_required(list(branch)) for branch in av[1])
    return None


def _union(parts: Iterable[Strings | None]) -> Strings | None:
    out: set[str] = set()
    for part in parts:
        if part is None or len(out | part) > _CAP:
            return None
        out |= part
    return frozenset(out)
