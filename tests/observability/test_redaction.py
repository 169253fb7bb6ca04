"""Redaction: every span, ours or third-party, is redacted before any exporter sees it."""

from __future__ import annotations

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from aios.observability import default_redactor, setup_tracing
from aios.settings import Settings


def test_default_redactor_masks_emails_and_long_digit_runs() -> None:
    text = ("write to ada.lovelace+ops@example.co.uk or call 0044 20 7946 0958, "
            "card 4111-1111-1111-1111, order 12345, version 3.11.7, run 5f0c2e8a91234567890")
    assert default_redactor(text) == (
        "write to [email] or call [number], card [number], order 12345, version 3.11.7, "
        "run 5f0c2e8a91234567890")


def test_third_party_spans_events_and_status_are_redacted(settings: Settings) -> None:
    memory = InMemorySpanExporter()
    tracing = setup_tracing(settings, store_url="", extra_processors=(SimpleSpanProcessor(memory),))
    # Another library's tracer on the same provider: its spans pass the same redaction.
    other = tracing.provider.get_tracer("somelib.instrumentation")
    with other.start_as_current_span("http POST", attributes={
            "http.request.body": "user=bob@example.org", "tags": ("a", "card 4111111111111111"),
            "count": 3}) as span:
        span.add_event("log", {"message": "password reset for bob@example.org"})
        span.set_status(Status(StatusCode.ERROR, "no account 123456789012"))
    (exported,) = memory.get_finished_spans()
    assert exported.attributes["http.request.body"] == "user=[email]"
    assert exported.attributes["tags"] == ("a", "card [number]")
    assert exported.attributes["count"] == 3
    assert exported.events[0].attributes["message"] == "password reset for [email]"
    assert exported.status.description == "no account [number]"
    tracing.shutdown()


def test_a_custom_redactor_replaces_the_default(settings: Settings) -> None:
    memory = InMemorySpanExporter()
    tracing = setup_tracing(settings, store_url="", redactor=lambda s: s.replace("secret", "***"),
                            extra_processors=(SimpleSpanProcessor(memory),))
    with tracing.tracer.start_as_current_span("x", attributes={"a": "my secret, a@b.io"}):
        pass
    assert memory.get_finished_spans()[0].attributes["a"] == "my ***, a@b.io"
    tracing.shutdown()


def test_any_mapping_of_attributes_is_redacted_without_being_changed() -> None:
    """The SDK's read-only views are copied with their `copy()`; a mapping without one too."""
    from collections.abc import Iterator, Mapping
    from types import MappingProxyType

    from aios.observability.redaction import _redact_mapping

    class Bare(Mapping[str, object]):
        def __init__(self, data: dict[str, object]) -> None:
            self._data = data

        def __getitem__(self, key: str) -> object:
            return self._data[key]

        def __iter__(self) -> Iterator[str]:
            return iter(self._data)

        def __len__(self) -> int:
            return len(self._data)

    data: dict[str, object] = {"aios.agent": "a@b.io", "note": "mail a@b.io", "n": 7,
                               "list": ("x", "call 4111 1111 1111 1111")}
    for attrs in (MappingProxyType(dict(data)), Bare(dict(data)), dict(data)):
        assert _redact_mapping(attrs, default_redactor) == {
            "aios.agent": "a@b.io", "note": "mail [email]", "n": 7,
            "list": ("x", "call [number]")}
        assert dict(attrs) == data  # the original is left alone
    assert _redact_mapping(MappingProxyType({"note": "nothing here"}), default_redactor) is None
