"""The gateway: model choice, capability and context checks, JSON output, cache, wrappers,
bound context, configuration errors. Providers are the real adapters on the scripted server,
or a trivial in-process one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.llm.llm_helpers import anthropic_spec, gateway_for, openai_spec
from tests.support import Reply

from aios.errors import (
    ConfigError,
    InvalidOutput,
    ManifestError,
    NotFoundError,
    PermanentProviderError,
)
from aios.llm import (
    Gateway,
    LLMRequest,
    LLMResponse,
    ModelInfo,
    ModelPrices,
    ModelSpec,
    build_gateway,
)
from aios.llm.providers import provider_class
from aios.llm.wrapper import WrapperProvider
from aios.manifest import load_manifest
from aios.testing import ScriptedProvider, Turn

FREE_PRICES = ModelPrices(input=0, output=0)


async def test_both_wire_formats_through_the_gateway(server, gateways):
    gateway = gateway_for({"gpt": openai_spec(server, tier="simple"),
                           "claude": anthropic_spec(server, tier="complex")})
    gateways.append(gateway)
    server.script(Reply.ok("from openai", usage=(10, 3)), Reply.ok("from claude", usage=(8, 2)))
    first = await gateway.complete("hi", tier="simple")
    second = await gateway.complete("hi", tier="complex")
    assert (first.text, first.model, first.provider) == ("from openai", "gpt", "openai")
    assert (second.text, second.model, second.provider) == ("from claude", "claude",
                                                             "anthropic")
    assert server.paths == ["/v1/chat/completions", "/v1/messages"]
    assert first.cost_usd > 0 and second.cost_usd > 0  # genai-prices knows both models


async def test_streaming_through_the_gateway_ends_with_the_whole_response(server, gateways):
    gateway = gateway_for({"gpt": openai_spec(server)})
    gateways.append(gateway)
    server.script(Reply.stream(["a", "b", "c"], usage=(5, 3)))
    chunks = [c async for c in gateway.stream("hi")]
    assert "".join(c.text for c in chunks) == "abc"
    final = chunks[-1].response
    assert final is not None and final.text == "abc" and final.model == "gpt"
    assert final.usage.output_tokens == 3 and final.ttft_s is not None
    assert final.cost_usd > 0 and final.latency_s >= final.ttft_s


async def test_missing_api_key_names_the_variable(server):
    gateway = gateway_for({"gpt": openai_spec(server, api_key_env="MY_PROJECT_OPENAI_KEY")},
                          env={})
    with pytest.raises(ConfigError, match="MY_PROJECT_OPENAI_KEY"):
        await gateway.complete("hi")
    assert server.requests == []


async def test_official_endpoint_without_key_names_the_usual_variable():
    gateway = build_gateway({"gpt": ModelSpec(provider="openai", model="gpt-4o-mini")}, env={})
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        await gateway.complete("hi")


def test_api_key_env_rejects_a_key_pasted_in_place_of_a_name():
    with pytest.raises(ValueError, match="NAME of the environment variable"):
        ModelSpec(provider="openai", model="gpt-4o", api_key_env="sk-proj-abc123")


def test_unknown_provider_lists_the_registered_ones(tmp_path: Path):
    path = tmp_path / "m.yaml"
    path.write_text("models:\n  x:\n    provider: nonesuch\n    model: m\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert "nonesuch" in message and "anthropic, local, openai" in message
    assert "m.yaml:3" in message
    with pytest.raises(ConfigError, match="registered providers: anthropic, local, openai"):
        provider_class("nonesuch")


async def test_unknown_model_lists_the_configured_ones(server, gateways):
    gateway = gateway_for({"gpt": openai_spec(server), "claude": anthropic_spec(server)})
    gateways.append(gateway)
    with pytest.raises(NotFoundError, match="configured models: claude, gpt"):
        await gateway.complete("hi", model="gpt-5-ultra")
    assert server.requests == []


async def test_a_prompt_longer_than_the_window_is_never_sent(server, gateways):
    gateway = gateway_for({"tiny": openai_spec(server, context_window=50),
                           "small": anthropic_spec(server, context_window=80)})
    gateways.append(gateway)
    long_prompt = "word " * 400
    with pytest.raises(PermanentProviderError) as caught:
        await gateway.complete(long_prompt)
    message = str(caught.value)
    assert "tiny (context 50" in message and "small (context 80" in message
    with pytest.raises(PermanentProviderError, match="tiny"):
        await gateway.complete(long_prompt, model="tiny")
    with pytest.raises(PermanentProviderError):
        [c async for c in gateway.stream(long_prompt, model="small")]
    assert server.requests == []


async def test_output_cap_is_clamped_to_what_the_window_leaves(server, gateways):
    gateway = gateway_for({"m": openai_spec(server, context_window=100)})
    gateways.append(gateway)
    await gateway.complete("hello", max_tokens=5000)
    assert 0 < server.requests[0]["max_tokens"] < 100


async def test_tier_picks_the_cheapest_model_that_fits(server, gateways):
    gateway = gateway_for({
        "pricey": openai_spec(server, prices=ModelPrices(input=5, output=15)),
        "cheap_small": openai_spec(server, prices=ModelPrices(input=0.1, output=0.2),
                                   context_window=40),
        "cheap": openai_spec(server, prices=ModelPrices(input=0.5, output=1.5)),
    })
    gateways.append(gateway)
    assert (await gateway.complete("short")).model == "cheap_small"
    response = await gateway.complete("a longer prompt " * 20)
    assert response.model == "cheap"
    assert response.route_reason is not None and "cheapest simple" in response.route_reason


async def test_a_missing_tier_falls_back_to_the_nearest(server, gateways):
    gateway = gateway_for({"only": openai_spec(server, tier="medium")})
    gateways.append(gateway)
    response = await gateway.complete("hi", tier="complex")
    assert response.model == "only" and "no complex model" in (response.route_reason or "")
    with pytest.raises(ConfigError, match="tiers: simple, medium, complex"):
        await gateway.complete("hi", tier="huge")


@dataclass(frozen=True)
class Decision:
    model: str
    reason: str


class PickLast:
    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def route(self, request: LLMRequest, candidates: list[ModelInfo]) -> Decision:
        self.seen.append([m.name for m in candidates])
        return Decision(candidates[-1].name, "router liked it")


async def test_router_decides_when_no_model_or_tier_is_given():
    router = PickLast()
    gateway = Gateway(
        {"a": ModelInfo("a", "openai", "x", context_window=10_000),
         "b": ModelInfo("b", "openai", "y", context_window=10_000),
         "c": ModelInfo("c", "openai", "z", context_window=5)},
        providers={"a": ScriptedProvider(), "b": ScriptedProvider(), "c": ScriptedProvider()},
        router=router)
    response = await gateway.complete("hello router")
    assert response.model == "b" and response.route_reason == "router liked it"
    assert router.seen == [["a", "b"]]  # "c" is too small for the prompt
    assert (await gateway.complete("hi", tier="simple")).route_reason != "router liked it"


async def test_tools_need_a_model_that_supports_them():
    gateway = Gateway({"plain": ModelInfo("plain", "openai", "x", supports_tools=False),
                       "tooled": ModelInfo("tooled", "openai", "y", supports_tools=True,
                                           input_price=9, output_price=9)},
                      providers={"plain": ScriptedProvider(), "tooled": ScriptedProvider()})
    tool = {"type": "function", "function": {"name": "f", "parameters": {}}}
    assert (await gateway.complete("q", tools=[tool])).model == "tooled"
    with pytest.raises(ConfigError, match="does not support tools"):
        await gateway.complete("q", tools=[tool], model="plain")


async def test_invalid_json_when_json_was_required_is_a_clear_error(server, gateways):
    gateway = gateway_for({"gpt": openai_spec(server)})
    gateways.append(gateway)
    server.script(Reply.ok("Sure! here it is: {answer: 4"))
    with pytest.raises(InvalidOutput, match="does not parse") as caught:
        await gateway.complete("give json", response_format={})
    assert isinstance(caught.value, PermanentProviderError)
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}},
              "required": ["answer"]}
    server.script(Reply.ok('{"answer": "four"}'))
    with pytest.raises(InvalidOutput, match="answer: 'four' is not of type 'integer'"):
        await gateway.complete("give json", response_format=schema)
    server.script(Reply.ok('```json\n{"answer": 4}\n```'))
    assert (await gateway.complete("give json", response_format=schema)).text == \
        '{"answer": 4}'


class DictCache:
    def __init__(self) -> None:
        self.store: dict[str, LLMResponse] = {}
        self.calls: list[str] = []

    async def get(self, request: LLMRequest, model: ModelInfo) -> LLMResponse | None:
        self.calls.append("get")
        return self.store.get(request.prompt_text)

    async def put(self, request: LLMRequest, model: ModelInfo, response: LLMResponse) -> None:
        self.calls.append("put")
        self.store[request.prompt_text] = response


async def test_cache_answers_before_the_provider_and_costs_nothing(server, gateways):
    cache = DictCache()
    gateway = gateway_for({"gpt": openai_spec(server)}, cache=cache)
    gateways.append(gateway)
    first = await gateway.complete("same question")
    second = await gateway.complete("same question")
    assert len(server.requests) == 1
    assert not first.cached and first.cost_usd > 0
    assert second.cached and second.cost_usd == 0.0 and second.text == first.text
    streamed = [c async for c in gateway.stream("same question")]
    assert streamed[-1].response is not None and streamed[-1].response.cached
    await gateway.complete("same question", cache=False)
    assert len(server.requests) == 2
    assert cache.calls == ["get", "put", "get", "get"]


async def test_wrappers_wrap_in_order_around_the_provider():
    order: list[str] = []

    class Tag(WrapperProvider):
        def __init__(self, inner: Any, label: str):
            super().__init__(inner)
            self.label = label

        async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
            order.append(self.label)
            return await self.inner.complete(request, model)

    gateway = Gateway({"m": ModelInfo("m", "openai", "x")}, providers={"m": ScriptedProvider()},
                      wrappers=[lambda p, m: Tag(p, "retry"), lambda p, m: Tag(p, "trace")])
    await gateway.complete("hi")
    assert order == ["trace", "retry"]  # the last wrapper is the outermost


async def test_bind_stamps_context_but_explicit_fields_win():
    echo = ScriptedProvider()
    gateway = Gateway({"m": ModelInfo("m", "openai", "x")}, providers={"m": echo})
    bound = gateway.bind(run_id="r1", agent="kernel", action="kernel.ps", tenant="acme")
    await bound.complete("hi")
    await bound.bind(user="ann").complete(LLMRequest.of("hi", tenant="other"))
    [c async for c in bound.stream("hi")]
    first, second, third = echo.requests
    assert (first.run_id, first.agent, first.action, first.tenant) == ("r1", "kernel",
                                                                      "kernel.ps", "acme")
    assert (second.tenant, second.user, second.run_id) == ("other", "ann", "r1")
    assert third.run_id == "r1"
    with pytest.raises(ConfigError, match="bind"):
        gateway.bind(colour="red")


async def test_a_model_that_cannot_stream_still_streams_one_chunk():
    gateway = Gateway({"m": ModelInfo("m", "openai", "x", supports_streaming=False)},
                      providers={"m": ScriptedProvider(default="whole answer")})
    chunks = [c async for c in gateway.stream("hi")]
    assert chunks[0].text == "whole answer" and chunks[-1].response is not None


async def test_a_stream_without_usage_is_counted_by_the_gateway():
    no_usage = ScriptedProvider(Turn("one two three", stream_usage=False))
    gateway = Gateway({"m": ModelInfo("m", "openai", "x")}, providers={"m": no_usage})
    final = [c async for c in gateway.stream("count me")][-1].response
    assert final is not None and final.text == "one two three"
    assert final.usage.counted and final.usage.input_tokens > 0
    assert final.usage.output_tokens > 0


def test_evolve_copies_a_frozen_record_and_refuses_unknown_fields():
    from aios.llm.types import Usage, evolve

    response = LLMResponse("t", "m", "p", usage=Usage(1, 2))
    copy = evolve(response, cost_usd=0.5)
    assert copy == LLMResponse("t", "m", "p", usage=Usage(1, 2), cost_usd=0.5)
    assert response.cost_usd == 0.0  # the original is untouched
    with pytest.raises(TypeError, match="cost_usdd"):
        evolve(response, cost_usdd=1.0)
