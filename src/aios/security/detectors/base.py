"""What every detector shares: the `Finding` record, the `Detector` protocol and the registry.

A detector looks at one text and returns the spans it believes are sensitive or hostile, each
with a type (`EMAIL_ADDRESS`, `aws_access_key`, `instruction_override`, ...) and a score in
[0, 1]. Detectors register by name with `@register_detector`, so policies, the CLI and the
red-team suite refer to them by name plus parameters.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from aios.errors import NotFoundError

__all__ = ["DETECTORS", "Detector", "Finding", "detector_names", "get_detector",
           "merge_findings", "register_detector", "scan"]


@dataclass(frozen=True, order=True)
class Finding:
    """One span a detector flagged.

    Attributes:
        start: offset of the first character (0-based, in the scanned text).
        end: offset one past the last character.
        type: what was found (`EMAIL_ADDRESS`, `aws_access_key`, `instruction_override`, ...).
        score: confidence in [0, 1].
        text: the flagged text itself (`text[start:end]`).
        detector: the registered name of the detector that found it.
    """

    start: int
    end: int
    type: str
    score: float
    text: str
    detector: str

    def overlaps(self, other: Finding) -> bool:
        """True when the two spans share at least one character."""
        return self.start < other.end and other.start < self.end

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"start": self.start, "end": self.end, "type": self.type,
                "score": round(self.score, 4), "text": self.text, "detector": self.detector}


@runtime_checkable
class Detector(Protocol):
    """Something that finds spans in a text."""

    #: The registered name (`injection`, `pii`, `secrets`, ...).
    name: str

    def detect(self, text: str) -> list[Finding]:
        """Every span of `text` this detector flags, in order of `start`."""
        ...


D = TypeVar("D", bound=Callable[..., Detector])

#: Detector factories by name, filled by `@register_detector`.
DETECTORS: dict[str, Callable[..., Detector]] = {}


def register_detector(name: str) -> Callable[[D], D]:
    """Register a detector class (or factory) under `name`.

    Example:
        >>> @register_detector("shouting")
        ... class Shouting:
        ...     name = "shouting"
        ...     def detect(self, text): return []
    """

    def add(factory: D) -> D:
        DETECTORS[name] = factory
        return factory

    return add


def detector_names() -> list[str]:
    """The registered detector names, sorted."""
    return sorted(DETECTORS)


def get_detector(name: str, **params: Any) -> Detector:
    """Build the detector registered as `name` with `params`.

    Raises:
        NotFoundError: no detector has that name (the message lists the known ones).
    """
    factory = DETECTORS.get(name)
    if factory is None:
        close = difflib.get_close_matches(name, DETECTORS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise NotFoundError(f"no detector named {name!r}{hint} Known detectors: "
                            f"{', '.join(detector_names()) or '(none)'}")
    return factory(**params)


def merge_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Resolve overlapping spans: the higher score wins, then the longer span.

    Used before redaction, where two detectors (or two rules) may claim the same characters.
    """
    ranked = sorted(findings, key=lambda f: (-f.score, -(f.end - f.start), f.start))
    kept: list[Finding] = []
    for finding in ranked:
        if not any(finding.overlaps(k) for k in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: (f.start, f.end))


def scan(text: str, detectors: Sequence[Detector]) -> list[Finding]:
    """Run every detector over `text`; findings of all of them, ordered by position."""
    out: list[Finding] = []
    for detector in detectors:
        out.extend(detector.detect(text))
    return sorted(out, key=lambda f: (f.start, f.end, f.type))
