"""OpenAI's chat-completions wire format: requests in, responses, stream chunks and errors out.

Requests are checked by pydantic models that forbid unknown fields (OpenAI's own answer to one
is "Unrecognized request argument supplied"), then turned into the gateway's `LLMRequest`.
Each refusal is an `OpenAIError`: the HTTP status and OpenAI's `{"error": {message, type,
param, code}}` body, so OpenAI's SDKs raise their usual exception classes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aios.llm.types import (
    KeyBudget,
    LLMRequest,
    LLMResponse,
    Message,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = ["ChatRequest", "OpenAIError", "chunk", "completion", "parse_chat", "refusal",
           "to_request", "usage_json"]


class OpenAIError(Exception):
    """A refusal in OpenAI's error format.

    Args:
        status: the HTTP status.
        message: what is wrong and how to fix it.
        type: OpenAI's error type (`invalid_request_error`, `insufficient_quota`, ...).
        param: the request field at fault, if one is.
        code: OpenAI's error code (`model_not_found`, `invalid_api_key`, ...).
        headers: extra response headers (`Retry-After`, `WWW-Authenticate`).
    """

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None,
                 headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """`{"error": {"message", "type", "param", "code"}}`."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextPart(_Strict):
    """A text part of a message's content (the only kind this endpoint takes)."""

    type: Literal["text"]
    text: str


class FunctionCall(_Strict):
    """The function of a tool call an assistant message carries."""

    name: str
    arguments: str


class ToolCallIn(_Strict):
    """A tool call an assistant message carries (sent back with the conversation)."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(_Strict):
    """One message of `messages`."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    refusal: str | None = None

    def text(self) -> str:
        """The content as one string."""
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class FunctionDef(_Strict):
    """A function a tool offers the model."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDef(_Strict):
    """One entry of `tools`."""

    type: Literal["function"]
    function: FunctionDef


class FunctionName(_Strict):
    """The function a named `tool_choice` forces."""

    name: str


class NamedToolChoice(_Strict):
    """`tool_choice: {"type": "function", "function": {"name": ...}}`: call that function."""

    type: Literal["function"]
    function: FunctionName


class JsonSchemaFormat(_Strict):
    """`response_format.json_schema`."""

    name: str
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    description: str | None = None
    strict: bool | None = None


class ResponseFormat(_Strict):
    """`response_format`: text, any JSON object, or a JSON Schema."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class StreamOptions(_Strict):
    """`stream_options`."""

    include_usage: bool = False


class ChatRequest(_Strict):
    """The body of `POST /v1/chat/completions` (the fields this endpoint implements)."""

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = 1
    tools: list[ToolDef] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    user: str | None = None


def _param(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def refusal(exc: ValidationError) -> OpenAIError:
    first = exc.errors()[0]
    # Drop the tags pydantic puts in the path of a union's member (`str`, `literal[...]`,
    # `NamedToolChoice`): the param is the request's field.
    loc = [p for p in first["loc"] if isinstance(p, int) or not (
        p in ("str", "function-after") or "[" in p or p[:1].isupper())]
    param = _param(loc)
    if loc and loc[0] == "tool_choice" and first["type"] != "extra_forbidden":
        return OpenAIError(400, "Invalid value for 'tool_choice': send 'auto', 'none', "
                                "'required' or {\"type\": \"function\", \"function\": "
                                "{\"name\": NAME}} naming one of tools", param="tool_choice",
                           code="invalid_value")
    if first["type"] == "extra_forbidden":
        return OpenAIError(400, f"Unrecognized request argument supplied: {param} (this "
                                "endpoint implements model, messages, stream, stream_options, "
                                "max_tokens, max_completion_tokens, temperature, top_p, stop, "
                                "seed, n=1, tools, tool_choice (auto, none, required or a named "
                                "function), parallel_tool_calls, "
                                "response_format, user)", param=param, code="unknown_parameter")
    return OpenAIError(400, f"Invalid value for {param or 'the body'}: {first['msg']}",
                       param=param or None, code="invalid_value")


def _check_messages(chat: ChatRequest) -> None:
    for i, msg in enumerate(chat.messages):
        where = f"messages[{i}]"
        if msg.role == "tool" and not msg.tool_call_id:
            raise OpenAIError(400, f"{where}: a message with role 'tool' needs tool_call_id "
                                   "(the id of the tool call it answers)",
                              param=f"{where}.tool_call_id", code="invalid_value")
        if msg.tool_calls and msg.role != "assistant":
            raise OpenAIError(400, f"{where}: only assistant messages carry tool_calls",
                              param=f"{where}.tool_calls", code="invalid_value")
        if msg.content is None and not (msg.role == "assistant" and msg.tool_calls):
            raise OpenAIError(400, f"{where}: content is required (only an assistant message "
                                   "with tool_calls may omit it)", param=f"{where}.content",
                              code="invalid_value")


def _check_tools(chat: ChatRequest) -> None:
    for i, tool in enumerate(chat.tools or ()):
        schema = tool.function.parameters
        if schema is not None and schema.get("type", "object") != "object":
            raise OpenAIError(400, f"Invalid schema for function {tool.function.name!r}: "
                                   f"parameters must be a JSON Schema of type 'object', got "
                                   f"type {schema.get('type')!r}",
                              param=f"tools[{i}].function.parameters",
                              code="invalid_function_parameters")


#: `tool_choice` values with a meaning of their own: a function of one of these names cannot be
#: forced by name (the gateway's `LLMRequest.tool_choice` would read it as the mode).
_CHOICE_MODES = ("auto", "none", "required")


def _check_tool_choice(chat: ChatRequest) -> None:
    choice = chat.tool_choice
    if choice is None or choice in ("auto", "none"):
        return
    names = [t.function.name for t in chat.tools or ()]
    if not names:
        raise OpenAIError(400, "Invalid value for 'tool_choice': 'tool_choice' is only allowed "
                               "when 'tools' are specified (send tools, or leave tool_choice "
                               "out)", param="tool_choice", code="invalid_value")
    if isinstance(choice, NamedToolChoice):
        name = choice.function.name
        if name not in names:
            raise OpenAIError(400, f"Invalid value for 'tool_choice': the function {name!r} is "
                                   f"not among tools (they are: {', '.join(names)}); name one "
                                   "of them", param="tool_choice.function.name",
                              code="invalid_value")
        if name in _CHOICE_MODES:
            raise OpenAIError(400, f"Invalid value for 'tool_choice': a function named {name!r} "
                                   "cannot be forced by name here (it reads as the mode "
                                   f"{name!r}); rename the function", param="tool_choice",
                              code="unsupported_value")


def parse_chat(body: bytes) -> ChatRequest:
    """The request in `body`, checked.

    Raises:
        OpenAIError: malformed JSON, unknown fields, wrong shapes, `n` other than 1, a tool
            schema that is not an object.
    """
    try:
        data = orjson.loads(body)  # refuses NaN, infinities, lone surrogates: not JSON
    except orjson.JSONDecodeError as exc:
        raise OpenAIError(400, f"The request body is not valid JSON ({exc}); send a JSON "
                               "object with Content-Type: application/json",
                          code="invalid_json") from None
    if not isinstance(data, dict):
        raise OpenAIError(400, "The request body must be a JSON object", code="invalid_json")
    try:
        chat = ChatRequest.model_validate(data)
    except ValidationError as exc:
        raise refusal(exc) from None
    if chat.n != 1:
        raise OpenAIError(400, f"n={chat.n} is not supported: this endpoint returns one choice "
                               "per request (send n=1, or several requests)", param="n",
                          code="unsupported_value")
    _check_messages(chat)
    _check_tools(chat)
    _check_tool_choice(chat)
    return chat


def _message(msg: ChatMessage) -> Message:
    role = "system" if msg.role == "developer" else msg.role
    calls = tuple(ToolCall(c.id, c.function.name, c.function.arguments)
                  for c in msg.tool_calls or ())
    return Message(role, msg.text(), name=msg.name, tool_call_id=msg.tool_call_id,
                   tool_calls=calls)


def _response_format(chat: ChatRequest) -> Mapping[str, Any] | None:
    fmt = chat.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {}
    if fmt.json_schema is None:
        raise OpenAIError(400, "response_format of type json_schema needs json_schema",
                          param="response_format.json_schema", code="invalid_value")
    return fmt.json_schema.schema_ or {}


def to_request(chat: ChatRequest, *, model: str | None, tier: str | None,
               user: str | None, tenant: str | None, api_key: str | None = None,
               key_budget: KeyBudget | None = None) -> LLMRequest:
    """The gateway request for `chat`, attributed to `user` (and `tenant`) and to the API
    key `api_key`, whose own budget is `key_budget`."""
    stop = (chat.stop,) if isinstance(chat.stop, str) else tuple(chat.stop or ())
    tools = () if chat.tool_choice == "none" else tuple(
        t.model_dump(exclude_none=True) for t in chat.tools or ())
    choice = chat.tool_choice
    tool_choice = choice.function.name if isinstance(choice, NamedToolChoice) else \
        (choice if choice == "required" else None)
    return LLMRequest(
        messages=tuple(_message(m) for m in chat.messages), model=model, tier=tier,
        max_tokens=chat.max_completion_tokens or chat.max_tokens,
        temperature=chat.temperature, top_p=chat.top_p, stop=stop, seed=chat.seed,
        tools=tools, tool_choice=tool_choice, response_format=_response_format(chat),
        user=user, tenant=tenant,
        api_key=api_key, key_budget=key_budget)


def new_id() -> str:
    """A completion id, `chatcmpl-` and 32 random hex digits (as a uuid4's, without building
    the UUID object)."""
    return "chatcmpl-" + os.urandom(16).hex()


def usage_json(usage: Usage) -> dict[str, Any]:
    """OpenAI's usage object; `aios_counted` says the gateway counted the tokens itself
    (the provider reported none)."""
    return {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens},
            "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
            "aios_counted": usage.counted}


def _calls_json(calls: Sequence[ToolCall], *, indexed: bool) -> list[dict[str, Any]]:
    return [{**({"index": i} if indexed else {}), "id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": c.arguments}}
            for i, c in enumerate(calls)]


def finish_reason(response: LLMResponse) -> str:
    """OpenAI's finish reason for `response`."""
    if response.tool_calls:
        return "tool_calls"
    reason = response.finish_reason or "stop"
    return reason if reason in ("stop", "length", "tool_calls", "content_filter") else "stop"


def aios_json(response: LLMResponse) -> dict[str, Any]:
    """What Ai:oS adds to a response (`aios`): cost, cache hit, why that model."""
    return {"cost_usd": response.cost_usd, "cached": response.cached,
            "route_reason": response.route_reason, "usage_counted": response.usage.counted}


def completion(response: LLMResponse, completion_id: str) -> dict[str, Any]:
    """A `chat.completion` object for `response`."""
    message: dict[str, Any] = {"role": "assistant",
                               "content": response.text if response.text or not
                               response.tool_calls else None, "refusal": None}
    if response.tool_calls:
        message["tool_calls"] = _calls_json(response.tool_calls, indexed=False)
    return {"id": completion_id, "object": "chat.completion", "created": int(time.time()),
            "model": response.model, "system_fingerprint": None,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": finish_reason(response)}],
            "usage": usage_json(response.usage), "aios": aios_json(response)}


def chunk(completion_id: str, model: str, delta: Mapping[str, Any] | None, *,
          finish: str | None = None, usage: dict[str, Any] | None = None,
          with_usage: bool = False, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A `chat.completion.chunk`; `delta` None makes the choice-less usage chunk."""
    out: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk",
                           "created": int(time.time()), "model": model,
                           "system_fingerprint": None,
                           "choices": [] if delta is None else
                           [{"index": 0, "delta": dict(delta), "logprobs": None,
                             "finish_reason": finish}]}
    if with_usage:
        out["usage"] = usage
    if extra:
        out.update(extra)
    return out


def tool_call_delta(calls: Sequence[ToolCall]) -> dict[str, Any]:
    """The delta carrying a stream's tool calls (whole, in one chunk)."""
    return {"tool_calls": _calls_json(calls, indexed=True)}


def tool_piece_delta(piece: ToolCallDelta) -> dict[str, Any]:
    """The delta carrying a piece of a tool call, as OpenAI streams them: the first names
    the call (index, id, type, name, the arguments so far), the next add arguments."""
    call: dict[str, Any] = {"index": piece.index}
    if piece.id:
        call.update(id=piece.id, type="function")
    # Only what this piece carries: clients add the pieces up, a name sent twice would double.
    call["function"] = {"name": piece.name, "arguments": piece.arguments} if piece.name \
        else {"arguments": piece.arguments}
    return {"tool_calls": [call]}
