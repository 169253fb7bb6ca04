"""Cancelling a local-model call stops llama.cpp at once (Ctrl-C during a boot, a deadline)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from aios.llm import LLMRequest, model_infos
from aios.llm.providers import LocalProvider

pytestmark = pytest.mark.slow


def generating() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "aios-local-llm"]


async def test_a_cancelled_completion_returns_at_once_and_stops_generating() -> None:
    info = model_infos({})["local"]
    local = LocalProvider(info)
    request = LLMRequest.of("Write a very long story about a lighthouse keeper.",
                            max_tokens=1500, temperature=0.8)
    task = asyncio.create_task(local.complete(request, info))
    for _ in range(600):  # the model loads, then the generation starts
        await asyncio.sleep(0.05)
        if generating():
            break
    assert generating(), "the generation never started"
    await asyncio.sleep(0.2)  # tokens are flowing
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task  # returns without waiting for the generation
    # No thread left for the interpreter to join at exit ...
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("aios-local"))
    # ... and llama.cpp stops at the next token: the generation thread ends soon (bounded
    # polls; 1,500 tokens would keep it busy for minutes on this machine).
    for _ in range(200):
        if not generating():
            break
        await asyncio.sleep(0.05)
    assert not generating(), "llama.cpp kept generating after the cancellation"
