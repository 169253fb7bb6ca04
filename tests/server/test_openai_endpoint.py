"""The OpenAI-compatible endpoint, driven by the official `openai` client over real HTTP.

The app runs on Uvicorn on 127.0.0.1 (port 0) with a real SQLite store; its models are on the
scripted OpenAI-format server (`gpt-4o`, priced by genai-prices). Keys are Ai:oS API tokens.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai_helpers import redis_settings, serve, write_manifest
from server_helpers import add_people, wait_for
from tests.support import Reply, ScriptedLLMServer
from typer.testing import CliRunner

from aios.auth import Role, TokenStore, UserStore
from aios.cli.main import app as cli
from aios.server.openai_format import OpenAIError, parse_chat
from aios.settings import Settings
from aios.store import Store

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]


class Live:
    """The running endpoint: its URL, the upstream, the people's keys, the store's home."""

    def __init__(self, url: str, upstream: ScriptedLLMServer, keys: dict[str, str],
                 settings: Settings):
        self.url = url
        self.upstream = upstream
        self.keys = keys
        self.settings = settings

    def client(self, who: str = "alice") -> OpenAI:
        return OpenAI(base_url=self.url + "/v1", api_key=self.keys[who], max_retries=0)

    def post(self, body: Any, *, key: str | None = None, raw: bytes | None = None
             ) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        content = raw if raw is not None else json.dumps(body).encode()
        return httpx.post(self.url + "/v1/chat/completions", content=content,
                          headers=headers, timeout=30)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    base = tmp_path_factory.mktemp("openai")
    settings = Settings(home=base / "home", database_url=None)
    with pytest.MonkeyPatch.context() as patch, ScriptedLLMServer() as upstream:
        patch.setenv("TEST_OPENAI_KEY", "sk-upstream")
        keys = add_people(settings)
        keys["tim"] = asyncio.run(_issue(settings, "tim"))
        with serve(settings, write_manifest(base / "work", upstream.url)) as url:
            yield Live(url, upstream, keys, settings)


async def _issue(settings: Settings, name: str) -> str:
    """A new viewer `name` and an API token of theirs."""
    store = await Store.open(settings.store_url())
    try:
        await UserStore(store).add(name, Role.viewer)
        return (await TokenStore(store).issue(name)).secret
    finally:
        await store.close()


def _metrics(settings: Settings) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["metrics", "--json"],
                                env={"AIOS_HOME": str(settings.home), "COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _user(report: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((g for g in report["by"]["user"] if g["key"] == name), None)


# -- what works ------------------------------------------------------------------------------


def test_sync_completion_is_answered_costed_and_attributed_to_the_keys_user(live: Live) -> None:
    live.upstream.script(Reply.ok("hello from upstream", usage=(1000, 500)))
    raw = live.client("ada").chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "say hello"}])
    answer = raw.parse()
    assert answer.choices[0].message.content == "hello from upstream"
    assert answer.model == "gpt-4o"
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (1000, 500)
    assert raw.headers["x-aios-route-reason"]
    extra = answer.model_extra or {}
    cost = extra["aios"]["cost_usd"]
    assert cost > 0  # gpt-4o is priced
    assert live.upstream.requests[-1]["messages"] == [{"role": "user", "content": "say hello"}]

    ada = wait_for(lambda: _user(_metrics(live.settings), "ada"), what="ada in aios metrics")
    assert ada["llm_calls"] == 1
    assert ada["tokens"]["input"] == 1000 and ada["tokens"]["output"] == 500
    assert ada["cost_usd"] == pytest.approx(cost)


def test_async_client_completes(live: Live) -> None:
    live.upstream.script(Reply.ok("async answer"))

    async def go() -> str | None:
        client = AsyncOpenAI(base_url=live.url + "/v1", api_key=live.keys["alice"],
                             max_retries=0)
        async with client:
            answer = await client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        return answer.choices[0].message.content

    assert asyncio.run(go()) == "async answer"


def test_stream_with_usage_chunk(live: Live) -> None:
    live.upstream.script(Reply.stream(("Hel", "lo", " world"), usage=(7, 3)))
    stream = live.client().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "stream please"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello world"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (7, 3)
    assert (last.usage.model_extra or {})["aios_counted"] is False


def test_stream_usage_is_counted_by_the_gateway_when_the_provider_reports_none(
        live: Live) -> None:
    live.upstream.script(Reply.stream(("one ", "two ", "three"), usage=False))
    chunks = list(live.client().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "count"}], stream=True,
        stream_options={"include_usage": True}))
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens > 0 and usage.prompt_tokens > 0
    assert (usage.model_extra or {})["aios_counted"] is True


def test_stream_without_include_usage_has_no_usage_chunk(live: Live) -> None:
    live.upstream.script(Reply.stream(("a", "b")))
    raw = live.client().chat.completions.with_raw_response.create(
        model="simple", messages=[{"role": "user", "content": "x"}], stream=True)
    assert "simple" in raw.headers["x-aios-route-reason"]
    chunks = list(raw.parse())
    assert chunks[-1].model == "cheap"
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)


def test_tool_calls_both_ways(live: Live) -> None:
    live.upstream.script(
        Reply.ok("", tool_calls=[{"id": "call_1", "name": "get_weather",
                                  "arguments": {"city": "Oslo"}}]),
        Reply.ok("It is sunny in Oslo."))
    client = live.client()
    first = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "weather in Oslo?"}],
        tools=TOOLS)  # type: ignore[arg-type]
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None and calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(calls[0].function.arguments) == {"city": "Oslo"}  # type: ignore[union-attr]
    assert live.upstream.requests[-1]["tools"][0]["function"]["name"] == "get_weather"

    second = client.chat.completions.create(model="gpt-4o", tools=TOOLS, messages=[  # type: ignore[arg-type]
        {"role": "user", "content": "weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 C"}])
    assert second.choices[0].message.content == "It is sunny in Oslo."
    sent = live.upstream.requests[-1]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "call_1"
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 C"}


def test_streamed_tool_calls(live: Live) -> None:
    live.upstream.script(Reply.ok("", tool_calls=[{"id": "call_9", "name": "get_weather",
                                                   "arguments": {"city": "Rome"}}]))
    chunks = list(live.client().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "weather in Rome?"}],
        tools=TOOLS, stream=True))  # type: ignore[arg-type]
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert [(c.id, c.function.name) for c in calls] == [("call_9", "get_weather")]  # type: ignore[union-attr]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


FORECAST = {"type": "function", "function": {
    "name": "forecast", "description": "Tomorrow's weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


def test_tool_choice_naming_a_function_reaches_the_upstream(live: Live) -> None:
    live.upstream.script(Reply.ok("", tool_calls=[{"id": "call_f", "name": "forecast",
                                                   "arguments": {"city": "Oslo"}}]))
    named = {"type": "function", "function": {"name": "forecast"}}
    answer = live.client().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "weather in Oslo?"}],
        tools=[*TOOLS, FORECAST], tool_choice=named)  # type: ignore[list-item, arg-type]
    calls = answer.choices[0].message.tool_calls
    assert calls is not None and calls[0].function.name == "forecast"  # type: ignore[union-attr]
    sent = live.upstream.requests[-1]
    assert sent["tool_choice"] == named
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather", "forecast"]


def test_tool_choice_naming_a_function_in_a_stream(live: Live) -> None:
    live.upstream.script(Reply.ok("", tool_calls=[{"id": "call_s", "name": "forecast",
                                                   "arguments": {"city": "Rome"}}]))
    named = {"type": "function", "function": {"name": "forecast"}}
    chunks = list(live.client().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "weather in Rome?"}],
        tools=[*TOOLS, FORECAST], tool_choice=named, stream=True))  # type: ignore[list-item, arg-type, call-overload]
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert [c.function.name for c in calls] == ["forecast"]  # type: ignore[union-attr]
    assert live.upstream.requests[-1]["tool_choice"] == named


def test_tool_choice_required_reaches_the_upstream(live: Live) -> None:
    live.upstream.script(Reply.ok("", tool_calls=[{"id": "call_r", "name": "get_weather",
                                                   "arguments": {"city": "Bern"}}]))
    live.client().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "weather?"}], tools=TOOLS,  # type: ignore[arg-type]
        tool_choice="required")
    assert live.upstream.requests[-1]["tool_choice"] == "required"


def test_tool_choice_naming_a_function_not_among_tools_is_refused(live: Live) -> None:
    before = len(live.upstream.requests)
    with pytest.raises(openai.BadRequestError) as refused:
        live.client().chat.completions.create(
            model="gpt-4o", messages=HI, tools=TOOLS,  # type: ignore[arg-type]
            tool_choice={"type": "function", "function": {"name": "reboot"}})
    error = refused.value.body
    assert isinstance(error, dict)
    assert error["param"] == "tool_choice.function.name" and error["code"] == "invalid_value"
    assert "'reboot'" in error["message"] and "get_weather" in error["message"]
    assert len(live.upstream.requests) == before


@pytest.mark.parametrize(("body", "why"), [
    ({"tool_choice": "required"}, "only allowed when 'tools'"),
    ({"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
     "only allowed when 'tools'"),
    ({"tool_choice": "sometimes", "tools": TOOLS}, "'auto', 'none', 'required'"),
    ({"tool_choice": {"type": "function"}, "tools": TOOLS}, "'auto', 'none', 'required'"),
])
def test_a_tool_choice_of_the_wrong_shape_is_refused(live: Live, body: dict[str, Any],
                                                    why: str) -> None:
    error = _refused(live, {"model": "gpt-4o", "messages": HI, **body}, 400)
    assert error["param"] == "tool_choice" and why in error["message"], error


def test_response_format_json_object(live: Live) -> None:
    live.upstream.script(Reply.ok('{"answer": 42}'))
    answer = live.client().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "json please"}],
        response_format={"type": "json_object"})
    assert json.loads(answer.choices[0].message.content or "") == {"answer": 42}
    assert live.upstream.requests[-1]["response_format"]["type"] in ("json_object",
                                                                     "json_schema")


def test_response_format_not_met_is_an_upstream_error(live: Live) -> None:
    live.upstream.script(Reply.ok("not json at all"))
    with pytest.raises(openai.APIStatusError) as caught:
        # (a prompt unlike the test above's: the semantic response cache would answer it)
        live.client().chat.completions.create(
            model="gpt-4o", response_format={"type": "json_object"}, messages=[
                {"role": "user", "content": "List the warehouses of Lisbon by floor area"}])
    assert caught.value.status_code == 502
    assert caught.value.code == "invalid_output"


def test_a_tier_and_auto_pick_a_model_and_say_why(live: Live) -> None:
    raw = live.client().chat.completions.with_raw_response.create(
        model="simple", messages=[{"role": "user", "content": "hi"}])
    assert raw.parse().model == "cheap"
    assert "simple" in raw.headers["x-aios-route-reason"]
    auto = live.client().chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "hi"}])
    assert auto.parse().model in ("cheap", "gpt-4o")
    assert auto.headers["x-aios-route-reason"]


def test_models_lists_the_manifest_models_and_auto(live: Live) -> None:
    ids = [m.id for m in live.client().models.list()]
    assert ids == ["cheap", "gpt-4o", "auto"]


# -- bad input: each refused in OpenAI's format, nothing sent upstream -----------------------


def _refused(live: Live, body: Any, status: int, *, key: str = "alice",
             raw: bytes | None = None) -> dict[str, Any]:
    before = len(live.upstream.requests)
    response = live.post(body, key=live.keys.get(key, key), raw=raw)
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert len(live.upstream.requests) == before, "a refused request reached the upstream"
    return error


HI = [{"role": "user", "content": "hi"}]


def test_malformed_json(live: Live) -> None:
    error = _refused(live, None, 400, raw=b'{"model": "gpt-4o", "messages": [')
    assert error["code"] == "invalid_json"


@pytest.mark.parametrize("raw", [
    b'{"model": "gpt-4o", "messages": [], "temperature": NaN}',
    b'{"model": "gpt-4o", "messages": [], "temperature": 1e999}',
    b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "\\udc00"}]}',
    b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "\xff"}]}',
])
def test_what_json_does_not_allow_is_malformed_json(raw: bytes) -> None:
    # The strict-JSON middleware refuses these only when the body is sent as JSON; sent as
    # anything else they reach the endpoint's own parser, which refuses them too.
    with pytest.raises(OpenAIError) as refused:
        parse_chat(raw)
    assert refused.value.status == 400 and refused.value.code == "invalid_json"
    assert "not valid JSON" in refused.value.message


def test_unknown_field(live: Live) -> None:
    error = _refused(live, {"model": "gpt-4o", "messages": HI, "frobnicate": 1}, 400)
    assert error["param"] == "frobnicate" and "Unrecognized" in error["message"]


def test_unknown_model_is_404_listing_the_known_ones(live: Live) -> None:
    error = _refused(live, {"model": "gpt-9", "messages": HI}, 404)
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "gpt-4o" in error["message"] and "auto" in error["message"]
    with pytest.raises(openai.NotFoundError):
        live.client().chat.completions.create(model="gpt-9", messages=HI)  # type: ignore[arg-type]


def test_n_above_one(live: Live) -> None:
    error = _refused(live, {"model": "gpt-4o", "messages": HI, "n": 2}, 400)
    assert error["param"] == "n"


@pytest.mark.parametrize(("messages", "param"), [
    ("hello", "messages"),
    ([], "messages"),
    ([{"content": "no role"}], "messages[0].role"),
    ([{"role": "wizard", "content": "x"}], "messages[0].role"),
    ([{"role": "user", "content": 5}], "messages[0].content"),
    ([{"role": "user"}], "messages[0].content"),
    ([{"role": "tool", "content": "orphan"}], "messages[0].tool_call_id"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
     "messages[0].content"),
])
def test_messages_of_the_wrong_shape(live: Live, messages: Any, param: str) -> None:
    error = _refused(live, {"model": "gpt-4o", "messages": messages}, 400)
    assert error["param"] is not None and error["param"].startswith(param), error


def test_a_tool_schema_that_is_not_an_object(live: Live) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}]
    error = _refused(live, {"model": "gpt-4o", "messages": HI, "tools": tools}, 400)
    assert error["param"] == "tools[0].function.parameters"
    bad = [{"type": "function", "function": {"name": "f", "parameters": "not a schema"}}]
    assert _refused(live, {"model": "gpt-4o", "messages": HI, "tools": bad}, 400)["param"] \
        == "tools[0].function.parameters"


def test_missing_wrong_and_revoked_keys_are_401(live: Live) -> None:
    before = len(live.upstream.requests)
    missing = live.post({"model": "gpt-4o", "messages": HI})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
    _refused(live, {"model": "gpt-4o", "messages": HI}, 401, key="aios_0000_nope")

    async def revoked() -> str:
        store = await Store.open(live.settings.store_url())
        try:
            issued = await TokenStore(store).issue("alice", label="soon revoked")
            await TokenStore(store).revoke(issued.info.id)
            return issued.secret
        finally:
            await store.close()

    error = _refused(live, {"model": "gpt-4o", "messages": HI}, 401, key=asyncio.run(revoked()))
    assert "revoked" in error["message"]
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=live.url + "/v1", api_key="wrong", max_retries=0).models.list()
    assert len(live.upstream.requests) == before


def test_budget_exhausted_is_429_insufficient_quota_saying_what(live: Live) -> None:
    error = _refused(live, {"model": "gpt-4o", "messages": HI}, 429, key="vic")
    assert error["code"] == "insufficient_quota" and error["type"] == "insufficient_quota"
    assert "vic" in error["message"] and "token" in error["message"]
    stream = _refused(live, {"model": "gpt-4o", "messages": HI, "stream": True}, 429, key="vic")
    assert stream["code"] == "insufficient_quota"


def test_a_key_over_its_rpm_gets_429_with_retry_after(live: Live) -> None:
    # bob: 2 requests a minute (the manifest's endpoint: section), memory storage.
    for _ in range(2):
        assert live.post({"model": "gpt-4o", "messages": HI}, key=live.keys["bob"]
                         ).status_code == 200
    over = live.post({"model": "gpt-4o", "messages": HI}, key=live.keys["bob"])
    assert over.status_code == 429
    assert 1 <= int(over.headers["retry-after"]) <= 60
    assert over.json()["error"]["code"] == "rate_limit_exceeded"
    with pytest.raises(openai.RateLimitError):
        live.client("bob").chat.completions.create(model="gpt-4o", messages=HI)  # type: ignore[arg-type]
    # alice has no limit
    assert live.post({"model": "gpt-4o", "messages": HI}, key=live.keys["alice"]
                     ).status_code == 200


def test_the_response_cache_is_per_user(live: Live) -> None:
    prompt = [{"role": "user", "content": "What is the combination of the office safe?"}]
    live.upstream.script(Reply.ok("alice's answer"), Reply.ok("ada's answer"))
    assert live.client("alice").chat.completions.create(
        model="gpt-4o", messages=prompt).choices[0].message.content == "alice's answer"  # type: ignore[arg-type]
    assert live.client("ada").chat.completions.create(
        model="gpt-4o", messages=prompt).choices[0].message.content == "ada's answer"  # type: ignore[arg-type]
    again = live.client("alice").chat.completions.create(model="gpt-4o", messages=prompt)  # type: ignore[arg-type]
    assert again.choices[0].message.content == "alice's answer"
    assert (again.model_extra or {})["aios"]["cached"] is True


def test_rpm_limit_shared_through_redis(tmp_path: Path) -> None:
    with redis_settings(tmp_path) as (settings, probe, prefix), \
            pytest.MonkeyPatch.context() as patch, ScriptedLLMServer() as upstream:
        patch.setenv("TEST_OPENAI_KEY", "sk-upstream")
        keys = add_people(settings)
        with serve(settings, write_manifest(tmp_path / "work", upstream.url)) as url:
            def post() -> httpx.Response:
                return httpx.post(url + "/v1/chat/completions", timeout=30,
                                  headers={"Authorization": f"Bearer {keys['bob']}"},
                                  json={"model": "gpt-4o", "messages": HI})

            assert [post().status_code for _ in range(2)] == [200, 200]
            over = post()
            assert over.status_code == 429 and int(over.headers["retry-after"]) >= 1
            stored = probe.keys(f"{prefix}:*")
            assert stored, "the limit was not counted in Redis"


def test_a_client_gone_mid_stream_cancels_the_call_and_its_tokens_are_recorded(
        live: Live) -> None:
    pieces = tuple(f"word{i} " for i in range(200))
    live.upstream.script(Reply.stream(pieces, stall_between=0.05))
    body = {"model": "gpt-4o", "stream": True,
            "messages": [{"role": "user", "content": "Recite the long poem about rivers"}]}
    with httpx.stream("POST", live.url + "/v1/chat/completions", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {live.keys['ada']}"}) as response:
        assert response.status_code == 200
        got = []
        for line in response.iter_lines():
            if line.startswith("data: ") and '"content":"word' in line:
                got.append(line)
            if len(got) >= 3:
                break  # leave: the connection closes with the stream unread

    async def cancelled() -> list[Any]:
        from sqlalchemy import select

        from aios.llm.ledger import llm_calls

        store = await Store.open(live.settings.store_url())
        try:
            async with store.engine.connect() as conn:
                return list((await conn.execute(select(llm_calls).where(
                    llm_calls.c.user == "ada", llm_calls.c.status == "cancelled"))).mappings())
        finally:
            await store.close()

    rows = wait_for(lambda: asyncio.run(cancelled()), what="the cancelled call's ledger row")
    assert len(rows) == 1
    row = rows[0]
    assert row["stream"] and row["counted"]
    assert 3 <= row["output_tokens"] < len(pieces)  # what arrived, not the whole answer
    assert row["cost_usd"] > 0


def test_embeddings_from_the_packaged_model(live: Live) -> None:
    import numpy as np

    from aios.embeddings import EmbeddingService

    client = live.client()
    got = client.embeddings.create(model="default", input=["a cat sat", "stock prices fell"])
    assert got.model.startswith("wordllama") and got.usage.prompt_tokens > 0
    expected = EmbeddingService.open().embed(["a cat sat", "stock prices fell"])
    assert np.allclose(np.array([d.embedding for d in got.data]), expected, atol=1e-6)
    as_floats = client.embeddings.create(model=got.model, input="a cat sat",
                                         encoding_format="float")
    assert np.allclose(as_floats.data[0].embedding, expected[0], atol=1e-6)
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input="x")
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="default", input="x", dimensions=3)
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=live.url + "/v1", api_key="nope", max_retries=0).embeddings.create(
            model="default", input="x")


def test_a_key_over_its_tokens_per_minute_gets_429_with_retry_after(live: Live) -> None:
    # tim: 30 tokens a minute. The call that crosses the limit is answered; the next is not.
    live.upstream.script(Reply.ok("first", usage=(20, 15)))
    first = live.post({"model": "gpt-4o", "messages": [{"role": "user", "content": "Q1"}]},
                      key=live.keys["tim"])
    assert first.status_code == 200
    before = len(live.upstream.requests)
    over = live.post({"model": "gpt-4o", "messages": [{"role": "user", "content": "Q2"}]},
                     key=live.keys["tim"])
    assert over.status_code == 429, over.text
    assert 1 <= int(over.headers["retry-after"]) <= 60
    error = over.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "tokens"
    assert "30 tokens per minute" in error["message"]
    assert len(live.upstream.requests) == before


def test_guardrails_mask_secrets_in_completions_and_streams(live: Live) -> None:
    secret = "AKIAIOSFODNN7EXAMPLE"
    live.upstream.script(Reply.ok(f"the key is {secret} ok"),
                         Reply.stream(("the key is ", secret, " ok")))
    answer = live.client().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Which AWS key do we use?"}])
    assert secret not in (answer.choices[0].message.content or "")
    chunks = list(live.client().chat.completions.create(
        model="gpt-4o", stream=True,
        messages=[{"role": "user", "content": "Print the deploy credentials file"}]))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed and secret not in streamed


def test_an_upstream_failing_mid_stream_ends_the_stream_with_an_openai_error(
        live: Live) -> None:
    pieces = tuple(f"sentence number {i} of the story. " for i in range(40))
    live.upstream.script(Reply.stream(pieces, reset_after=30))
    stream = live.client().chat.completions.create(
        model="gpt-4o", stream=True,
        messages=[{"role": "user", "content": "Tell the story of the broken pipe"}])
    got: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        for c in stream:
            if c.choices:
                got.append(c.choices[0].delta.content or "")
    assert "".join(got).startswith("sentence number 0")  # the first part reached the client
    assert "sentence number 39" not in "".join(got)
    assert "upstream" in str(caught.value).lower()


def test_an_upstream_failing_before_any_output_is_an_http_error(live: Live) -> None:
    live.upstream.script(Reply.stream(("a ", "b ", "c"), reset_after=1))
    with pytest.raises(openai.InternalServerError) as caught:
        list(live.client().chat.completions.create(
            model="gpt-4o", stream=True,
            messages=[{"role": "user", "content": "Describe the reset connection"}]))
    assert caught.value.status_code == 502
