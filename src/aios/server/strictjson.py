"""Strict JSON request bodies: what Python's parser accepts but JSON does not is refused.

`json.loads` reads `NaN`, `Infinity` and `1e400` (as infinity), keeps `"\\ud800"` as a lone
surrogate that no UTF-8 encoder will write back, and raises a plain ValueError on integers
longer than Python's 4,300-digit limit. Any of them used to reach a route and end in a 500:
a 422 answer echoing the value could not be serialised, the store could not encode it, a
date computed from it overflowed. This ASGI middleware reads each JSON body once, checks it
with a strict parser, and answers 400 in the API's error format (`{"error", "detail"}`)
naming what is wrong; a body it accepts is handed on unchanged. Bodies that are not JSON at
all are left to FastAPI's own validation (422).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

__all__ = ["MAX_INT_DIGITS", "StrictJSONBodies", "strict_json_problem"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The longest integer accepted, in digits (Python refuses past 4,300; no field needs 100).
MAX_INT_DIGITS = 100


class _Refused(ValueError):
    """The body is JSON that Python would read but a strict parser must not."""


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number; send a finite number or null")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:40]} is out of range (it would be infinite); "
                       "send a finite number")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {len(text.lstrip('-'))} digits is out of range "
                       f"(at most {MAX_INT_DIGITS})")
    return int(text)


_LONG_INT = re.compile(rb"[0-9]{%d}" % (MAX_INT_DIGITS + 1))
_SHALLOW = 400  # nesting well inside both parsers' limits


def _plainly_strict(body: bytes) -> bool:
    """Whether `body` is strict JSON, by orjson (a fast path, C speed): it refuses
    non-finite numbers, lone surrogates and bad UTF-8 itself; a run of digits longer than
    any allowed integer, or deep nesting, leaves the verdict to the checks below."""
    if body.count(b"[") + body.count(b"{") > _SHALLOW or _LONG_INT.search(body):
        return False
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True


def strict_json_problem(body: bytes) -> str | None:
    """Why `body` is refused, or None when it is strict JSON (or not JSON at all).

    Not-JSON bodies (a syntax error) return None: FastAPI answers them with its own 422.
    """
    if _plainly_strict(body):
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the body is not UTF-8 (byte {exc.start}); send UTF-8 encoded JSON"
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float,
                           parse_int=_int)
    except _Refused as exc:
        return str(exc)
    except json.JSONDecodeError:
        return None
    except (ValueError, RecursionError) as exc:
        return f"the body cannot be read as JSON: {type(exc).__name__}"
    try:  # a lone surrogate ("\ud800") decodes to a str that UTF-8 cannot encode
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return ("a string holds a lone UTF-16 surrogate (an escape like \\ud800 without its "
                "pair); send valid Unicode")
    except (ValueError, RecursionError) as exc:
        return f"the body cannot be read as JSON: {type(exc).__name__}"
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return bool(kind == b"application/json" or kind.endswith(b"+json"))
    return False


class StrictJSONBodies:
    """Refuses JSON request bodies with non-finite numbers, huge integers, lone surrogates.

    Args:
        app: the application.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay(None, message, receive), send)
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        problem = strict_json_problem(body) if body else None
        if problem is not None:
            await _refuse(send, problem)
            return
        await self.app(scope, _replay(body, None, receive), send)


def _replay(body: bytes | None, final: Message | None, receive: Receive) -> Receive:
    """A `receive` that hands on the buffered body (or message) once, then the server's."""
    first: Message = final or {"type": "http.request", "body": body or b"",
                               "more_body": False}
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replay


async def _refuse(send: Send, problem: str) -> None:
    payload = json.dumps({"error": "InvalidJSON",
                          "detail": f"the request body was refused: {problem}"}).encode()
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
