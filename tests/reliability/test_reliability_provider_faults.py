"""Faults through the real `openai` and `anthropic` adapters against a scripted HTTP server,
wrapped as the gateway wraps them: 429 storms, 5xx bursts, resets, malformed bodies, hangs,
stalled streams, a provider down for the whole test, a deterministic 400. Every test is bounded
by an asyncio timeout; backoff waits are skipped with `NoSleepClock`."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import anthropic  # noqa: F401 - imported here, not in a test's first call (takes seconds)
import openai  # noqa: F401
import pytest
from tests.support import Reply, ScriptedLLMServer

from aios.errors import (
    CircuitOpen,
    PermanentProviderError,
    StreamInterrupted,
    TransientProviderError,
)
from aios.llm.provider import Provider
from aios.llm.providers import AnthropicProvider, OpenAIProvider
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo
from aios.reliability import (
    BreakerPolicy,
    BreakerRegistry,
    FallbackUsed,
    NoSleepClock,
    ReliabilityPolicy,
    RetryPolicy,
    StreamPolicy,
    reliability_wrappers,
)

LIMIT = 20  # seconds: no test may take longer, whatever the fault
_OPENED: list[Any] = []


@pytest.fixture(autouse=True)
async def _close_clients() -> Any:
    yield
    while _OPENED:  # close the SDK clients on the test's own loop
        await _OPENED.pop().aclose()


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as s:
        yield s


@pytest.fixture
def backup_server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer(default=Reply.ok("from the backup")) as s:
        yield s


def policy(**overrides: Any) -> ReliabilityPolicy:
    base: dict[str, Any] = {
        "retry": RetryPolicy(attempts=4, initial_backoff_s=0.5, max_total_s=60),
        "breaker": BreakerPolicy(window=10, min_calls=50),  # out of the way unless asked
        "timeout_s": 10.0, "stream": StreamPolicy(ttft_s=10.0, idle_s=10.0)}
    base.update(overrides)
    return ReliabilityPolicy(**base)


def model(server: ScriptedLLMServer | None, name: str = "primary", kind: str = "openai",
          url: str | None = None) -> tuple[Provider, ModelInfo]:
    base = url or (server.url + ("/v1" if kind == "openai" else ""))  # type: ignore[union-attr]
    info = ModelInfo(name=name, provider=kind, model_id=f"{name}-id", base_url=base,
                     timeout_s=10, context_window=100_000)
    cls = OpenAIProvider if kind == "openai" else AnthropicProvider
    provider = cls(info, api_key="test-key")
    _OPENED.append(provider)
    return provider, info


def wrap(models: list[tuple[Provider, ModelInfo]], policies: dict[str, ReliabilityPolicy],
         *, clock: NoSleepClock | None = None, events: list | None = None,
         breakers: BreakerRegistry | None = None) -> dict[str, tuple[Provider, ModelInfo]]:
    """Apply the reliability wrappers as the gateway does (innermost first), per model."""
    clock = clock or NoSleepClock()
    wrappers = reliability_wrappers(policies, default=policy(), clock=clock,
                                    breakers=breakers,
                                    listeners=[events.append] if events is not None else [])
    wrapped = {}
    for provider, info in models:
        for wrapper in wrappers:
            provider = wrapper(provider, info)
        wrapped[info.name] = (provider, info)
    return wrapped


async def complete(pair: tuple[Provider, ModelInfo], prompt: str = "hi") -> LLMResponse:
    provider, info = pair
    return await asyncio.wait_for(provider.complete(LLMRequest.of(prompt), info), LIMIT)


async def stream_text(pair: tuple[Provider, ModelInfo], into: list[str] | None = None) -> str:
    provider, info = pair
    got = into if into is not None else []

    async def consume() -> None:
        async for chunk in provider.stream(LLMRequest.of("hi"), info):
            got.append(chunk.text)

    await asyncio.wait_for(consume(), LIMIT)
    return "".join(got)


# -- rate limits and server errors ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_429_storm_with_retry_after_waits_as_asked(server: ScriptedLLMServer,
                                                           kind: str) -> None:
    clock = NoSleepClock()
    server.script(*[Reply.error(429, "slow down", headers={"retry-after": "2"})] * 3,
                  Reply.ok("finally"))
    pair = wrap([model(server, kind=kind)], {}, clock=clock)["primary"]
    response = await complete(pair)
    assert response.text == "finally"
    assert len(server.requests) == 4
    assert len(clock.slept) == 3 and all(s >= 2 for s in clock.slept)


async def test_a_429_storm_without_retry_after_backs_off(server: ScriptedLLMServer) -> None:
    clock = NoSleepClock()
    server.script(*[Reply.error(429, "rate limited")] * 3, Reply.ok("ok"))
    pair = wrap([model(server)], {"primary": policy(retry=RetryPolicy(
        attempts=5, initial_backoff_s=1, max_backoff_s=8, jitter=False))}, clock=clock)["primary"]
    assert (await complete(pair)).text == "ok"
    assert clock.slept == [1, 2, 4]


async def test_retry_after_longer_than_the_budget_fails_at_once(server: ScriptedLLMServer
                                                                ) -> None:
    server.script(Reply.error(429, "quota", headers={"retry-after": "3600"}))
    pair = wrap([model(server)], {})["primary"]
    with pytest.raises(TransientProviderError, match="Retry-After") as info:
        await complete(pair)
    assert len(server.requests) == 1
    assert "3600 s" in str(info.value)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_5xx_burst_is_ridden_out(server: ScriptedLLMServer, kind: str) -> None:
    server.script(Reply.error(500), Reply.error(503), Reply.error(529 if kind == "anthropic"
                                                                  else 502), Reply.ok("up"))
    pair = wrap([model(server, kind=kind)], {})["primary"]
    assert (await complete(pair)).text == "up"
    assert len(server.requests) == 4


async def test_a_deterministic_400_is_not_retried(server: ScriptedLLMServer) -> None:
    server.script(Reply.error(400, "messages: field required"), Reply.ok("never"))
    pair = wrap([model(server)], {})["primary"]
    with pytest.raises(PermanentProviderError, match="HTTP 400"):
        await complete(pair)
    assert len(server.requests) == 1


# -- broken connections and bodies ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_connection_resets_are_retried(server: ScriptedLLMServer, kind: str) -> None:
    server.script(Reply.reset(), Reply.reset(), Reply.ok("after resets"))
    pair = wrap([model(server, kind=kind)], {})["primary"]
    assert (await complete(pair)).text == "after resets"
    assert len(server.requests) == 3


async def test_malformed_json_is_retried(server: ScriptedLLMServer) -> None:
    server.script(Reply.malformed(), Reply.ok("well formed"))
    pair = wrap([model(server)], {})["primary"]
    assert (await complete(pair)).text == "well formed"
    assert len(server.requests) == 2


async def test_a_hung_request_times_out_and_is_retried(server: ScriptedLLMServer) -> None:
    server.script(Reply.hang(15), Reply.ok("answered"))
    pair = wrap([model(server)], {"primary": policy(timeout_s=0.3)})["primary"]
    assert (await complete(pair)).text == "answered"
    assert len(server.requests) == 2


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens there any more


async def test_a_closed_port_fails_clearly_after_the_retries() -> None:
    events: list = []
    pair = wrap([model(None, url=closed_port_url())], {}, events=events)["primary"]
    with pytest.raises(TransientProviderError) as info:
        await complete(pair)
    text = str(info.value)
    assert "openai" in text and "cannot reach" in text and "gave up after 4 attempts" in text


# -- streams ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_stream_stalled_before_its_first_token_is_reissued(server: ScriptedLLMServer,
                                                                   kind: str) -> None:
    server.script(Reply.stream(["never"], stall_before_first=15),
                  Reply.stream(["hel", "lo"]))
    pair = wrap([model(server, kind=kind)], {"primary": policy(
        stream=StreamPolicy(ttft_s=0.3, idle_s=1))})["primary"]
    assert await stream_text(pair) == "hello"
    assert len(server.requests) == 2


async def test_a_stream_reset_before_its_first_token_is_reissued(server: ScriptedLLMServer
                                                                 ) -> None:
    server.script(Reply.reset(), Reply.stream(["a", "b"]))
    pair = wrap([model(server)], {})["primary"]
    assert await stream_text(pair) == "ab"
    assert len(server.requests) == 2


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_stream_stalled_midway_fails_saying_what_was_delivered(
        server: ScriptedLLMServer, kind: str) -> None:
    server.script(Reply.stream(["one ", "two ", "three"], stall_after=1, stall_seconds=15))
    pair = wrap([model(server, kind=kind)], {"primary": policy(
        stream=StreamPolicy(ttft_s=1, idle_s=0.3))})["primary"]
    got: list[str] = []
    with pytest.raises(StreamInterrupted) as info:
        await stream_text(pair, got)
    assert "".join(got) == "one two "
    assert info.value.delivered_chars == len("one two ")
    assert "not re-sent" in str(info.value) and "stream.idle_s" in str(info.value)
    assert len(server.requests) == 1  # never re-issued once text reached the caller


async def test_a_stream_reset_midway_is_never_silently_truncated(server: ScriptedLLMServer
                                                                 ) -> None:
    server.script(Reply.stream(["a", "b", "c", "d"], reset_after=2))
    pair = wrap([model(server)], {})["primary"]
    got: list[str] = []
    with pytest.raises(StreamInterrupted) as info:
        await stream_text(pair, got)
    assert "".join(got) == "ab" and info.value.delivered_chars == 2
    assert len(server.requests) == 1


# -- a provider down for the whole test ---------------------------------------------------------


async def test_fallback_to_a_second_model_when_the_provider_is_down(
        server: ScriptedLLMServer, backup_server: ScriptedLLMServer) -> None:
    events: list = []
    server.default = Reply.error(503, "service unavailable")
    models = wrap([model(server, "primary"), model(backup_server, "backup", kind="anthropic")],
                  {"primary": policy(fallback=("backup",))}, events=events)
    response = await complete(models["primary"])
    assert response.text == "from the backup" and response.model == "backup"
    assert response.provider == "anthropic"
    assert len(server.requests) == 4 and len(backup_server.requests) == 1
    used = [e for e in events if isinstance(e, FallbackUsed)]
    assert used[0].failed == "primary (openai)" and used[0].next == "backup (anthropic)"


async def test_a_stream_falls_back_before_its_first_token(
        server: ScriptedLLMServer, backup_server: ScriptedLLMServer) -> None:
    server.default = Reply.error(503)
    backup_server.default = Reply.stream(["spare ", "answer"])
    models = wrap([model(server, "primary"), model(backup_server, "backup")],
                  {"primary": policy(fallback=("backup",))})
    assert await stream_text(models["primary"]) == "spare answer"


async def test_with_no_fallback_the_error_names_the_provider_and_the_last_cause(
        server: ScriptedLLMServer) -> None:
    server.default = Reply.error(503, "upstream overloaded")
    pair = wrap([model(server)], {})["primary"]
    with pytest.raises(TransientProviderError) as info:
        await complete(pair)
    text = str(info.value)
    assert "openai" in text and "HTTP 503" in text and "upstream overloaded" in text
    assert "gave up after 4 attempts" in text


async def test_fallback_skips_a_model_whose_context_window_is_too_small(
        server: ScriptedLLMServer, backup_server: ScriptedLLMServer) -> None:
    server.default = Reply.error(503)
    tiny_provider, tiny = model(backup_server, "tiny")
    tiny = ModelInfo(**{**tiny.__dict__, "context_window": 16})
    events: list = []
    models = wrap([model(server, "primary"), (tiny_provider, tiny)],
                  {"primary": policy(fallback=("tiny",))}, events=events)
    with pytest.raises(TransientProviderError, match="context window") as info:
        await complete(models["primary"], "a long prompt " * 50)
    assert len(backup_server.requests) == 0
    assert "tiny (openai): skipped" in str(info.value)


async def test_the_breaker_opens_then_recovers(server: ScriptedLLMServer,
                                               backup_server: ScriptedLLMServer) -> None:
    clock = NoSleepClock()
    events: list = []
    breakers = BreakerRegistry(clock=clock, listeners=[events.append])
    server.default = Reply.error(503, "down")
    models = wrap([model(server, "primary"), model(backup_server, "backup")],
                  {"primary": policy(retry=RetryPolicy(attempts=1), fallback=("backup",),
                                     breaker=BreakerPolicy(window=4, min_calls=4,
                                                           cooldown_s=30))},
                  clock=clock, breakers=breakers, events=events)
    for _ in range(4):
        assert (await complete(models["primary"])).model == "backup"
    assert len(server.requests) == 4
    # Open: the primary is not called at all; the backup answers at once.
    for _ in range(5):
        assert (await complete(models["primary"])).model == "backup"
    assert len(server.requests) == 4
    # The provider comes back; after the cool-down a trial call closes the breaker.
    server.default = Reply.ok("primary is back")
    clock.advance(31)
    assert (await complete(models["primary"])).text == "primary is back"
    assert [(e.old, e.new) for e in events if hasattr(e, "new")] == [
        ("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    assert (await complete(models["primary"])).model == "primary"


async def test_an_open_breaker_without_fallback_fails_fast_naming_it(
        server: ScriptedLLMServer) -> None:
    server.default = Reply.error(500)
    pair = wrap([model(server)], {"primary": policy(
        retry=RetryPolicy(attempts=1), breaker=BreakerPolicy(window=3, min_calls=3))})["primary"]
    for _ in range(3):
        with pytest.raises(TransientProviderError):
            await complete(pair)
    with pytest.raises(CircuitOpen, match="model:openai/primary is open") as info:
        await complete(pair)
    assert info.value.retry_in > 0 and len(server.requests) == 3


async def test_the_bulkhead_caps_calls_in_flight_per_provider(server: ScriptedLLMServer
                                                              ) -> None:
    server.default = Reply.stream(["x"], stall_before_first=0.05)
    models = wrap([model(server, "a"), model(server, "b")],
                  {"a": policy(max_concurrency=2), "b": policy(max_concurrency=2)})
    provider_a, _ = models["a"]
    provider_b, _ = models["b"]
    assert provider_a is not provider_b
    results = await asyncio.wait_for(asyncio.gather(
        *(complete(models["a" if i % 2 else "b"]) for i in range(6))), LIMIT)
    assert len(results) == 6
    # Both models share the provider's bulkhead.
    from aios.reliability.wrappers import BulkheadProvider

    def find(p: Provider) -> BulkheadProvider:
        while not isinstance(p, BulkheadProvider):
            p = p.inner  # type: ignore[attr-defined]
        return p

    assert find(provider_a).slots is find(provider_b).slots


async def test_through_the_gateway_a_lazily_built_fallback_model_answers(
        server: ScriptedLLMServer, backup_server: ScriptedLLMServer) -> None:
    """The lead's wiring: the wrappers in the Gateway, `resolve` building a model on demand."""
    from aios.llm import Gateway

    server.default = Reply.error(503, "primary down")
    infos = {name: ModelInfo(name=name, provider="openai", model_id=f"{name}-id",
                             base_url=f"{srv.url}/v1", timeout_s=10, context_window=100_000)
             for name, srv in (("primary", server), ("backup", backup_server))}
    events: list = []
    gateway: Gateway | None = None

    def build(name: str) -> object:
        assert gateway is not None
        return gateway._provider(gateway.model(name))

    wrappers = reliability_wrappers({"primary": policy(fallback=("backup",))}, default=policy(),
                                    clock=NoSleepClock(), listeners=[events.append],
                                    resolve=build)
    gateway = Gateway(infos, env={}, wrappers=wrappers)
    try:
        response = await asyncio.wait_for(gateway.complete("hello", model="primary"), LIMIT)
        assert response.text == "from the backup" and response.model == "backup"
        assert len(server.requests) == 4 and len(backup_server.requests) == 1
        assert any(isinstance(e, FallbackUsed) for e in events)
    finally:
        await gateway.aclose()
