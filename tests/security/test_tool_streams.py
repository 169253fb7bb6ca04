"""Streamed tool calls through the guardrails' provider wrapper: pieces passed on as they come,
placeholders restored whole (and escaped as JSON), the whole calls checked before the end."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aios.errors import GuardrailTripped
from aios.llm.types import LLMRequest, ModelInfo, StreamChunk, ToolCall, ToolCallDelta
from aios.security.detectors.base import Finding
from aios.security.guardrails import Guardrails
from aios.security.masking import Masker
from aios.security.policy import GuardrailPolicy
from aios.security.streaming import GuardrailProvider, StreamSanitizer
from aios.security.tool_streams import JsonRestorer, ToolCallStreams
from aios.testing import ScriptedProvider, Turn

MODEL = ModelInfo(name="fake", provider="fake", model_id="fake")
SECRET = "AKIAZ7XQ3MBW4YT6KJ2P"


def _streams(policy: GuardrailPolicy, masker: Masker) -> ToolCallStreams:
    guardrails = Guardrails(policy=policy)
    return ToolCallStreams(guardrails, guardrails.policy_for(None), masker,
                           sanitizer=StreamSanitizer, subject="fake")


def _pieces(text: str, size: int, index: int = 0) -> list[ToolCallDelta]:
    return [ToolCallDelta(index, arguments=text[i:i + size]) for i in range(0, len(text), size)]


def _masker(*values: tuple[str, str]) -> Masker:
    masker = Masker(pseudonymise=True)
    for kind, value in values:
        masker.placeholder(Finding(0, len(value), kind, 1.0, value, "pii"))
    return masker


def test_a_restored_value_is_escaped_inside_a_json_string_and_never_split() -> None:
    masker = _masker(("PERSON", 'Ann "Nan" Lee'), ("EMAIL_ADDRESS", "ann@example.com"))
    streams = _streams(GuardrailPolicy(pii="allow"), masker)
    text = '{"name": "<PERSON_1>", "to": "<EMAIL_1>", "note": "say \\"<EMAIL_1>\\" twice"}'
    out = list(streams.feed([ToolCallDelta(0, "c1", "mail")]))
    for piece in _pieces(text, 2):
        out.extend(streams.feed([piece]))
    out.extend(streams.flush())
    assert (out[0].id, out[0].name) == ("c1", "mail")
    fragments = [d.arguments for d in out if d.arguments]
    assert len(fragments) > 3 and not any("<" in f for f in fragments)
    assert json.loads("".join(fragments)) == {
        "name": 'Ann "Nan" Lee', "to": "ann@example.com",
        "note": 'say "ann@example.com" twice'}


def test_outside_a_json_string_a_value_goes_back_as_it_is() -> None:
    restore = JsonRestorer(_masker(("PHONE_NUMBER", "+41 44 555 01 01")))
    assert restore('{"n": ') + restore("<PHONE_1>}") == '{"n": +41 44 555 01 01}'


def test_without_placeholders_or_blocking_checks_fragments_pass_at_once() -> None:
    streams = _streams(GuardrailPolicy(), Masker(pseudonymise=True))
    assert streams.feed([ToolCallDelta(0, "c", "f", "")]) == (ToolCallDelta(0, "c", "f"),)
    assert streams.feed([ToolCallDelta(0, arguments='{"a')]) == (
        ToolCallDelta(0, arguments='{"a'),)
    assert streams.feed([ToolCallDelta(0, arguments="")]) == ()
    assert streams.flush() == ()


def test_a_blocking_check_refuses_the_secret_before_it_leaves() -> None:
    streams = _streams(GuardrailPolicy(secrets="block"), Masker())
    text = json.dumps({"body": "status report, " * 12 + f"key {SECRET}"})
    sent = "".join(d.arguments for d in streams.feed([ToolCallDelta(0, "c", "mail")]))
    with pytest.raises(GuardrailTripped, match=r"tool call 'mail'.*secrets"):
        for piece in _pieces(text, 5):
            sent += "".join(d.arguments for d in streams.feed([piece]))
        streams.flush()
    assert sent and text.startswith(sent) and SECRET not in sent


async def _collect(provider: GuardrailProvider, request: LLMRequest) -> list[StreamChunk]:
    return [chunk async for chunk in provider.stream(request, MODEL)]


async def test_the_wrapper_streams_restored_pieces_and_the_response_agrees() -> None:
    inner = ScriptedProvider(Turn("", tool_calls=(
        ToolCall("c1", "mail__send", '{"to": "<EMAIL_1>", "cc": "<EMAIL_2>"}'),
        ToolCall("c2", "log", '{"line": "mailed <EMAIL_1>"}')),
        finish_reason="tool_calls", tool_pieces=4))
    wrapped = GuardrailProvider(inner, Guardrails(policy=GuardrailPolicy(pseudonymise=True)))
    chunks = await _collect(wrapped, LLMRequest.of("Mail eve@example.com, cc ops@example.org"))
    assert "<EMAIL_1>" in inner.requests[0].messages[-1].content
    pieces = [d for c in chunks for d in c.tool_deltas]
    assert [(d.index, d.id, d.name) for d in pieces if d.id] == [
        (0, "c1", "mail__send"), (1, "c2", "log")]
    first = "".join(d.arguments for d in pieces if d.index == 0)
    second = "".join(d.arguments for d in pieces if d.index == 1)
    assert json.loads(first) == {"to": "eve@example.com", "cc": "ops@example.org"}
    assert json.loads(second) == {"line": "mailed eve@example.com"}
    # The calls the gateway records (ledger, cache, trace) are the ones the caller got.
    (whole,) = [c for c in chunks if c.tool_calls]
    assert [c.arguments for c in whole.tool_calls] == [first, second]


async def test_a_blocked_tool_call_is_refused_streamed_or_not() -> None:
    call = ToolCall("c1", "mail__send", json.dumps({"body": f"the key is {SECRET}"}))
    policy = GuardrailPolicy(secrets="block")
    inner = ScriptedProvider(Turn("", tool_calls=(call,), tool_pieces=6),
                             Turn("", tool_calls=(call,)), Turn("", tool_calls=(call,)))
    wrapped = GuardrailProvider(inner, Guardrails(policy=policy))
    seen: list[Any] = []
    with pytest.raises(GuardrailTripped, match="mail__send"):
        async for chunk in wrapped.stream(LLMRequest.of("send it"), MODEL):
            seen.extend(chunk.tool_deltas)
    assert seen == [ToolCallDelta(0, "c1", "mail__send")]  # named, nothing of the key
    with pytest.raises(GuardrailTripped, match="mail__send"):  # whole, at the end
        await _collect(wrapped, LLMRequest.of("send it"))
    with pytest.raises(GuardrailTripped, match="mail__send"):
        await wrapped.complete(LLMRequest.of("send it"), MODEL)


async def test_redacting_checks_leave_tool_call_arguments_alone() -> None:
    """As before streaming: a tool gets the real values; redaction is for the answer's text."""
    call = ToolCall("c1", "mail__send", json.dumps({"to": "eve@example.com"}))
    inner = ScriptedProvider(Turn("", tool_calls=(call,), tool_pieces=3),
                             Turn("", tool_calls=(call,)))
    wrapped = GuardrailProvider(inner, Guardrails(policy=GuardrailPolicy()))
    chunks = await _collect(wrapped, LLMRequest.of("write to the team"))
    assert "".join(d.arguments for c in chunks for d in c.tool_deltas) == call.arguments
    assert (await wrapped.complete(LLMRequest.of("again"), MODEL)).tool_calls == (call,)
