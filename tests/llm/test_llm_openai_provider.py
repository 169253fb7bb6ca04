"""The `openai` adapter over a real HTTP server: wire format, streaming, usage, every fault
translated into aios.errors (and nothing else escaping)."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from tests.support import Reply, ScriptedLLMServer

from aios.errors import AiosError, PermanentProviderError, ProviderError, TransientProviderError
from aios.llm import LLMRequest, Message, ModelInfo, ToolCall
from aios.llm.providers import OpenAIProvider


def model_on(server: ScriptedLLMServer | str, **extra: Any) -> ModelInfo:
    url = server if isinstance(server, str) else server.url + "/v1"
    fields: dict[str, Any] = {"name": "fast", "provider": "openai", "model_id": "gpt-4o-mini",
                              "base_url": url, "timeout_s": 5.0}
    fields.update(extra)
    return ModelInfo(**fields)


@pytest.fixture
async def provider(server: ScriptedLLMServer) -> Any:
    made = OpenAIProvider(model_on(server), api_key="sk-test")
    yield made
    await made.aclose()


async def test_complete_sends_the_chat_completions_wire_format(server, provider):
    server.script(Reply.ok("hello there", usage=(12, 3)))
    request = LLMRequest.of("hi", system="be brief", max_tokens=50, temperature=0.2,
                            stop=("END",), seed=7)
    response = await provider.complete(request, model_on(server))
    assert response.text == "hello there"
    assert response.model == "fast" and response.provider == "openai"
    assert response.usage.input_tokens == 12 and response.usage.output_tokens == 3
    assert response.usage.counted is False
    body = server.requests[0]
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == [{"role": "system", "content": "be brief"},
                                {"role": "user", "content": "hi"}]
    assert body["max_tokens"] == 50 and body["temperature"] == 0.2
    assert body["stop"] == ["END"] and body["seed"] == 7
    assert server.request_headers[0]["authorization"] == "Bearer sk-test"


async def test_usage_maps_cached_and_reasoning_tokens(server, provider):
    server.script(Reply.ok("x", usage=(100, 40), cache_read=60, reasoning=25))
    usage = (await provider.complete(LLMRequest.of("q"), model_on(server))).usage
    assert (usage.input_tokens, usage.cache_read_tokens) == (100, 60)
    assert (usage.output_tokens, usage.reasoning_tokens) == (40, 25)


async def test_tools_and_tool_calls_round_trip(server, provider):
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {
        "type": "object", "properties": {"q": {"type": "string"}}}}}
    server.script(Reply.ok("", tool_calls=[{"name": "lookup", "arguments": {"q": "x"},
                                            "id": "c1"}]))
    response = await provider.complete(LLMRequest.of("find x", tools=(tool,)),
                                       model_on(server))
    assert response.tool_calls == (ToolCall("c1", "lookup", '{"q": "x"}'),)
    assert response.finish_reason == "tool_calls"
    assert server.requests[0]["tools"] == [tool]
    follow = LLMRequest(messages=(Message("user", "find x"),
                                  Message("assistant", "", tool_calls=response.tool_calls),
                                  Message("tool", "found", tool_call_id="c1")))
    await provider.complete(follow, model_on(server))
    sent = server.requests[1]["messages"]
    assert sent[1]["tool_calls"][0]["function"]["name"] == "lookup"
    assert sent[2] == {"role": "tool", "content": "found", "tool_call_id": "c1"}


async def test_json_schema_goes_out_as_response_format(server, provider):
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    await provider.complete(LLMRequest.of("q", response_format=schema), model_on(server))
    await provider.complete(LLMRequest.of("q", response_format={}), model_on(server))
    assert server.requests[0]["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "output", "schema": schema,
                                               "strict": False}}
    assert server.requests[1]["response_format"] == {"type": "json_object"}


async def test_stream_yields_pieces_then_usage_and_asks_for_usage(server, provider):
    server.script(Reply.stream(["Hel", "lo", "!"], usage=(9, 3)))
    chunks = [c async for c in provider.stream(LLMRequest.of("hi"), model_on(server))]
    assert [c.text for c in chunks if c.text] == ["Hel", "lo", "!"]
    last = chunks[-1]
    assert last.finish_reason == "stop"
    assert last.usage is not None and last.usage.input_tokens == 9
    assert last.usage.output_tokens == 3 and not last.usage.counted
    assert server.requests[0]["stream"] is True
    assert server.requests[0]["stream_options"] == {"include_usage": True}


async def test_stream_without_reported_usage_is_counted(server, provider):
    server.script(Reply.stream(["one ", "two ", "three"], usage=False))
    chunks = [c async for c in provider.stream(LLMRequest.of("count these words"),
                                               model_on(server))]
    usage = chunks[-1].usage
    assert usage is not None and usage.counted is True
    assert usage.input_tokens > 0 and usage.output_tokens > 0


async def test_streamed_tool_calls_are_assembled(server, provider):
    server.script(Reply.ok("", tool_calls=[{"name": "f", "arguments": '{"a": 1}'}]))
    chunks = [c async for c in provider.stream(LLMRequest.of("q"), model_on(server))]
    assert chunks[-1].tool_calls == (ToolCall("call_0", "f", '{"a": 1}'),)


@pytest.mark.parametrize(("reply", "kind", "status"), [
    (Reply.error(429, "slow down", headers={"retry-after": "2"}), TransientProviderError, 429),
    (Reply.error(500, "boom"), TransientProviderError, 500),
    (Reply.error(503, "unavailable"), TransientProviderError, 503),
    (Reply.error(408, "timeout"), TransientProviderError, 408),
    (Reply.error(409, "conflict"), TransientProviderError, 409),
    (Reply.error(400, "bad request"), PermanentProviderError, 400),
    (Reply.error(401, "bad key"), PermanentProviderError, 401),
    (Reply.error(404, "no such model"), PermanentProviderError, 404),
])
async def test_http_errors_are_classified(server, provider, reply, kind, status):
    server.script(reply)
    with pytest.raises(kind) as caught:
        await provider.complete(LLMRequest.of("q"), model_on(server))
    error = caught.value
    assert type(error) is kind and error.status == status
    assert error.provider == "openai" and error.model == "gpt-4o-mini"
    assert "openai" in str(error) and "gpt-4o-mini" in str(error)
    assert error.__cause__ is not None and type(error.__cause__).__module__.startswith("openai")
    assert len(server.requests) == 1  # the SDK's own retries are off


async def test_retry_after_is_carried(server, provider):
    server.script(Reply.error(429, headers={"retry-after": "2"}),
                  Reply.error(429, headers={"retry-after-ms": "1500"}))
    for expected in (2.0, 1.5):
        with pytest.raises(TransientProviderError) as caught:
            await provider.complete(LLMRequest.of("q"), model_on(server))
        assert caught.value.retry_after == pytest.approx(expected)


@pytest.mark.parametrize("reply", [Reply.malformed(), Reply.reset()])
async def test_broken_responses_are_transient(server, provider, reply):
    server.script(reply)
    with pytest.raises(TransientProviderError):
        await provider.complete(LLMRequest.of("q"), model_on(server))


@pytest.mark.parametrize("reply", [Reply.malformed(), Reply.reset(),
                                   Reply.stream(["a", "b", "c"], reset_after=1)])
async def test_broken_streams_are_transient(server, provider, reply):
    server.script(reply)
    received = []
    with pytest.raises(TransientProviderError):
        async for chunk in provider.stream(LLMRequest.of("q"), model_on(server)):
            received.append(chunk.text)
    assert "c" not in received


async def test_a_hung_server_times_out_as_transient(server):
    model = model_on(server, timeout_s=0.3)
    slow = OpenAIProvider(model, api_key="k")
    server.script(Reply.hang(5))
    try:
        with pytest.raises(TransientProviderError, match="timed out"):
            await slow.complete(LLMRequest.of("q"), model)
    finally:
        await slow.aclose()


async def test_unreachable_endpoint_is_transient_and_names_it():
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    model = model_on(f"http://127.0.0.1:{port}/v1")
    closed = OpenAIProvider(model, api_key="k")
    try:
        with pytest.raises(TransientProviderError, match=f"127.0.0.1:{port}") as caught:
            await closed.complete(LLMRequest.of("q"), model)
        assert caught.value.provider == "openai"
    finally:
        await closed.aclose()


async def test_no_sdk_exception_escapes_any_fault(server, provider):
    faults = [Reply.error(429), Reply.error(500), Reply.error(401), Reply.malformed(),
              Reply.reset(), Reply.stream(["a", "b"], reset_after=1)]
    server.script(*faults)
    for _ in faults:
        try:
            async for _ in provider.stream(LLMRequest.of("q"), model_on(server)):
                pass
        except AiosError as exc:
            assert isinstance(exc, ProviderError)
        # any other exception type fails the test by propagating


TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {
    "type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}}


@pytest.mark.parametrize(("choice", "wire"), [
    (None, "auto"), ("required", "required"), ("none", "none"),
    ("lookup", {"type": "function", "function": {"name": "lookup"}})])
async def test_tool_choice_goes_out_in_the_wire_format(server, provider, choice, wire):
    # Explicit even for auto: llama-cpp-python's server ignores the tools without one.
    await provider.complete(LLMRequest.of("find x", tools=(TOOL,), tool_choice=choice),
                            model_on(server))
    assert server.requests[0]["tool_choice"] == wire


async def test_tool_grammar_asks_llama_cpp_for_a_grammar_and_parses_the_call(server):
    model = model_on(server, params={"tool_grammar": True})
    grammar = OpenAIProvider(model)
    try:
        server.script(Reply.ok('{"tool": "lookup", "arguments": {"q": "x"}}'),
                      Reply.ok('{"answer": "x is 42"}'))
        first = await grammar.complete(LLMRequest.of("find x", tools=(TOOL,)), model)
        (call,) = first.tool_calls
        assert (call.name, call.arguments, first.text) == ("lookup", '{"q": "x"}', "")
        assert first.finish_reason == "tool_calls"
        follow = LLMRequest(messages=(Message("user", "find x"),
                                      Message("assistant", "", tool_calls=first.tool_calls),
                                      Message("tool", '{"x": 42}', tool_call_id=call.id)),
                            tools=(TOOL,), tool_choice="none")
        chunks = [c async for c in grammar.stream(follow, model)]
    finally:
        await grammar.aclose()
    assert "".join(c.text for c in chunks) == "x is 42" and not chunks[-1].tool_calls
    assert [c.text for c in chunks] == ["x is 42", ""]  # the whole reply, then the last chunk
    assert chunks[-1].finish_reason == "stop" and chunks[-1].usage is not None
    body, again = server.requests
    assert "tools" not in body and "tool_choice" not in body
    schema = body["response_format"]["schema"]
    assert body["response_format"]["type"] == "json_object"
    assert [o["properties"].get("tool", {}).get("const") for o in schema["anyOf"]] == [
        "lookup", None]  # a call of the tool, or an answer
    assert body["messages"][0]["role"] == "system" and "lookup" in body["messages"][0]["content"]
    # The call and its result go back as plain messages; `none` leaves only the answer.
    assert again["messages"][2] == {"role": "assistant", "content": json.dumps(
        {"tool": "lookup", "arguments": {"q": "x"}})}
    assert again["messages"][3] == {"role": "user", "content": 'Tool result: {"x": 42}'}
    assert again["response_format"]["schema"] == {"anyOf": [
        {"type": "object", "properties": {"answer": {"type": "string"}},
         "required": ["answer"]}]}


async def test_tool_grammar_for_a_named_tool_choice_admits_only_that_tool(server):
    other = {"type": "function", "function": {"name": "reboot", "parameters": {
        "type": "object", "properties": {}}}}
    model = model_on(server, params={"tool_grammar": True})
    grammar = OpenAIProvider(model)
    try:
        server.script(Reply.ok('{"tool": "lookup", "arguments": {"q": "y"}}'))
        answer = await grammar.complete(
            LLMRequest.of("find y", tools=(other, TOOL), tool_choice="lookup"), model)
    finally:
        await grammar.aclose()
    assert [c.name for c in answer.tool_calls] == ["lookup"]
    schema = server.requests[0]["response_format"]["schema"]
    # Neither the other tool nor a plain answer: the named tool's call only.
    assert [o["properties"].get("tool", {}).get("const") for o in schema["anyOf"]] == ["lookup"]


async def test_extra_body_is_merged_into_completions_and_streams(server):
    model = model_on(server, params={"extra_body": {"reasoning_effort": "low", "top_k": 5}})
    adapter = OpenAIProvider(model)
    try:
        server.script(Reply.ok("one"), Reply.stream(("t", "wo")))
        assert (await adapter.complete(LLMRequest.of("q"), model)).text == "one"
        chunks = [c async for c in adapter.stream(LLMRequest.of("q"), model)]
    finally:
        await adapter.aclose()
    assert "".join(c.text for c in chunks) == "two"
    for body in server.requests:
        assert (body["reasoning_effort"], body["top_k"]) == ("low", 5)
        assert "extra_body" not in body
    assert server.requests[1]["stream"] is True


async def test_complete_sends_the_sdks_own_headers_and_follows_a_reopened_client(server):
    made = OpenAIProvider(model_on(server, params={"organization": "org-7"}), api_key="sk-o")
    server.script(Reply.ok("one"), Reply.ok("two"))
    try:
        await made.complete(LLMRequest.of("a"), model_on(server))
        sent = server.request_headers[0]
        assert sent["authorization"] == "Bearer sk-o"
        assert sent["openai-organization"] == "org-7"
        assert sent["content-type"] == "application/json"
        assert sent["user-agent"].startswith("AsyncOpenAI/Python")
        await made.aclose()  # a closed client's pool is gone: the next call opens a new one
        assert (await made.complete(LLMRequest.of("b"), model_on(server))).text == "two"
        assert server.requests[1]["messages"] == [{"role": "user", "content": "b"}]
    finally:
        await made.aclose()


async def test_a_stream_hands_over_tool_call_pieces_as_they_arrive(server, provider):
    """Each upstream delta becomes a `tool_deltas` chunk (parallel calls interleaved by
    index), before the last chunk, which still carries the whole calls."""
    from aios.llm.types import ToolCallDelta

    server.script(Reply.ok("", tool_calls=[
        {"id": "c0", "name": "lookup", "arguments": {"q": "rivers"}},
        {"id": "c1", "name": "lookup", "arguments": {"q": "lakes"}}],
        arg_pieces=5, interleave=True))
    chunks = [c async for c in provider.stream(LLMRequest.of("find"), model_on(server))]
    pieces = [d for c in chunks for d in c.tool_deltas]
    assert pieces[:2] == [ToolCallDelta(0, "c0", "lookup"), ToolCallDelta(1, "c1", "lookup")]
    assert len(pieces) > 4 and [p.index for p in pieces[2:4]] == [0, 1]
    for index, query in ((0, "rivers"), (1, "lakes")):
        assert "".join(p.arguments for p in pieces if p.index == index) == json.dumps(
            {"q": query})
    assert not chunks[-1].tool_deltas
    assert chunks[-1].tool_calls == (ToolCall("c0", "lookup", '{"q": "rivers"}'),
                                     ToolCall("c1", "lookup", '{"q": "lakes"}'))
    assert chunks[-1].finish_reason == "tool_calls"
