"""Redaction of span text before any exporter sees it.

`RedactingSpanProcessor` sits in front of the exporting processors and rewrites every string
attribute, event attribute and status message of every span, Ai:oS's own and those of
third-party instrumentation alike. The redactor is any `str -> str` callable: the security
subsystem's detectors plug in here; `default_redactor` masks e-mail addresses and long runs of
digits (card, account and phone numbers).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Status

__all__ = ["RedactingSpanProcessor", "Redactor", "default_redactor"]

Redactor = Callable[[str], str]

_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# Nine or more digits, optionally grouped by single spaces or dashes (4111 1111 1111 1111).
_DIGITS = r"(?<![\w.])\d(?:[ -]?\d){8,}(?![\w.])"
_PATTERN = re.compile(f"(?P<email>{_EMAIL})|(?P<digits>{_DIGITS})")
_QUICK = re.compile(r"@|\d[ -]?\d")
_CACHED_LENGTH = 200
_MASKS = {"email": "[email]", "digits": "[number]"}


def _mask(match: re.Match[str]) -> str:
    return _MASKS[match.lastgroup or "digits"]


def default_redactor(text: str) -> str:
    """Mask e-mail addresses and runs of nine or more digits in `text`.

    Example:
        >>> default_redactor("mail ada@example.org, card 4111 1111 1111 1111")
        'mail [email], card [number]'
    """
    if _QUICK.search(text) is None:
        return text  # the common case: nothing that could match
    return _PATTERN.sub(_mask, text)


def _redact_value(value: Any, redact: Redactor) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], str):
        return tuple(redact(item) for item in value)
    return value


#: Attributes Ai:oS sets from generated ids, manifest names and fixed words, never from user
#: input or results: they are not scanned (most of an action span's strings, every span, and
#: the model's names on each LLM span).
_TRUSTED = frozenset({"aios.kind", "aios.run_id", "aios.action", "aios.agent", "aios.step_id",
                      "aios.criticality", "aios.status", "aios.run.kind", "aios.run.target",
                      "aios.model", "aios.model.tier",
                      "gen_ai.operation.name", "gen_ai.output.type", "gen_ai.tool.type"})


def _redact_mapping(attrs: Mapping[str, Any] | None,
                    redact: Redactor) -> dict[str, Any] | None:
    """A redacted copy of `attrs`, or None when nothing changed."""
    if not attrs:
        return None
    # A span's attributes are a read-only view of the SDK's mapping, whose `items()` is a
    # Python generator calling back per key; its `copy()` is the plain dict's, at C speed.
    copy = getattr(attrs, "copy", None)
    plain: dict[str, Any] = copy() if copy is not None else dict(attrs)
    changed = False
    for key, value in plain.items():
        if key in _TRUSTED:
            continue
        if isinstance(value, str):  # most values: no helper call
            new: Any = redact(value)
        elif isinstance(value, (tuple, list)):
            new = _redact_value(value, redact)
        else:
            continue
        if new is not value and new != value:
            plain[key] = new  # a key already there: the dict's size never changes mid-loop
            changed = True
    return plain if changed else None


class RedactingSpanProcessor(SpanProcessor):
    """Redacts each finished span, then hands it to `processors` (the exporting ones).

    Args:
        processors: the processors that export spans; they only ever see redacted spans.
        redactor: applied to every string attribute value, event attribute and status message;
            it must be a pure function of its input (results for short strings are cached).
        cache_size: short strings remembered with their redaction; span attributes repeat
            (run ids, action names), so most look-ups are hits. 0 turns the cache off.
    """

    def __init__(self, processors: Sequence[SpanProcessor], redactor: Redactor = default_redactor,
                 *, cache_size: int = 8192):
        self._processors = tuple(processors)
        if cache_size > 0:
            cached = functools.lru_cache(maxsize=cache_size)(redactor)

            def redact(text: str) -> str:
                return cached(text) if len(text) <= _CACHED_LENGTH else redactor(text)

            self._redact: Redactor = redact
        else:
            self._redact = redactor

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Forward to the wrapped processors."""
        for processor in self._processors:
            processor.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        """Redact `span` and forward the result."""
        redacted = self.redact(span)
        for processor in self._processors:
            processor.on_end(redacted)

    def redact(self, span: ReadableSpan) -> ReadableSpan:
        """`span` with its text redacted (the same object when nothing needed masking)."""
        redact = self._redact
        attrs = _redact_mapping(span.attributes, redact)
        events: list[Event] | None = None
        for index, ev in enumerate(span.events):
            ev_attrs = _redact_mapping(ev.attributes, redact)
            if ev_attrs is not None:
                if events is None:
                    events = list(span.events)  # type: ignore[arg-type]
                events[index] = Event(ev.name, ev_attrs, ev.timestamp)
        status = span.status
        if status.description:
            description = redact(status.description)
            if description != status.description:
                status = Status(status.status_code, description)
        if attrs is None and events is None and status is span.status:
            return span
        return ReadableSpan(
            name=span.name, context=span.context, parent=span.parent, resource=span.resource,
            attributes=attrs if attrs is not None else span.attributes,
            events=events if events is not None else span.events, links=span.links,
            kind=span.kind, status=status, start_time=span.start_time, end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope)

    def shutdown(self) -> None:
        """Shut the wrapped processors down."""
        for processor in self._processors:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped processors."""
        return all(processor.force_flush(timeout_millis) for processor in self._processors)
