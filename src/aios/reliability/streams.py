"""Streams: time limits, and the line between "re-issue" and "fail clearly".

A stream is retried and failed over only up to its first token: `prime` awaits that token, so
everything before it is an ordinary awaitable failure that `Retrier` and `Fallback` handle like
any call. Once a token has reached the caller the request is never re-sent (the caller would
see text twice); a later failure becomes `StreamInterrupted`, saying how much was delivered,
so output is never silently truncated.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aios.errors import StreamInterrupted, TransientProviderError
from aios.llm.types import StreamChunk
from aios.reliability.classify import describe

__all__ = ["guard_stream", "has_content", "prime", "relay"]


def has_content(chunk: StreamChunk) -> bool:
    """True for a chunk that carries a token, a tool call (or a piece of one), or the end of
    the answer."""
    return bool(chunk.text or chunk.tool_calls or chunk.tool_deltas or chunk.finish_reason
                or chunk.usage)


async def _close(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


async def guard_stream(source: AsyncIterator[StreamChunk], *, ttft_s: float | None,
                       idle_s: float | None, provider: str, model: str
                       ) -> AsyncIterator[StreamChunk]:
    """`source`, failing with `TransientProviderError` when it is too slow.

    Args:
        source: the provider's stream.
        ttft_s: seconds from the start to the first token (chunks without content do not
            count); None for no limit.
        idle_s: seconds allowed between two chunks after the first token; None for no limit.
        provider, model: named in the error.
    """
    loop = asyncio.get_running_loop()
    first_by = loop.time() + ttft_s if ttft_s is not None else None
    started = False
    try:
        while True:
            limit = first_by
            if started:
                limit = loop.time() + idle_s if idle_s is not None else None
            deadline = asyncio.timeout_at(limit)
            try:
                async with deadline:
                    chunk = await anext(source)
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                if not deadline.expired():
                    raise
                what = (f"sent nothing for {idle_s:g} s in the middle of a stream "
                        "(stream.idle_s)" if started else
                        f"sent no first token within {ttft_s:g} s (stream.ttft_s)")
                raise TransientProviderError(f"{provider} model {model} {what}",
                                             provider=provider, model=model) from exc
            started = started or has_content(chunk)
            yield chunk
    finally:
        await _close(source)


async def _resume(head: list[StreamChunk],
                  rest: AsyncIterator[StreamChunk]) -> AsyncIterator[StreamChunk]:
    try:
        for chunk in head:
            yield chunk
        async for chunk in rest:
            yield chunk
    finally:
        await _close(rest)


async def prime(stream: AsyncIterator[StreamChunk]) -> AsyncIterator[StreamChunk]:
    """Wait for the first token of `stream`; return the whole stream, that token included.

    A failure before the first token is raised here, as by any awaitable call, so retries and
    fallbacks can re-issue the request: nothing has reached the caller yet.
    """
    head: list[StreamChunk] = []
    try:
        async for chunk in stream:
            head.append(chunk)
            if has_content(chunk):
                break
    except BaseException:
        await _close(stream)
        raise
    return _resume(head, stream)


async def relay(primed: AsyncIterator[StreamChunk], *, provider: str,
                model: str) -> AsyncIterator[StreamChunk]:
    """Yield `primed`; a failure after the first chunk becomes `StreamInterrupted`."""
    chunks = chars = 0
    try:
        async for chunk in primed:
            chunks += 1
            chars += len(chunk.text)
            yield chunk
    except StreamInterrupted:
        raise
    except Exception as exc:
        if chunks == 0:
            raise
        raise StreamInterrupted(
            f"{provider} model {model}: the stream broke after {chunks} chunk(s), "
            f"{chars} characters, had reached the caller ({describe(exc)}); it is not re-sent "
            "automatically because the caller already holds the first part: treat the answer "
            "as incomplete and ask again", delivered_chunks=chunks, delivered_chars=chars,
            provider=provider, model=model) from exc
    finally:
        await _close(primed)
