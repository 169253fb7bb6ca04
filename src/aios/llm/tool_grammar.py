"""Tool calls by grammar: for models (and servers) that cannot call tools natively.

The tools are described in a system message, and decoding is constrained by a grammar built
from a JSON Schema that admits exactly `{"tool": NAME, "arguments": {...}}` for each tool (its
`parameters` schema) or `{"answer": TEXT}`; the reply is then taken apart into tool calls. Even
a 135M model then always produces a call that parses and fits its tool's schema; which tool it
picks, and with what values, is another matter.

Used by the `local` provider (llama-cpp-python in process) and by the `openai` provider with
`params: {tool_grammar: true}` (a llama.cpp server: its `response_format`
`{"type": "json_object", "schema": ...}` is that grammar).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from aios.llm.types import Message, ToolCall

__all__ = ["grammar_messages", "grammar_response_format", "parse_reply", "tool_call_schema"]


def tool_call_schema(tools: tuple[Mapping[str, Any], ...],
                     choice: str | None = None) -> dict[str, Any]:
    """The JSON Schema of one reply: a call of one of `tools` (OpenAI format) or an answer.

    `choice` is the request's `tool_choice`: `required` leaves the answer out, `none` the
    calls, a tool's name every other tool.
    """
    options: list[dict[str, Any]] = []
    for tool in tools:
        fn = tool.get("function", tool)
        if choice == "none" or choice not in (None, "auto", "required", fn["name"]):
            continue
        params = dict(fn.get("parameters") or {"type": "object", "properties": {}})
        options.append({"type": "object", "properties": {
            "tool": {"const": fn["name"]}, "arguments": params},
            "required": ["tool", "arguments"]})
    if choice in (None, "auto", "none") or not options:
        options.append({"type": "object", "properties": {"answer": {"type": "string"}},
                        "required": ["answer"]})
    return {"anyOf": options}


def grammar_response_format(tools: tuple[Mapping[str, Any], ...],
                            choice: str | None = None) -> dict[str, Any]:
    """llama.cpp's `response_format` that constrains a reply to `tool_call_schema`."""
    return {"type": "json_object", "schema": tool_call_schema(tools, choice)}


def _tool_prompt(tools: tuple[Mapping[str, Any], ...]) -> str:
    lines = ['To call a tool, reply {"tool": NAME, "arguments": {...}}; when you are done, '
             'reply {"answer": TEXT}. Tools:']
    for tool in tools:
        fn = tool.get("function", tool)
        params = json.dumps((fn.get("parameters") or {}).get("properties", {}))
        lines.append(f"- {fn['name']}: {fn.get('description', '')} arguments: {params}")
    return "\n".join(lines)


def _chat(message: Message) -> dict[str, str]:
    """A message for a chat template that knows no tool roles."""
    if message.role == "tool":
        return {"role": "user", "content": f"Tool result: {message.content}"}
    if message.tool_calls:  # as the grammar made the model write it
        call = message.tool_calls[0]
        try:
            args: Any = json.loads(call.arguments)
        except ValueError:
            args = call.arguments
        return {"role": "assistant", "content": json.dumps(
            {"tool": call.name, "arguments": args})}
    return {"role": message.role, "content": message.content}


def grammar_messages(messages: tuple[Message, ...],
                     tools: tuple[Mapping[str, Any], ...]) -> list[dict[str, str]]:
    """`messages` as plain chat messages, the tools described first (when there are any)."""
    out = [_chat(m) for m in messages]
    if tools:
        out.insert(0, {"role": "system", "content": _tool_prompt(tools)})
    return out


def parse_reply(text: str) -> tuple[str, tuple[ToolCall, ...]]:
    """(answer text, tool calls) from a grammar-constrained reply."""
    try:
        data = json.loads(text)
    except ValueError:  # cut off by max_tokens: the grammar could not finish it
        return text, ()
    if isinstance(data, dict) and "tool" in data:
        args = data.get("arguments", {})
        return "", (ToolCall(f"call_{uuid.uuid4().hex[:12]}", str(data["tool"]),
                             args if isinstance(args, str) else json.dumps(args)),)
    return str(data.get("answer", "")) if isinstance(data, dict) else text, ()
