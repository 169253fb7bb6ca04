"""A real HTTP server that speaks the OpenAI and Anthropic wire formats, scripted per request.

Why a real server: the official SDKs (retries off, their own HTTP stacks, SSE parsers) must be
exercised end to end, faults included: 429 with Retry-After, 5xx, malformed bodies, stalled and
reset streams, hung connections. Nothing here is mocked below the socket.

Usage::

    with ScriptedLLMServer() as server:
        server.script(Reply.error(429, headers={"retry-after": "2"}), Reply.ok("hello"))
        client = AsyncOpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
        ...
        assert len(server.requests) == 2

Routes:
    POST /v1/chat/completions   OpenAI chat completions (JSON, or SSE when ``stream: true``;
                                a usage chunk when ``stream_options.include_usage``).
    POST /v1/messages           Anthropic messages (JSON, or SSE events message_start,
                                content_block_start/delta/stop, message_delta, message_stop).
    GET  /v1/models             a model list (lets clients probe readiness).

Each POST consumes one queued reply (``script``), or ``default`` when the queue is empty.
An ``ok`` reply answers a streaming request as a one-piece stream; a ``stream`` reply answers
a non-streaming request as one JSON body with the pieces joined.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import socket
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Reply", "ScriptedLLMServer"]

OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"

_ANTHROPIC_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                          403: "permission_error", 404: "not_found_error",
                          408: "timeout_error", 413: "request_too_large",
                          429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build it with the class methods, not the constructor."""

    kind: str
    text: str = ""
    usage: tuple[int, int] | bool | None = None
    model: str | None = None
    tool_calls: tuple[Mapping[str, Any], ...] = ()
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0
    status: int = 200
    message: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    pieces: tuple[str, ...] = ()
    stall_before_first: float = 0.0
    stall_between: float = 0.0
    stall_after: int | None = None
    stall_seconds: float = 0.0
    reset_after: int | None = None
    seconds: float = 0.0
    finish_reason: str | None = None
    arg_pieces: int = 0
    interleave: bool = False
    hold_after: int | None = None
    hold: threading.Event | None = field(default=None, compare=False)

    @classmethod
    def ok(cls, text: str = "ok", usage: tuple[int, int] | None = None, model: str | None = None,
           tool_calls: Sequence[Mapping[str, Any]] | None = None, *, cache_read: int = 0,
           cache_write: int = 0, reasoning: int = 0,
           finish_reason: str | None = None, arg_pieces: int = 0, interleave: bool = False,
           hold_after: int | None = None, hold: threading.Event | None = None) -> Reply:
        """A successful completion.

        Args:
            text: the completion text.
            usage: (input, output) tokens; None counts words of the prompt and the text.
                On the OpenAI format `input` is `prompt_tokens` (cache reads inside it); on
                the Anthropic format it is `input_tokens` (cache tokens outside it).
            model: the model id to report (default: the one asked for).
            tool_calls: `{"name", "arguments" (dict or JSON text), "id" (optional)}` each.
            cache_read, cache_write, reasoning: token classes to report in the usage.
            finish_reason: override the finish reason (`length`, ...).
            arg_pieces: streamed, each tool call comes as OpenAI sends it: a first delta
                with its index, id, type and name (and empty arguments), then its arguments
                in pieces of this many characters; 0: each call whole in one delta.
            interleave: with `arg_pieces`, the calls' deltas alternate (index 0, 1, 0, 1...)
                instead of one call after the other.
            hold_after, hold: streamed, after this many tool-call deltas the server waits
                (up to 10 s) until `hold` is set before sending the rest.
        """
        return cls("ok", text=text, usage=usage, model=model, tool_calls=tuple(tool_calls or ()),
                   cache_read=cache_read, cache_write=cache_write, reasoning=reasoning,
                   finish_reason=finish_reason, arg_pieces=arg_pieces, interleave=interleave,
                   hold_after=hold_after, hold=hold)

    @classmethod
    def error(cls, status: int, message: str = "scripted error",
              headers: Mapping[str, str] | None = None) -> Reply:
        """An HTTP error with the provider's error body (and headers such as retry-after)."""
        return cls("error", status=status, message=message, headers=dict(headers or {}))

    @classmethod
    def stream(cls, pieces: Sequence[str] = ("a", "b"), stall_before_first: float = 0.0,
               stall_between: float = 0.0, stall_after: int | None = None,
               stall_seconds: float = 0.0, reset_after: int | None = None,
               usage: tuple[int, int] | bool = True, model: str | None = None) -> Reply:
        """A streamed completion.

        Args:
            pieces: the text deltas, one chunk each.
            stall_before_first: seconds to wait after the headers, before the first chunk.
            stall_between: seconds between chunks.
            stall_after: index of the chunk after which the stream stalls `stall_seconds`.
            stall_seconds: how long that stall lasts.
            reset_after: close the connection abruptly (TCP RST) after this many chunks.
            usage: True to report usage (OpenAI: only when the request asked for it), False
                to report none, or explicit (input, output) tokens.
            model: the model id to report.
        """
        return cls("stream", pieces=tuple(pieces), stall_before_first=stall_before_first,
                   stall_between=stall_between, stall_after=stall_after,
                   stall_seconds=stall_seconds, reset_after=reset_after, usage=usage,
                   model=model)

    @classmethod
    def malformed(cls) -> Reply:
        """A 200 whose JSON body does not parse."""
        return cls("malformed")

    @classmethod
    def hang(cls, seconds: float) -> Reply:
        """Accept the request and say nothing for `seconds`, then close the connection."""
        return cls("hang", seconds=seconds)

    @classmethod
    def reset(cls) -> Reply:
        """Close the socket abruptly without any response."""
        return cls("reset")


def _words(text: str) -> int:
    return max(len(text.split()), 1)


def _prompt_words(body: Mapping[str, Any]) -> int:
    parts: list[str] = []
    system = body.get("system")
    if isinstance(system, str):
        parts.append(system)
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(block.get("text", "")) for block in content
                         if isinstance(block, Mapping))
    return _words(" ".join(parts))


class _Abort(Exception):
    """The scripted reply closed the connection on purpose."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read `server.requests`, not the log

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # the socket may be reset on purpose
            super().finish()

    # -- plumbing -------------------------------------------------------------------------

    def _read_json(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}

    def _send_json(self, status: int, body: Any, headers: Mapping[str, str] | None = None,
                   raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _rst(self) -> None:
        # SO_LINGER with a zero timeout turns close() into a TCP reset, like a crashed proxy.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.connection.close()
        self.close_connection = True
        raise _Abort

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.server.closing.wait(seconds)

    # -- routes ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._send_json(200, {"object": "list", "data": [
                {"id": "scripted", "object": "model", "owned_by": "tests"}]})
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        body = self._read_json()
        path = self.path.split("?", 1)[0].rstrip("/")
        if path not in (OPENAI_PATH, ANTHROPIC_PATH):
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        reply = self.server.owner._take(body, path, dict(self.headers.items()))
        try:
            self._answer(reply, body, anthropic=path == ANTHROPIC_PATH)
        except _Abort:
            return
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeout): fine

    def _answer(self, reply: Reply, body: Mapping[str, Any], *, anthropic: bool) -> None:
        if reply.kind == "reset":
            self._rst()
        if reply.kind == "hang":
            self._sleep(reply.seconds)
            self._rst()
        if reply.kind == "malformed":
            self._send_json(200, None, raw=b'{"id": "broken", "choices": [{"message": ')
            return
        if reply.kind == "error":
            self._send_error(reply, anthropic=anthropic)
            return
        model = reply.model or str(body.get("model") or "scripted")
        streaming = bool(body.get("stream"))
        if reply.kind == "ok" and not streaming:
            self._send_json(200, _anthropic_message(reply, body, model) if anthropic
                            else _openai_completion(reply, body, model))
            return
        if reply.kind == "stream" and not streaming:
            joined = Reply.ok("".join(reply.pieces), usage=reply.usage
                              if isinstance(reply.usage, tuple) else None, model=reply.model)
            self._send_json(200, _anthropic_message(joined, body, model) if anthropic
                            else _openai_completion(joined, body, model))
            return
        stream = reply if reply.kind == "stream" else dataclasses.replace(
            reply, kind="stream", pieces=(reply.text,), usage=reply.usage or True)
        events = (_anthropic_events(stream, body, model) if anthropic
                  else _openai_events(stream, body, model))
        self._stream(stream, events)

    def _send_error(self, reply: Reply, *, anthropic: bool) -> None:
        if anthropic:
            kind = _ANTHROPIC_ERROR_TYPES.get(reply.status, "api_error")
            payload: dict[str, Any] = {"type": "error",
                                       "error": {"type": kind, "message": reply.message}}
        else:
            payload = {"error": {"message": reply.message, "type": "scripted_error",
                                 "param": None, "code": str(reply.status)}}
        self._send_json(reply.status, payload, headers=reply.headers)

    def _stream(self, reply: Reply, events: Iterator[tuple[bytes, bool]]) -> None:
        """Write SSE events; the bool says whether the event carries a text piece."""
        self._start_sse()
        pieces_sent = 0
        self._sleep(reply.stall_before_first)
        for data, is_piece in events:
            self._write_chunk(data)
            if not is_piece:
                continue
            pieces_sent += 1
            if reply.reset_after is not None and pieces_sent >= reply.reset_after:
                self._rst()
            if reply.stall_after is not None and pieces_sent - 1 == reply.stall_after:
                self._sleep(reply.stall_seconds)
            if pieces_sent < len(reply.pieces):
                self._sleep(reply.stall_between)
        self._end_chunks()


def _usage_numbers(reply: Reply, body: Mapping[str, Any]) -> tuple[int, int]:
    if isinstance(reply.usage, tuple):
        return reply.usage
    if reply.kind == "stream":  # one token per streamed piece, as real servers send them
        return _prompt_words(body), max(len(reply.pieces), 1)
    text = reply.text
    return _prompt_words(body), _words(text) if text else len(reply.tool_calls) or 1


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    calls = []
    for i, call in enumerate(reply.tool_calls):
        args = call.get("arguments", {})
        calls.append({"id": str(call.get("id") or f"call_{i}"), "name": str(call["name"]),
                      "arguments": args if isinstance(args, str) else json.dumps(args)})
    return calls


def _tool_deltas(reply: Reply, calls: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The tool-call deltas of a streamed reply (see `Reply.ok`'s `arg_pieces`)."""
    if not reply.arg_pieces:
        for i, call in enumerate(calls):
            yield {"index": i, "id": call["id"], "type": "function",
                   "function": {"name": call["name"], "arguments": call["arguments"]}}
        return
    per_call: list[list[dict[str, Any]]] = []
    for i, call in enumerate(calls):
        args, size = call["arguments"], reply.arg_pieces
        per_call.append([{"index": i, "id": call["id"], "type": "function",
                          "function": {"name": call["name"], "arguments": ""}}]
                        + [{"index": i, "function": {"arguments": args[at:at + size]}}
                           for at in range(0, len(args), size)])
    if reply.interleave:
        for row in itertools.zip_longest(*per_call):
            yield from (delta for delta in row if delta is not None)
    else:
        for deltas in per_call:
            yield from deltas


def _openai_usage(reply: Reply, body: Mapping[str, Any]) -> dict[str, Any]:
    prompt, completion = _usage_numbers(reply, body)
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                             "total_tokens": prompt + completion}
    if reply.cache_read:
        usage["prompt_tokens_details"] = {"cached_tokens": reply.cache_read}
    if reply.reasoning:
        usage["completion_tokens_details"] = {"reasoning_tokens": reply.reasoning}
    return usage


def _openai_completion(reply: Reply, body: Mapping[str, Any], model: str) -> dict[str, Any]:
    calls = _tool_calls(reply)
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if calls:
        message["tool_calls"] = [{"id": c["id"], "type": "function",
                                  "function": {"name": c["name"], "arguments": c["arguments"]}}
                                 for c in calls]
    finish = reply.finish_reason or ("tool_calls" if calls else "stop")
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish,
                         "logprobs": None}],
            "usage": _openai_usage(reply, body)}


def _sse(payload: Mapping[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(payload)}\n\n".encode()


def _openai_events(reply: Reply, body: Mapping[str, Any],
                   model: str) -> Iterator[tuple[bytes, bool]]:
    base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}

    def chunk(delta: Mapping[str, Any], finish: str | None = None) -> bytes:
        return _sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                                          "logprobs": None}]})

    for i, piece in enumerate(reply.pieces):
        delta: dict[str, Any] = {"content": piece}
        if i == 0:
            delta["role"] = "assistant"
        yield chunk(delta), True
    calls = _tool_calls(reply)
    for sent, delta in enumerate(_tool_deltas(reply, calls), start=1):
        yield chunk({"tool_calls": [delta]}), False
        if reply.hold is not None and sent == reply.hold_after:
            reply.hold.wait(10)
    yield chunk({}, reply.finish_reason or ("tool_calls" if calls else "stop")), False
    options = body.get("stream_options") or {}
    if reply.usage is not False and options.get("include_usage"):
        yield _sse({**base, "choices": [], "usage": _openai_usage(reply, body)}), False
    yield b"data: [DONE]\n\n", False


def _anthropic_usage(reply: Reply, body: Mapping[str, Any]) -> dict[str, Any]:
    prompt, completion = _usage_numbers(reply, body)
    return {"input_tokens": prompt, "output_tokens": completion,
            "cache_read_input_tokens": reply.cache_read,
            "cache_creation_input_tokens": reply.cache_write}


def _anthropic_message(reply: Reply, body: Mapping[str, Any], model: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if reply.text:
        content.append({"type": "text", "text": reply.text})
    for call in _tool_calls(reply):
        content.append({"type": "tool_use", "id": call["id"], "name": call["name"],
                        "input": json.loads(call["arguments"] or "{}")})
    stop = reply.finish_reason or ("tool_use" if reply.tool_calls else "end_turn")
    return {"id": f"msg_{uuid.uuid4().hex[:12]}", "type": "message", "role": "assistant",
            "model": model, "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": _anthropic_usage(reply, body)}


def _anthropic_events(reply: Reply, body: Mapping[str, Any],
                      model: str) -> Iterator[tuple[bytes, bool]]:
    usage = _anthropic_usage(reply, body) if reply.usage is not False else {
        "input_tokens": 0, "output_tokens": 0}
    start_usage = {**usage, "output_tokens": 1}
    yield _sse({"type": "message_start", "message": {
        "id": f"msg_{uuid.uuid4().hex[:12]}", "type": "message", "role": "assistant",
        "model": model, "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": start_usage}}, "message_start"), False
    yield _sse({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}, "content_block_start"), False
    for piece in reply.pieces:
        yield _sse({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": piece}},
                   "content_block_delta"), True
    yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"), False
    for i, call in enumerate(_tool_calls(reply), start=1):
        yield _sse({"type": "content_block_start", "index": i, "content_block": {
            "type": "tool_use", "id": call["id"], "name": call["name"], "input": {}}},
            "content_block_start"), False
        yield _sse({"type": "content_block_delta", "index": i, "delta": {
            "type": "input_json_delta", "partial_json": call["arguments"]}},
            "content_block_delta"), False
        yield _sse({"type": "content_block_stop", "index": i}, "content_block_stop"), False
    stop = reply.finish_reason or ("tool_use" if reply.tool_calls else "end_turn")
    yield _sse({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]}}, "message_delta"), False
    yield _sse({"type": "message_stop"}, "message_stop"), False


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # hung handlers must not keep the test process alive
    allow_reuse_address = True

    def __init__(self, owner: ScriptedLLMServer):
        self.owner = owner
        self.closing = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)


class ScriptedLLMServer:
    """A scripted OpenAI/Anthropic-compatible HTTP server on an ephemeral 127.0.0.1 port.

    Attributes:
        url: `http://127.0.0.1:PORT` (the OpenAI base_url is `url + "/v1"`; the Anthropic
            base_url is `url`).
        requests: the JSON bodies received, in order.
        paths: the path of each received request, in the same order.
        request_headers: the headers of each received request, in the same order.
        default: the reply used when the script queue is empty.
        responder: when set, makes the reply for a request the queue does not answer, from
            its JSON body (instead of `default`): a model whose answer depends on the prompt.
    """

    def __init__(self, default: Reply | None = None, *,
                 responder: Callable[[Mapping[str, Any]], Reply] | None = None):
        self.default = default or Reply.ok("ok")
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.request_headers: list[dict[str, str]] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def script(self, *replies: Reply) -> ScriptedLLMServer:
        """Queue replies, consumed one per request in order."""
        with self._lock:
            self._queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        """Replies still queued."""
        with self._lock:
            return len(self._queue)

    def _take(self, body: Any, path: str, headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body if isinstance(body, dict) else {"_body": body})
            self.paths.append(path)
            self.request_headers.append({k.lower(): v for k, v in headers.items()})
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None and isinstance(body, dict):
            return self.responder(body)
        return self.default

    def start(self) -> ScriptedLLMServer:
        """Bind and serve in a background thread."""
        self._server = _Server(self)
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"scripted-llm-{port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hung and stalled replies end at once."""
        if self._server is None:
            return
        self._server.closing.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
