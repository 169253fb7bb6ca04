"""What every detector shares: the `Finding` record, the `Detector` protocol and the registry.

A detector looks at one text and returns the spans it believes are sensitive or hostile, each
with a type (`EMAIL_ADDRESS`, `aws_access_key`, `instruction_override`, ...) and a score in
[0, 1]. Detectors register by name with `@register_detector`, so policies, the CLI and the
red-team suite refer to them by name plus parameters.

Where the registry finds a name: detectors registered so far (`DETECTORS`), then the built-in
ones (`injection`, `pii`, `secrets`: their modules are imported on first use, so validating a
manifest does not load a classifier), then the `aios.detectors` entry point group of the
installed distributions (`shouting = "mypkg.detectors:Shouting"`), loaded on first use.

A detector class declares its kind, which decides what a guardrail check may do with its
findings (`aios.security.checks`): `kind = "injection"` (taint, block, flag, approve) or
`kind = "data"` (redact, block, allow); without one it is `data`.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Protocol, TypeVar, runtime_checkable

from aios.errors import NotFoundError

__all__ = ["DETECTORS", "ENTRY_POINT_GROUP", "Detector", "Finding", "detector_factory",
           "detector_kind", "detector_names", "get_detector", "merge_findings",
           "register_detector", "scan"]

#: The entry point group third-party packages register detectors in.
ENTRY_POINT_GROUP = "aios.detectors"
#: The built-in detectors: (module that registers it, its kind), imported on first use.
_BUILTIN = {"injection": ("aios.security.detectors.injection", "injection"),
            "pii": ("aios.security.detectors.pii", "data"),
            "secrets": ("aios.security.detectors.secrets", "data")}


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
    # Optional class attributes: `kind` (`injection` or `data`, the default),
    # `classifier_types` (finding types `Check.classifier_threshold` applies to) and `pure`
    # (True: the findings depend on the text alone, always the same for the same text, so the
    # guardrails may remember them per text; injection detectors are remembered regardless).

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


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def detector_names() -> list[str]:
    """Every detector name the registry can resolve, sorted: registered, built-in and
    entry points (none of them imported)."""
    return sorted({*DETECTORS, *_BUILTIN, *_entry_points()})


def detector_factory(name: str) -> Callable[..., Detector]:
    """The factory registered as `name`, importing a built-in module or loading an entry
    point when that is where the name is.

    Raises:
        NotFoundError: no detector has that name (the message lists the known ones).
    """
    factory = DETECTORS.get(name)
    if factory is None and name in _BUILTIN:
        importlib.import_module(_BUILTIN[name][0])
        factory = DETECTORS.get(name)
    if factory is None and (point := _entry_points().get(name)) is not None:
        factory = DETECTORS.setdefault(name, point.load())
    if factory is None:
        known = detector_names()
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise NotFoundError(f"no detector named {name!r}{hint} Known detectors: "
                            f"{', '.join(known) or '(none)'}")
    return factory


def detector_kind(name: str) -> str:
    """The kind detector `name` declares (`injection` or `data`), without building it."""
    if name not in DETECTORS and name in _BUILTIN:
        return _BUILTIN[name][1]
    return str(getattr(detector_factory(name), "kind", "data"))


def get_detector(name: str, **params: Any) -> Detector:
    """Build the detector registered as `name` with `params`.

    Raises:
        NotFoundError: no detector has that name (the message lists the known ones).
    """
    return detector_factory(name)(**params)


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
