"""The generic fallback chain, stream priming and relaying, stream time limits, bulkheads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from aios.errors import (
    ConfigError,
    GuardrailTripped,
    PermanentProviderError,
    StreamInterrupted,
    TransientProviderError,
)
from aios.llm.types import LLMRequest, ModelInfo, StreamChunk, Usage
from aios.reliability import (
    Alternative,
    Bulkhead,
    Classifier,
    Fallback,
    FallbackSkipped,
    FallbackUsed,
)
from aios.reliability.events import Emitter
from aios.reliability.streams import guard_stream, prime, relay
from aios.reliability.wrappers import unfit_reason


def returns(value: str):
    async def call() -> str:
        return value
    return call


def raises(error: BaseException, log: list[str] | None = None, name: str = ""):
    async def call() -> str:
        if log is not None:
            log.append(name)
        raise error
    return call


async def test_fallback_tries_alternatives_in_order_and_reports_each_step() -> None:
    events: list = []
    log: list[str] = []
    chain: Fallback[str] = Fallback("model:p/a", Classifier(), Emitter([events.append]))
    result = await chain.run([
        Alternative("a", raises(TransientProviderError("503"), log, "a")),
        Alternative("b", raises(TransientProviderError("timeout"), log, "b")),
        Alternative("c", returns("from c")),
    ])
    assert result == "from c" and log == ["a", "b"]
    assert [(e.failed, e.next) for e in events if isinstance(e, FallbackUsed)] == [
        ("a", "b"), ("b", "c")]


async def test_fallback_stops_on_a_failure_that_is_not_a_trigger() -> None:
    log: list[str] = []
    chain: Fallback[str] = Fallback("t", Classifier())
    with pytest.raises(PermanentProviderError):
        await chain.run([Alternative("a", raises(PermanentProviderError("400"), log, "a")),
                         Alternative("b", raises(AssertionError("never"), log, "b"))])
    assert log == ["a"]
    with pytest.raises(GuardrailTripped):
        await chain.run([Alternative("a", raises(GuardrailTripped("blocked"))),
                         Alternative("b", returns("x"))])


async def test_fallback_skips_unfit_alternatives_and_says_why() -> None:
    events: list = []
    chain: Fallback[str] = Fallback("t", Classifier(), Emitter([events.append]))
    assert await chain.run([Alternative("a", raises(TransientProviderError("down"))),
                            Alternative("small", returns("no"), skip="context too small"),
                            Alternative("c", returns("yes"))]) == "yes"
    assert [e.candidate for e in events if isinstance(e, FallbackSkipped)] == ["small"]


async def test_when_every_alternative_fails_the_error_lists_each() -> None:
    chain: Fallback[str] = Fallback("model:openai/a", Classifier())
    with pytest.raises(TransientProviderError) as info:
        await chain.run([
            Alternative("a (openai)", raises(TransientProviderError("HTTP 503",
                                                                    provider="openai"))),
            Alternative("b", returns("x"), skip="it does not support tools"),
            Alternative("c (anthropic)", raises(TransientProviderError("HTTP 529"))),
        ])
    text = str(info.value)
    assert "every alternative failed" in text
    assert "a (openai): TransientProviderError: HTTP 503" in text
    assert "b: skipped (it does not support tools)" in text
    assert "c (anthropic): TransientProviderError: HTTP 529" in text


async def test_a_chain_of_one_raises_the_error_itself() -> None:
    error = TransientProviderError("HTTP 503")
    with pytest.raises(TransientProviderError) as info:
        await Fallback("t", Classifier()).run([Alternative("a", raises(error))])
    assert info.value is error


async def test_all_skipped_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no alternative can serve"):
        await Fallback("t", Classifier()).run([Alternative("a", returns("x"), skip="no")])


def test_capabilities_decide_whether_a_model_can_serve_a_call() -> None:
    small = ModelInfo("small", "openai", "s", context_window=100)
    plain = ModelInfo("plain", "openai", "p", context_window=100_000)
    big = ModelInfo("big", "openai", "b", context_window=100_000, supports_tools=True,
                    supports_json=True, max_output_tokens=1000)
    long = LLMRequest.of("word " * 500)
    assert "context window (100 tokens)" in unfit_reason(long, small, streaming=False)
    assert unfit_reason(long, plain, streaming=False) is None
    tools = LLMRequest.of("hi", tools=({"type": "function", "function": {"name": "f"}},))
    assert unfit_reason(tools, plain, streaming=False) == "it does not support tools"
    assert unfit_reason(tools, big, streaming=False) is None
    as_json = LLMRequest.of("hi", response_format={})
    assert "JSON" in unfit_reason(as_json, plain, streaming=False)
    assert "max_output_tokens" in unfit_reason(LLMRequest.of("hi", max_tokens=5000), big,
                                               streaming=False)
    no_stream = ModelInfo("ns", "openai", "n", supports_streaming=False)
    assert unfit_reason(LLMRequest.of("hi"), no_stream, streaming=True) == "it does not stream"


# -- streams -------------------------------------------------------------------------------


async def chunks(*items: StreamChunk | BaseException | float) -> AsyncIterator[StreamChunk]:
    """Yield chunks; a float sleeps that long; an exception is raised."""
    for item in items:
        if isinstance(item, float):
            await asyncio.sleep(item)
        elif isinstance(item, BaseException):
            raise item
        else:
            yield item


async def collect(stream: AsyncIterator[StreamChunk]) -> str:
    return "".join([c.text async for c in stream])


async def test_prime_waits_for_the_first_token_and_keeps_everything() -> None:
    primed = await prime(chunks(StreamChunk(), StreamChunk(text="a"), StreamChunk(text="b"),
                                StreamChunk(finish_reason="stop", usage=Usage(1, 2))))
    assert await collect(primed) == "ab"


async def test_a_failure_before_the_first_token_is_raised_by_prime() -> None:
    with pytest.raises(TransientProviderError):
        await prime(chunks(StreamChunk(), TransientProviderError("reset")))


async def test_a_failure_after_delivery_says_how_much_was_delivered() -> None:
    primed = await prime(chunks(StreamChunk(text="hello "), StreamChunk(text="world"),
                                TransientProviderError("connection reset")))
    got: list[str] = []
    with pytest.raises(StreamInterrupted) as info:
        async for chunk in relay(primed, provider="openai", model="gpt"):
            got.append(chunk.text)
    assert got == ["hello ", "world"]
    assert info.value.delivered_chunks == 2 and info.value.delivered_chars == 11
    assert "2 chunk(s), 11 characters" in str(info.value) and "connection reset" in str(
        info.value)
    assert isinstance(info.value.__cause__, TransientProviderError)


async def test_guard_stream_limits_the_time_to_first_token() -> None:
    slow = chunks(StreamChunk(), 5.0, StreamChunk(text="late"))
    with pytest.raises(TransientProviderError, match=r"no first token within 0\.05 s"):
        await asyncio.wait_for(collect(guard_stream(slow, ttft_s=0.05, idle_s=None,
                                                    provider="p", model="m")), 5)


async def test_guard_stream_limits_idle_gaps_after_the_first_token() -> None:
    stalls = chunks(StreamChunk(text="a"), 0.01, StreamChunk(text="b"), 5.0,
                    StreamChunk(text="c"))
    got: list[str] = []
    with pytest.raises(TransientProviderError, match=r"sent nothing for 0\.1 s"):
        async for chunk in guard_stream(stalls, ttft_s=None, idle_s=0.1, provider="p",
                                        model="m"):
            got.append(chunk.text)
    assert got == ["a", "b"]


async def test_guard_stream_passes_a_healthy_stream_through() -> None:
    healthy = chunks(StreamChunk(text="a"), 0.01, StreamChunk(text="b"))
    assert await collect(guard_stream(healthy, ttft_s=1, idle_s=1, provider="p",
                                      model="m")) == "ab"


async def test_a_bulkhead_caps_concurrency() -> None:
    slots = Bulkhead("provider:p", 2)
    state = {"now": 0, "peak": 0}

    async def work() -> None:
        async with slots:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
            await asyncio.sleep(0.01)
            state["now"] -= 1

    await asyncio.wait_for(asyncio.gather(*(work() for _ in range(8))), 5)
    assert state["peak"] == 2 and slots.in_flight == 0
