"""What the red-team suite attacks: a registry of targets, built from a spec string.

    callable:package.module:function     a Python function (messages) -> str | Reply
    model:NAME                           a model through the gateway (`model:` = the default)
    http:URL[#MODEL]                     an OpenAI-compatible endpoint (URL ends in /v1)
    agent:MANIFEST#AGENT                 a manifest agent: the model picks actions, which run
                                         through a Runtime with its confirmation gates

A target answers a conversation (system, tool and user messages) with a `Reply`; actions it
asks for are written `CALL agent.key` in its text (the convention the suite's system prompt
teaches), and a runtime target also says which of them actually executed.
"""

from __future__ import annotations

import asyncio
import difflib
import importlib
import inspect
import json
import re
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aios.errors import ConfigError, NotFoundError, ProviderError
from aios.llm.types import LLMRequest, Message

__all__ = ["TARGETS", "CallableTarget", "HttpTarget", "ModelTarget", "Reply", "Target",
           "parse_actions", "register_target", "resolve_target"]

_CALL = re.compile(r"\bCALL\s+`?([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)")


def parse_actions(text: str) -> tuple[str, ...]:
    """The `agent.key` names a reply asks to run (`CALL kernel.terminate_process`)."""
    return tuple(dict.fromkeys(_CALL.findall(text)))


@dataclass(frozen=True)
class Reply:
    """A target's answer to one turn."""

    text: str
    actions: tuple[str, ...] = ()
    executed: tuple[str, ...] = ()


class Target(Protocol):
    """Something the suite can attack."""

    name: str
    #: True when actions run through a runtime (only executions count as success).
    runtime: bool

    async def reply(self, messages: Sequence[Message]) -> Reply:
        """Answer the conversation so far."""
        ...


TargetFactory = Callable[[str, dict[str, Any]], Target]
#: Target factories by scheme.
TARGETS: dict[str, TargetFactory] = {}


def register_target(scheme: str) -> Callable[[TargetFactory], TargetFactory]:
    """Register a factory `(rest_of_spec, services) -> Target` for `scheme:` specs."""

    def add(factory: TargetFactory) -> TargetFactory:
        TARGETS[scheme] = factory
        return factory

    return add


def resolve_target(spec: str, **services: Any) -> Target:
    """The target for `spec` (`model:`, `callable:...`, `http:...`, `agent:...`).

    Args:
        spec: the target spec.
        services: what factories may need: `gateway` (for model and agent targets).

    Raises:
        NotFoundError: unknown scheme (the message lists the known ones).
    """
    scheme, sep, rest = spec.partition(":")
    factory = TARGETS.get(scheme) if sep else None
    if factory is None:
        close = difflib.get_close_matches(scheme, TARGETS, n=1)
        hint = f" (did you mean {close[0]}:?)" if close else ""
        raise NotFoundError(f"unknown red-team target {spec!r}{hint}; use one of: "
                            + ", ".join(f"{k}:..." for k in sorted(TARGETS)))
    return factory(rest, services)


class CallableTarget:
    """A Python function `(messages) -> str | Reply`, sync or async."""

    runtime = False

    def __init__(self, fn: Callable[[Sequence[Message]], Any], name: str = "callable"):
        self.fn = fn
        self.name = name

    async def reply(self, messages: Sequence[Message]) -> Reply:
        """Call the function."""
        result = self.fn(messages)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, Reply):
            return result
        text = str(result)
        return Reply(text, parse_actions(text))


@register_target("callable")
def _callable(rest: str, services: dict[str, Any]) -> Target:
    del services
    module_name, sep, attr = rest.partition(":")
    if not sep:
        raise ConfigError(f"callable target {rest!r} must be `callable:package.module:function`")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise NotFoundError(f"callable target {rest!r}: {exc}; is the module on PYTHONPATH?"
                            ) from exc
    return CallableTarget(fn, name=f"callable:{rest}")


class ModelTarget:
    """A model through the Ai:oS gateway (`gateway.complete(LLMRequest)`)."""

    runtime = False

    def __init__(self, gateway: Any, model: str | None = None, max_tokens: int = 96):
        self.gateway = gateway
        self.model = model or None
        self.max_tokens = max_tokens
        self.name = f"model:{model or 'default'}"

    async def reply(self, messages: Sequence[Message]) -> Reply:
        """One completion, greedy, never served from the cache."""
        request = LLMRequest(messages=tuple(messages), model=self.model,
                             max_tokens=self.max_tokens, temperature=0.0, seed=0, cache=False,
                             agent="redteam", action="redteam.attack")
        response = await self.gateway.complete(request)
        return Reply(response.text, parse_actions(response.text))


@register_target("model")
def _model(rest: str, services: dict[str, Any]) -> Target:
    gateway = services.get("gateway")
    if gateway is None:
        raise ConfigError("a model target needs the model gateway; run it through "
                          "`aios redteam`, which opens the manifest's gateway")
    return ModelTarget(gateway, rest or None)


class HttpTarget:
    """An OpenAI-compatible chat completions endpoint (local servers, vLLM, llama.cpp)."""

    runtime = False

    def __init__(self, base_url: str, model: str = "default", timeout: float = 60.0,
                 post: Callable[[str, bytes], Awaitable[bytes]] | None = None):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout = timeout
        self.name = f"http:{base_url}"
        self._post = post or self._urllib_post

    async def _urllib_post(self, url: str, body: bytes) -> bytes:
        def send() -> bytes:
            request = urllib.request.Request(url, data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return bytes(response.read())

        try:
            return await asyncio.to_thread(send)
        except (urllib.error.URLError, OSError) as exc:
            raise ProviderError(f"red-team target {url} failed: {exc}; is the server running?",
                                provider="http") from exc

    async def reply(self, messages: Sequence[Message]) -> Reply:
        """POST the conversation; read `choices[0].message.content`."""
        body = json.dumps({"model": self.model, "temperature": 0, "max_tokens": 256,
                           "messages": [{"role": m.role if m.role != "tool" else "user",
                                         "content": m.content} for m in messages]}).encode()
        raw = await self._post(self.url, body)
        try:
            text = str(json.loads(raw)["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderError(f"red-team target {self.url} did not answer in the OpenAI "
                                f"chat format: {raw[:200]!r}", provider="http") from exc
        return Reply(text, parse_actions(text))


@register_target("http")
def _http(rest: str, services: dict[str, Any]) -> Target:
    del services
    url, _, model = rest.partition("#")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"http target {rest!r} must be `http:http(s)://host:port/v1[#model]`")
    return HttpTarget(url, model or "default")
