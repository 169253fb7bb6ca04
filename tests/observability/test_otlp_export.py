"""OTLP export to a real OTLP/HTTP receiver on 127.0.0.1, and to an unreachable one."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from aios.manifest import Manifest
from aios.observability import list_traces, setup_tracing
from aios.runtime import ActionContext, HandlerRegistry, Runtime, handler
from aios.settings import Settings
from aios.store import RunStore, Store


class Receiver:
    """A minimal OTLP/HTTP trace receiver: decodes ExportTraceServiceRequest protobufs."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = (self.path == "/v1/traces"
                      and self.headers["Content-Type"] == "application/x-protobuf")
                if ok:
                    receiver.take(ExportTraceServiceRequest.FromString(body))
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def take(self, request: ExportTraceServiceRequest) -> None:
        self.requests += 1
        for resource_spans in request.resource_spans:
            service = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append({
                        "name": span.name, "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(), "parent": span.parent_span_id.hex(),
                        "service": service.get("service.name"),
                        "attributes": {kv.key: _value(kv.value) for kv in span.attributes}})


def _value(value: AnyValue) -> Any:
    return getattr(value, value.WhichOneof("value"))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rx = Receiver()
    rx.thread.start()
    yield rx
    rx.server.shutdown()
    rx.server.server_close()


@handler("otlp.ok")
async def ok(ctx: ActionContext) -> int:
    return 1


def _runtime(runs: RunStore, tracing: Any) -> Runtime:
    registry = HandlerRegistry()
    registry.add(ok)
    manifest = Manifest.model_validate({"agents": {"otlp": {"actions": {
        "ok": {"handler": "otlp.ok", "criticality": "medium"}}}}})
    return Runtime(manifest, runs, registry=registry, layers=[tracing.layer()],
                   listeners=[tracing.listener()])


async def test_the_spans_of_a_run_arrive_at_an_otlp_receiver(
        receiver: Receiver, runs: RunStore, store: Store, settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The standard variable, read through Settings.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    configured = Settings(home=settings.home)
    assert configured.otlp_endpoint == receiver.endpoint
    tracing = setup_tracing(configured, store_url=store.url)
    result = await _runtime(runs, tracing).execute("otlp.ok")
    assert result.ok
    tracing.shutdown()

    by_name = {span["name"]: span for span in receiver.spans}
    run, action = by_name["run otlp.ok"], by_name["action otlp.ok"]
    assert action["parent"] == run["span_id"] and action["trace_id"] == run["trace_id"]
    assert run["service"] == "aios"
    assert action["attributes"]["aios.run_id"] == result.run_id
    assert action["attributes"]["aios.action"] == "otlp.ok"
    assert action["attributes"]["aios.criticality"] == "medium"
    assert action["attributes"]["aios.status"] == "succeeded"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_endpoint_is_reported_once_and_the_run_goes_on(
        runs: RunStore, store: Store, settings: Settings, tmp_path: Path,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")  # the SDK's own retry deadline
    tracing = setup_tracing(settings, store_url=store.url,
                            otlp_endpoint=f"http://127.0.0.1:{_closed_port()}")
    runtime = _runtime(runs, tracing)
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert (await runtime.execute("otlp.ok")).ok
            tracing.provider.force_flush(5_000)  # one failed export per round
        tracing.shutdown()
    reports = [r for r in caplog.records if "OTLP export" in r.getMessage()]
    assert len(reports) == 1 and reports[0].levelno == logging.WARNING
    sdk_lines = [r for r in caplog.records
                 if r.name.startswith("opentelemetry.exporter") and r.levelno >= logging.WARNING]
    assert sdk_lines == []
    # The store still has every span.
    assert len(await list_traces(store)) == 3
