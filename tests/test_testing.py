"""`aios.testing.ScriptedProvider`: answers from its script under a real gateway, in order,
with usage, errors, streams, and a clear error when the script runs out."""

from __future__ import annotations

import pytest

from aios.errors import ConfigError, PermanentProviderError, TransientProviderError
from aios.llm import LLMRequest, ModelInfo, Usage
from aios.reliability import ReliabilityPolicy
from aios.reliability.clock import NoSleepClock
from aios.reliability.wrappers import reliability_wrappers
from aios.testing import ScriptedProvider, Turn

_MODEL = ModelInfo("scripted", "scripted", "scripted")


async def test_answers_in_script_order_then_echoes_and_records_every_request() -> None:
    provider = ScriptedProvider("first", Turn("second", usage=Usage(1000, 500)))
    gateway = provider.gateway(input_price=2.5, output_price=10.0)
    first = await gateway.complete("one")
    second = await gateway.complete("two")
    third = await gateway.complete("echo me")
    assert [first.text, second.text, third.text] == ["first", "second", "echo me"]
    assert first.usage.counted and not second.usage.counted
    assert second.cost_usd == pytest.approx(0.0075)  # priced by the gateway, not the script
    assert [r.messages[-1].content for r in provider.requests] == ["one", "two", "echo me"]
    assert provider.pending == 0


async def test_a_scripted_transient_error_is_retried_by_the_real_retry_wrapper() -> None:
    provider = ScriptedProvider(TransientProviderError("busy"), "after the retry")
    policy = ReliabilityPolicy.model_validate({"retry": {"attempts": 2}})
    gateway = provider.gateway(wrappers=reliability_wrappers(policy, clock=NoSleepClock()))
    reply = await gateway.complete("hi")
    assert reply.text == "after the retry" and len(provider.calls) == 2


async def test_streams_piece_by_piece_and_fails_mid_stream_when_told() -> None:
    provider = ScriptedProvider(
        "a streamed answer",
        Turn("never whole", error=PermanentProviderError("reset"), fail_after=1))
    gateway = provider.gateway()
    chunks = [c async for c in gateway.stream("hi")]
    assert [c.text for c in chunks[:-1]] == ["a ", "streamed ", "answer"]
    assert chunks[-1].response is not None and chunks[-1].response.text == "a streamed answer"
    seen: list[str] = []
    with pytest.raises(PermanentProviderError, match="reset"):
        async for chunk in gateway.stream("again"):
            seen.append(chunk.text)
    assert seen == ["never "]


async def test_a_stream_can_end_without_usage_like_some_adapters() -> None:
    provider = ScriptedProvider(Turn("one two", stream_usage=False), "three four")
    without = [c async for c in provider.stream(LLMRequest.of("a"), _MODEL)]
    with_usage = [c async for c in provider.stream(LLMRequest.of("b"), _MODEL)]
    assert [c.text for c in without] == ["one ", "two", ""]
    assert all(c.usage is None for c in without)
    assert with_usage[-1].usage is not None and with_usage[-1].usage.counted


async def test_running_out_of_script_without_a_default_says_how_to_fix_it() -> None:
    provider = ScriptedProvider("only one", default=None)
    model = provider.gateway().model("scripted")
    await provider.complete(LLMRequest.of("x"), model)
    with pytest.raises(ConfigError, match=r"call 2 .*script more with \.script"):
        await provider.complete(LLMRequest.of("y"), model)


async def test_a_scripted_gateway_handed_to_the_runtime_answers_handlers(tmp_path, settings
                                                                        ) -> None:
    from aios.app import load_manifest, open_runtime
    from aios.runtime import ActionContext, handler

    @handler("t.summarise")
    async def summarise(ctx: ActionContext) -> dict[str, str]:
        reply = await ctx.llm.complete(f"summarise for {ctx.action}")
        return {"text": reply.text}

    path = tmp_path / "aios.yaml"
    path.write_text("""
agents:
  t:
    actions:
      summarise: {handler: t.summarise}
sequences:
  one:
    steps: [{action: t.summarise}]
""")
    provider = ScriptedProvider("all quiet")
    manifest = load_manifest(path, handlers=[summarise])
    async with open_runtime(manifest, settings=settings, handlers=[summarise],
                            llm=provider.gateway()) as runtime:
        result = await runtime.run("one")
    assert result.ok, result.error
    assert result.steps["t.summarise"].result == {"text": "all quiet"}
    [request] = provider.requests
    assert (request.run_id, request.action) == (result.run_id, "t.summarise")
