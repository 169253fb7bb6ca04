"""The `anthropic` adapter over a real HTTP server: Messages wire format, system mapping,
SSE events, usage normalisation (cache tokens inside input_tokens), error translation."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from tests.support import Reply, ScriptedLLMServer

from aios.errors import PermanentProviderError, TransientProviderError
from aios.llm import LLMRequest, Message, ModelInfo, ToolCall
from aios.llm.providers import AnthropicProvider


def model_on(server: ScriptedLLMServer, **extra: Any) -> ModelInfo:
    fields: dict[str, Any] = {"name": "smart", "provider": "anthropic",
                              "model_id": "claude-sonnet-4-0", "base_url": server.url,
                              "timeout_s": 5.0, "max_output_tokens": 512}
    fields.update(extra)
    return ModelInfo(**fields)


@pytest.fixture
async def provider(server: ScriptedLLMServer) -> Any:
    made = AnthropicProvider(model_on(server), api_key="sk-ant-test")
    yield made
    await made.aclose()


async def test_complete_maps_system_prompt_and_parameters(server, provider):
    server.script(Reply.ok("bonjour", usage=(20, 4)))
    request = LLMRequest.of("hi", system="answer in French", temperature=0.1, stop=("##",))
    response = await provider.complete(request, model_on(server))
    assert response.text == "bonjour" and response.finish_reason == "stop"
    body = server.requests[0]
    assert server.paths[0] == "/v1/messages"
    assert body["system"] == "answer in French"
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["max_tokens"] == 512  # the model's output cap: the API requires one
    assert body["stop_sequences"] == ["##"] and body["temperature"] == 0.1
    headers = server.request_headers[0]
    assert "sk-ant-test" in (headers.get("x-api-key", "") + headers.get("authorization", ""))


@pytest.mark.parametrize(("choice", "wire"), [
    ("auto", {"type": "auto"}), ("required", {"type": "any"}), ("none", {"type": "none"}),
    ("lookup", {"type": "tool", "name": "lookup"})])
async def test_tool_choice_goes_out_in_anthropic_form(server, provider, choice, wire):
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    await provider.complete(LLMRequest.of("q", tools=(tool,), tool_choice=choice),
                            model_on(server))
    assert server.requests[0]["tool_choice"] == wire


async def test_usage_puts_cache_tokens_inside_input_tokens(server, provider):
    server.script(Reply.ok("x", usage=(30, 7), cache_read=200, cache_write=50))
    usage = (await provider.complete(LLMRequest.of("q"), model_on(server))).usage
    # Anthropic reports input_tokens WITHOUT cache tokens; the gateway's convention is all.
    assert usage.input_tokens == 30 + 200 + 50
    assert (usage.cache_read_tokens, usage.cache_write_tokens) == (200, 50)
    assert usage.output_tokens == 7


async def test_tools_are_sent_in_anthropic_form_and_tool_use_comes_back(server, provider):
    tool = {"type": "function", "function": {"name": "lookup", "description": "find",
                                             "parameters": {"type": "object"}}}
    server.script(Reply.ok("", tool_calls=[{"name": "lookup", "arguments": {"q": 1},
                                            "id": "tu_1"}]))
    response = await provider.complete(LLMRequest.of("q", tools=(tool,)), model_on(server))
    assert server.requests[0]["tools"] == [{"name": "lookup", "description": "find",
                                            "input_schema": {"type": "object"}}]
    assert response.tool_calls == (ToolCall("tu_1", "lookup", '{"q": 1}'),)
    assert response.finish_reason == "tool_calls"
    follow = LLMRequest(messages=(Message("user", "q"),
                                  Message("assistant", "", tool_calls=response.tool_calls),
                                  Message("tool", "42", tool_call_id="tu_1")))
    await provider.complete(follow, model_on(server))
    sent = server.requests[1]["messages"]
    assert sent[1]["content"][0] == {"type": "tool_use", "id": "tu_1", "name": "lookup",
                                     "input": {"q": 1}}
    assert sent[2] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "tu_1", "content": "42"}]}


async def test_json_request_becomes_a_system_instruction(server, provider):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    await provider.complete(LLMRequest.of("q", response_format=schema), model_on(server))
    assert json.dumps(schema) in server.requests[0]["system"]


async def test_stream_relays_text_deltas_and_final_usage(server, provider):
    server.script(Reply.stream(["Bon", "jour"], usage=(11, 2)))
    chunks = [c async for c in provider.stream(LLMRequest.of("hi"), model_on(server))]
    assert [c.text for c in chunks if c.text] == ["Bon", "jour"]
    last = chunks[-1]
    assert last.finish_reason == "stop"
    assert last.usage is not None
    assert (last.usage.input_tokens, last.usage.output_tokens) == (11, 2)
    assert server.requests[0]["stream"] is True


@pytest.mark.parametrize(("status", "kind"), [
    (429, TransientProviderError), (529, TransientProviderError), (500, TransientProviderError),
    (400, PermanentProviderError), (401, PermanentProviderError), (404, PermanentProviderError),
])
async def test_errors_are_translated(server, provider, status, kind):
    server.script(Reply.error(status, "scripted", headers={"retry-after": "3"}))
    with pytest.raises(kind) as caught:
        await provider.complete(LLMRequest.of("q"), model_on(server))
    assert type(caught.value) is kind and caught.value.status == status
    assert caught.value.provider == "anthropic" and "claude-sonnet-4-0" in str(caught.value)
    assert caught.value.retry_after == 3.0
    assert type(caught.value.__cause__).__module__.startswith("anthropic")
    assert len(server.requests) == 1


async def test_reset_mid_stream_is_transient(server, provider):
    server.script(Reply.stream(["a", "b", "c"], reset_after=1))
    with pytest.raises(TransientProviderError):
        async for _ in provider.stream(LLMRequest.of("q"), model_on(server)):
            pass


async def test_a_missing_sdk_is_a_permanent_error_with_the_install_command(
        server: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)  # `import anthropic` now fails
    made = AnthropicProvider(model_on(server), api_key="sk-ant-test")
    with pytest.raises(PermanentProviderError,
                       match=r"needs the 'anthropic' package.*pip install 'aios\[anthropic\]'"):
        await made.complete(LLMRequest.of("hi"), model_on(server))
    await made.aclose()  # nothing was opened: a no-op
