"""Streamed tool calls through the OpenAI-compatible endpoint, as OpenAI streams them.

The official `openai` client reads the endpoint; the scripted upstream streams each call as
OpenAI does (a first delta with index, id, type and name, then argument fragments), one call
after the other or interleaved. Two deployments: guardrails with pseudonymisation (placeholders
in the prompt, restored in the calls' arguments), and one whose `secrets` check blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai_helpers import MANIFEST, serve
from server_helpers import add_people, wait_for
from tests.support import Reply, ScriptedLLMServer

from aios.settings import Settings
from aios.store import Store

TOOLS: Any = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                        "units": {"type": "string"}}}}},
    {"type": "function", "function": {
        "name": "send_mail", "description": "Send an e-mail.",
        "parameters": {"type": "object", "properties": {"to": {"type": "string"},
                                                        "body": {"type": "string"}}}}}]


class Endpoint:
    """A running endpoint, its upstream, the people's keys, the store's settings."""

    def __init__(self, url: str, upstream: ScriptedLLMServer, keys: dict[str, str],
                 settings: Settings):
        self.url, self.upstream, self.keys, self.settings = url, upstream, keys, settings

    def client(self, who: str = "alice") -> OpenAI:
        return OpenAI(base_url=self.url + "/v1", api_key=self.keys[who], max_retries=0,
                      timeout=30)

    def stream(self, prompt: str, who: str = "alice", **kw: Any) -> Any:
        return self.client(who).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": prompt}], tools=TOOLS,
            stream=True, **kw)


@contextlib.contextmanager
def _endpoint(base: Any, guardrails: str) -> Iterator[Endpoint]:
    settings = Settings(home=base / "home", database_url=None)
    with pytest.MonkeyPatch.context() as patch, ScriptedLLMServer() as upstream:
        patch.setenv("TEST_OPENAI_KEY", "sk-upstream")
        keys = add_people(settings)
        work = base / "work"
        work.mkdir()
        manifest = work / "manifest.yaml"
        manifest.write_text(MANIFEST.format(upstream=upstream.url) + guardrails)
        with serve(settings, manifest) as url:
            yield Endpoint(url, upstream, keys, settings)


@pytest.fixture(scope="module")
def pseudo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """Guardrails that pseudonymise PII in prompts (and restore it in answers)."""
    with _endpoint(tmp_path_factory.mktemp("pseudo"), "guardrails:\n  pseudonymise: true\n"
                   ) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def blocking(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """Guardrails whose secrets check blocks a completion that carries a secret."""
    with _endpoint(tmp_path_factory.mktemp("blocking"), "guardrails:\n  secrets: block\n"
                   ) as endpoint:
        yield endpoint


def _deltas(chunks: list[Any]) -> list[Any]:
    return [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]


def _arguments(deltas: list[Any], index: int) -> str:
    return "".join(d.function.arguments or "" for d in deltas
                   if d.index == index and d.function is not None)


def test_argument_fragments_reach_the_client_while_the_upstream_is_still_sending(
        pseudo: Endpoint) -> None:
    """The id/name delta and the first fragments arrive before the upstream sends the rest:
    the upstream waits after its third delta until the client has seen them (and, if the
    endpoint held them back instead, breaks the stream after 10 s)."""
    args = {"city": "Reykjavik", "units": "metric"}
    go_on = threading.Event()
    pseudo.upstream.script(Reply.ok("", tool_calls=[
        {"id": "call_w", "name": "get_weather", "arguments": args}],
        arg_pieces=5, hold_after=3, hold=go_on, usage=(12, 9)))
    chunks = []
    seen_before_release: list[Any] = []
    for chunk in pseudo.stream("What is the weather in Reykjavik?"):
        chunks.append(chunk)
        deltas = _deltas(chunks)
        if not go_on.is_set() and _arguments(deltas, 0):
            seen_before_release = list(deltas)
            go_on.set()
    head = seen_before_release[0]
    assert (head.index, head.id, head.type, head.function.name) == (
        0, "call_w", "function", "get_weather")
    assert _arguments(seen_before_release, 0)  # a fragment, before the upstream went on
    deltas = _deltas(chunks)
    assert [d.id for d in deltas if d.id] == ["call_w"]  # named once, then fragments
    assert len([d for d in deltas if d.function and d.function.arguments]) > 2
    assert _arguments(deltas, 0) == json.dumps(args)  # exactly the upstream's text
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_parallel_calls_interleave_by_index(pseudo: Endpoint) -> None:
    weather = json.dumps({"city": "Oslo", "units": "metric"})
    mail = json.dumps({"to": "ops team", "body": "Storm warning for Oslo tonight."})
    pseudo.upstream.script(Reply.ok("", tool_calls=[
        {"id": "call_0", "name": "get_weather", "arguments": weather},
        {"id": "call_1", "name": "send_mail", "arguments": mail}], arg_pieces=4,
        interleave=True))
    deltas = _deltas(list(pseudo.stream("Weather in Oslo, and warn the ops team")))
    order = [d.index for d in deltas]
    assert sum(a != b for a, b in itertools.pairwise(order)) > 4  # interleaved
    firsts = {d.index: d for d in reversed(deltas)}
    assert (firsts[0].id, firsts[0].function.name) == ("call_0", "get_weather")
    assert (firsts[1].id, firsts[1].function.name) == ("call_1", "send_mail")
    assert _arguments(deltas, 0) == weather and _arguments(deltas, 1) == mail


def test_the_sdks_stream_helper_assembles_the_calls(pseudo: Endpoint) -> None:
    weather = json.dumps({"city": "Bern"})
    mail = json.dumps({"to": "ops", "body": "Sunny in Bern."})
    pseudo.upstream.script(Reply.ok("", tool_calls=[
        {"id": "call_a", "name": "get_weather", "arguments": weather},
        {"id": "call_b", "name": "send_mail", "arguments": mail}], arg_pieces=3))
    with pseudo.client().chat.completions.stream(
            model="gpt-4o", messages=[{"role": "user", "content": "Bern?"}],
            tools=TOOLS) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [  # type: ignore[union-attr]
        ("call_a", "get_weather", weather), ("call_b", "send_mail", mail)]
    assert final.choices[0].finish_reason == "tool_calls"


def test_a_placeholder_split_across_fragments_is_restored_whole(pseudo: Endpoint) -> None:
    """The model only saw `<EMAIL_1>`; its call names it in fragments of three characters
    (`<EM`, `AIL`, `_1>`); the client gets the address, never a piece of the placeholder."""
    pseudo.upstream.script(Reply.ok("", tool_calls=[{
        "id": "call_m", "name": "send_mail",
        "arguments": '{"to": "<EMAIL_1>", "body": "The report is attached, see you."}'}],
        arg_pieces=3))
    chunks = list(pseudo.stream("Mail the report to ann.lee@example.com please"))
    sent = pseudo.upstream.requests[-1]["messages"][-1]["content"]
    assert "ann.lee@example.com" not in sent and "<EMAIL_1>" in sent
    deltas = _deltas(chunks)
    arguments = _arguments(deltas, 0)
    assert arguments == '{"to": "ann.lee@example.com", "body": "The report is attached, see you."}'
    fragments = [d.function.arguments for d in deltas if d.function and d.function.arguments]
    assert len(fragments) > 1
    assert not any("<" in f or ">" in f for f in fragments)  # no half-restored placeholder


def test_usage_is_still_reported_with_include_usage(pseudo: Endpoint) -> None:
    pseudo.upstream.script(Reply.ok("", tool_calls=[
        {"id": "call_u", "name": "get_weather", "arguments": {"city": "Lima"}}],
        arg_pieces=4, usage=(21, 8)))
    chunks = list(pseudo.stream("Lima?", stream_options={"include_usage": True}))
    assert _arguments(_deltas(chunks), 0) == json.dumps({"city": "Lima"})
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "tool_calls"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (21, 8)


def _ledger_rows(settings: Settings, user: str) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        from sqlalchemy import select

        from aios.llm.ledger import llm_calls

        store = await Store.open(settings.store_url())
        try:
            async with store.engine.connect() as conn:
                rows = (await conn.execute(select(llm_calls).where(
                    llm_calls.c.user == user))).mappings()
                return [dict(r) for r in rows]
        finally:
            await store.close()

    return asyncio.run(go())


def test_a_call_the_final_check_rejects_ends_the_stream_with_an_error(
        blocking: Endpoint) -> None:
    """The secrets check blocks: the fragments before the secret went out, the secret never
    does; the stream ends with an OpenAI error event (the SDK raises, so no client runs the
    half-sent call), without a `tool_calls` finish; the ledger records the call."""
    secret = "AKIAZ7XQ3MBW4YT6KJ2P"
    body = "Deployment notes for the release train: " + "all services green; " * 8
    arguments = json.dumps({"to": "ops", "body": f"{body} key {secret}"})
    blocking.upstream.script(Reply.ok("", tool_calls=[
        {"id": "call_x", "name": "send_mail", "arguments": arguments}], arg_pieces=7,
        usage=(30, 40)))
    chunks: list[Any] = []
    with pytest.raises(openai.APIError) as failed:
        for chunk in blocking.stream("Send the deployment notes to ops", who="bob",
                                     stream_options={"include_usage": True}):
            chunks.append(chunk)
    assert "guardrail" in failed.value.message and "secrets" in failed.value.message
    assert isinstance(failed.value.body, dict)
    assert failed.value.body["code"] == "content_filter"
    deltas = _deltas(chunks)
    assert (deltas[0].id, deltas[0].function.name) == ("call_x", "send_mail")
    got = _arguments(deltas, 0)
    assert got and arguments.startswith(got)  # fragments had gone out ...
    assert secret not in got  # ... never the secret
    assert not [c for c in chunks if c.choices and c.choices[0].finish_reason]

    rows = wait_for(lambda: _ledger_rows(blocking.settings, "bob"), what="bob's ledger row")
    (row,) = rows
    assert row["status"] == "error" and row["stream"]
    assert "GuardrailTripped" in row["error"] and "secrets" in row["error"]
    assert row["output_tokens"] > 0 and row["counted"]  # the fragments that arrived


def test_a_clean_call_passes_the_blocking_check(blocking: Endpoint) -> None:
    arguments = json.dumps({"to": "ops", "body": "All services green, nothing to report. " * 4})
    blocking.upstream.script(Reply.ok("", tool_calls=[
        {"id": "call_c", "name": "send_mail", "arguments": arguments}], arg_pieces=6))
    chunks = list(blocking.stream("Send the status to ops"))
    deltas = _deltas(chunks)
    assert _arguments(deltas, 0) == arguments
    assert len([d for d in deltas if d.function and d.function.arguments]) > 1
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_the_agents_sdk_runs_a_streamed_call_through_the_endpoint(pseudo: Endpoint) -> None:
    """The OpenAI Agents SDK (chat-completions model, streamed run) assembles the call from
    its fragments, runs the tool, and sends the result back for the answer."""
    pytest.importorskip("agents.run", reason="pip install 'aios[agents-sdk]'")
    import agents

    agents.set_trace_processors([])
    ran: list[tuple[str, str]] = []

    @agents.function_tool
    def get_weather(city: str, units: str) -> str:
        """The weather in a city."""
        ran.append((city, units))
        return "sunny, 21 C"

    pseudo.upstream.script(
        Reply.ok("", tool_calls=[{"id": "call_sdk", "name": "get_weather",
                                  "arguments": {"city": "Oslo", "units": "metric"}}],
                 arg_pieces=4),
        Reply.stream(("It is ", "sunny in Oslo.")))

    async def run() -> Any:
        client = AsyncOpenAI(base_url=pseudo.url + "/v1", api_key=pseudo.keys["alice"],
                             max_retries=0)
        model = agents.OpenAIChatCompletionsModel(model="gpt-4o", openai_client=client)
        agent = agents.Agent(name="weather", instructions="Answer with the tool.",
                             model=model, tools=[get_weather])
        result = agents.Runner.run_streamed(agent, "What is the weather in Oslo?")
        async for _ in result.stream_events():
            pass
        await client.close()
        return result.final_output

    assert asyncio.run(run()) == "It is sunny in Oslo."
    assert ran == [("Oslo", "metric")]
    sent = pseudo.upstream.requests[-1]["messages"]
    assert sent[-2]["tool_calls"][0]["id"] == "call_sdk"
    assert json.loads(sent[-2]["tool_calls"][0]["function"]["arguments"]) == {
        "city": "Oslo", "units": "metric"}
    assert sent[-1]["role"] == "tool" and sent[-1]["content"] == "sunny, 21 C"
