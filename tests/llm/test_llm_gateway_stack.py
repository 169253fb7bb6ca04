"""The gateway as one wrapper stack, wired by the composition root: a stream that falls back
is costed, recorded and cached under the model that answered (as a completion is); the prompt
guardrail runs once per call, outside the retries and the fallback, off the event loop when the
prompt is long (a short one is checked on the loop: no thread hop)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.support import Reply, ScriptedLLMServer

from aios.app import load_manifest, open_gateway, open_store
from aios.llm import CostLedger, LLMRequest, LLMResponse
from aios.llm.wrapper import WrapperProvider
from aios.observability.table import spans
from aios.security.guardrails import Guardrails
from aios.security.streaming import INLINE_CHARS
from aios.settings import Settings

# backup: $2 per million input, $4 per million output tokens; 100 in + 50 out.
BACKUP_COST = (100 * 2.0 + 50 * 4.0) / 1e6


@pytest.fixture
def servers() -> Iterator[tuple[ScriptedLLMServer, ScriptedLLMServer]]:
    with ScriptedLLMServer() as down, ScriptedLLMServer() as up:
        down.default = Reply.error(503, "down for maintenance")
        yield down, up


def _manifest(tmp_path: Path, primary: str, backup: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(f"""
models:
  primary: {{provider: openai, model: p, base_url: "{primary}/v1", api_key_env: TEST_KEY,
            prices: {{input: 1.0, output: 1.0}}}}
  backup: {{provider: openai, model: b, base_url: "{backup}/v1", api_key_env: TEST_KEY,
           prices: {{input: 2.0, output: 4.0}}}}
reliability:
  primary: {{retry: {{attempts: 2, initial_backoff_s: 0.01, max_backoff_s: 0.01}},
            fallback: [backup], timeout_s: 30, max_concurrency: 4}}
""")
    return path


def _request() -> LLMRequest:
    return LLMRequest.of("hello there", model="primary", max_tokens=50)


async def test_a_stream_that_falls_back_is_costed_recorded_and_cached_under_the_answering_model(
        tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        servers: tuple[ScriptedLLMServer, ScriptedLLMServer]) -> None:
    monkeypatch.setenv("TEST_KEY", "sk-test")
    down, up = servers
    up.default = Reply.stream(["from the ", "backup"], usage=(100, 50))
    manifest = load_manifest(_manifest(tmp_path, down.url, up.url))
    async with open_store(settings) as store:
        async with open_gateway(manifest, store=store, settings=settings) as gateway:
            final: LLMResponse | None = None
            async for chunk in gateway.stream(_request()):
                final = chunk.response or final
            assert gateway.cache is not None
            under_backup = await gateway.cache.get(_request(), gateway.model("backup"))
            under_primary = await gateway.cache.get(_request(), gateway.model("primary"))
        ledger = CostLedger(store)
        calls = await ledger.calls()
        await ledger.close()
        async with store.engine.connect() as conn:
            rows = (await conn.execute(select(spans.c.model, spans.c.cost_usd, spans.c.status)
                                       .where(spans.c.kind == "llm"))).all()
    assert len(down.requests) == 2 and len(up.requests) == 1
    assert final is not None and final.text == "from the backup"
    assert final.model == "backup" and final.cost_usd == pytest.approx(BACKUP_COST)
    assert [(c.model, c.status, c.stream) for c in calls] == [("backup", "ok", True)]
    assert calls[0].cost_usd == pytest.approx(BACKUP_COST)
    # one span per attempt: two failed ones on the primary, the answer on the backup
    assert sum(cost for _, cost, _ in rows) == pytest.approx(BACKUP_COST)
    assert sorted(status for _, _, status in rows) == ["error", "error", "unset"]
    assert under_backup is not None and under_backup.text == "from the backup"
    assert under_primary is None


async def test_the_prompt_guardrail_runs_once_per_call_outside_retries_long_ones_off_the_loop(
        tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        servers: tuple[ScriptedLLMServer, ScriptedLLMServer]) -> None:
    monkeypatch.setenv("TEST_KEY", "sk-test")
    down, up = servers
    up.default = Reply.ok("from the backup", usage=(100, 50))
    threads: list[int] = []
    check = Guardrails.check_messages

    def spy(self: Guardrails, *args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return check(self, *args, **kwargs)

    long = "hello there, " * 100  # longer than INLINE_CHARS: checked in a worker thread
    assert len(long) > INLINE_CHARS

    monkeypatch.setattr(Guardrails, "check_messages", spy)
    manifest = load_manifest(_manifest(tmp_path, down.url, up.url))
    async with open_store(settings) as store, \
            open_gateway(manifest, store=store, settings=settings) as gateway:
        reply = await gateway.complete(LLMRequest.of(long, model="primary", max_tokens=50))
        async for _ in gateway.stream(LLMRequest.of("and now a stream", model="primary")):
            pass
    assert reply.model == "backup" and reply.cost_usd == pytest.approx(BACKUP_COST)
    assert len(down.requests) == 4 and len(up.requests) == 2, "each call retried, then fell back"
    assert len(threads) == 2, "one prompt check per call, not one per attempt"
    assert threads[0] != threading.get_ident(), "the long prompt was checked on the event loop"
    assert threads[1] == threading.get_ident(), "a short prompt went to a thread and back"



async def test_the_composition_root_stacks_every_concern_as_a_wrapper_in_the_documented_order(
        tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        servers: tuple[ScriptedLLMServer, ScriptedLLMServer]) -> None:
    monkeypatch.setenv("TEST_KEY", "sk-test")
    down, up = servers
    manifest = load_manifest(_manifest(tmp_path, down.url, up.url))
    async with open_store(settings) as store, \
            open_gateway(manifest, store=store, settings=settings) as gateway:
        layer: Any = gateway.provider(gateway.model("primary"))
        names = []
        while isinstance(layer, WrapperProvider):
            names.append(type(layer).__name__)
            layer = layer.inner
        adapter = type(layer).__name__
    assert names == ["OutputCheckProvider", "GuardrailProvider", "FallbackProvider",
                     "RetryingProvider", "BreakerProvider", "BulkheadProvider",
                     "TimeLimitedProvider", "TracingProvider", "CostProvider"]
    assert adapter == "OpenAIProvider"
