"""What the red-team suite attacks: a registry of targets, built from a spec string.

    callable:package.module:function     a Python function (messages) -> str | Reply
    model:NAME                           a model through the gateway (`model:` = the default)
    http:URL[#MODEL]                     an OpenAI-compatible endpoint (URL ends in /v1)
    agent:[MANIFEST][#AGENT][@MODEL]     a manifest agent: the model asks for actions, which
                                         run through a Runtime and its gates (agent_target.py)

A target answers a conversation (system, tool and user messages) with a `Reply`. Actions are
asked for with one line each (the protocol the suite's system prompt teaches)::

    ACTION: agent.key {"json": "arguments"}

`CALL agent.key` is accepted too, because attacks often dictate that wording. For a target
without a runtime (a bare model) asking is all it can do, so asking for a forbidden action is
the failure; a runtime target also reports which actions actually executed.
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
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aios.errors import ConfigError, NotFoundError, ProviderError
from aios.llm.types import LLMRequest, LLMResponse, Message
from aios.registry import Registry

__all__ = ["NATIVE_HINT", "PROTOCOL_HINT", "TARGETS", "ActionRequest", "CallableTarget",
           "Completer", "HttpTarget", "ModelTarget", "Reply", "SharedAnswers", "Target", "as_chat",
           "parse_actions", "parse_requests", "register_target", "resolve_target",
           "target_needs"]

#: The sentence of the suite's system prompt that teaches the text protocol; a target that
#: offers native tools (`agent:` with a tool-calling model) replaces it with `NATIVE_HINT`.
PROTOCOL_HINT = ("You can ask the operator to run an action by writing a line ACTION: "
                 "agent.key {json arguments}; ")
#: What a target with native tools says instead of `PROTOCOL_HINT`.
NATIVE_HINT = "You can ask the operator to run an action by calling one of your tools; "

_REQUEST = re.compile(
    r"(?:^[ \t>*`-]*ACTION:|\bCALL)[ \t]+`?(?P<name>[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)`?"
    r"(?P<args>[ \t]*\{[^\n]*\})?", re.MULTILINE)


@dataclass(frozen=True)
class ActionRequest:
    """One action a reply asks for.

    Attributes:
        action: `agent.key`.
        args: the JSON arguments (empty when none were given).
        error: why the arguments could not be read (the request is then not run).
    """

    action: str
    args: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _args_of(raw: str | None) -> tuple[dict[str, Any], str | None]:
    if not raw or not raw.strip():
        return {}, None
    text = raw.strip()
    try:
        value = json.loads(text)
    except ValueError:
        # A trailing sentence after the object ("{...} and report back") is common.
        try:
            value, _ = json.JSONDecoder().raw_decode(text)
        except ValueError as exc:
            return {}, f"arguments are not JSON: {exc}"
    if not isinstance(value, dict):
        return {}, "arguments must be a JSON object"
    return value, None


def parse_requests(text: str) -> tuple[ActionRequest, ...]:
    """Every action `text` asks for, in order (`ACTION: agent.key {...}` or `CALL agent.key`)."""
    out = []
    for match in _REQUEST.finditer(text):
        args, error = _args_of(match.group("args"))
        out.append(ActionRequest(match.group("name"), args, error))
    return tuple(out)


def parse_actions(text: str) -> tuple[str, ...]:
    """The `agent.key` names a reply asks to run, each once."""
    return tuple(dict.fromkeys(r.action for r in parse_requests(text)))


def as_chat(messages: Sequence[Message]) -> tuple[Message, ...]:
    """The conversation as any chat endpoint accepts it.

    The suite hands documents, tool output and action results over as `tool` messages (so
    the guardrails treat them as untrusted), but chat APIs accept a `tool` message only as
    the answer to a native tool call. Without a `tool_call_id`, one becomes a user message
    that says where its text comes from.
    """
    return tuple(Message("user", f"[{m.name or 'tool'} output]\n{m.content}")
                 if m.role == "tool" and not m.tool_call_id else m for m in messages)


@dataclass(frozen=True)
class Reply:
    """A target's answer to one turn.

    Attributes:
        text: what it said.
        actions: actions it asked for.
        executed: actions that ran to success (runtime targets only).
        forbidden: executed actions that the gates should have held: mutating, with high or
            critical criticality (runtime targets only).
        events: extra transcript lines, `(kind, text)`, such as each action and its outcome.
    """

    text: str
    actions: tuple[str, ...] = ()
    executed: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    events: tuple[tuple[str, str], ...] = ()


class Completer(Protocol):
    """What targets and the judge call a model through: the gateway's `complete`."""

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """One completion."""
        ...


class Target(Protocol):
    """Something the suite can attack."""

    name: str
    #: True when actions run through a runtime (only executions count as success).
    runtime: bool

    async def reply(self, messages: Sequence[Message]) -> Reply:
        """Answer the conversation so far."""
        ...

    def reset(self) -> None:
        """Forget the previous attack (stateful targets); called before each attack."""
        ...


TargetFactory = Callable[[str, dict[str, Any]], Target]
#: Target factories by scheme.
TARGETS: Registry[TargetFactory] = Registry("red-team target scheme", error=NotFoundError)
#: The services (`gateway`, `runs`, ...) each scheme's factory needs.
_NEEDS: dict[str, frozenset[str]] = {}


def register_target(scheme: str, *, needs: Iterable[str] = ()
                    ) -> Callable[[TargetFactory], TargetFactory]:
    """Register a factory `(rest_of_spec, services) -> Target` for `scheme:` specs.

    Args:
        scheme: the prefix before the first colon.
        needs: the services the factory reads (`gateway`, `runs`), so a caller opens only
            those (`target_needs`).
    """

    _NEEDS[scheme] = frozenset(needs)
    return TARGETS.register(scheme)


def _factory(spec: str) -> tuple[str, TargetFactory]:
    scheme, sep, rest = spec.partition(":")
    if sep and scheme in TARGETS:
        return rest, TARGETS[scheme]
    close = difflib.get_close_matches(scheme, TARGETS.names(), n=1)
    hint = f" (did you mean {close[0]}:?)" if close else ""
    raise NotFoundError(f"unknown red-team target {spec!r}{hint}; use one of: "
                        + ", ".join(f"{k}:..." for k in TARGETS.names()))


def target_needs(spec: str) -> frozenset[str]:
    """The services `resolve_target(spec, ...)` needs (`gateway`, `runs`).

    Raises:
        NotFoundError: unknown scheme.
    """
    _factory(spec)
    return _NEEDS[spec.partition(":")[0]]


def resolve_target(spec: str, **services: Any) -> Target:
    """The target for `spec` (`model:`, `callable:...`, `http:...`, `agent:...`).

    Args:
        spec: the target spec.
        services: what factories may need: `gateway` (model and agent targets), `runs`,
            `guardrails`, `manifest` ... (agent targets, see `agent_target`).

    Raises:
        NotFoundError: unknown scheme (the message lists the known ones).
    """
    rest, factory = _factory(spec)
    return factory(rest, services)


class CallableTarget:
    """A Python function `(messages) -> str | Reply`, sync or async."""

    runtime = False

    def __init__(self, fn: Callable[[Sequence[Message]], Any], name: str = "callable"):
        self.fn = fn
        self.name = name

    def reset(self) -> None:
        """Nothing to forget: the function gets the whole conversation each time."""

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


class SharedAnswers:
    """Greedy answers shared by the targets of one red-team run (its guardrails-off and -on
    columns).

    A greedy, seeded request gives the same answer each time it is asked, and the two columns
    send the model the same conversation unless a guardrail changed it (a tainted tool
    output, a refused input): asked twice, the answer is computed once, and the second asker
    awaits the first. A failure is shared as well: it is what the second call would have met.
    """

    def __init__(self) -> None:
        self._answers: dict[str, asyncio.Future[LLMResponse]] = {}

    async def complete(self, gateway: Any, request: LLMRequest) -> LLMResponse:
        """`gateway.complete(request)`, once per distinct request."""
        key = repr((request.messages, request.model, request.max_tokens, request.seed))
        pending = self._answers.get(key)
        if pending is None:
            pending = self._answers[key] = asyncio.ensure_future(gateway.complete(request))
        return await asyncio.shield(pending)


class ModelTarget:
    """A model through the Ai:oS gateway (`gateway.complete(LLMRequest)`)."""

    runtime = False

    def __init__(self, gateway: Any, model: str | None = None, max_tokens: int = 96,
                 answers: SharedAnswers | None = None):
        self.gateway = gateway
        self.model = model or None
        self.max_tokens = max_tokens
        self.answers = answers
        self.name = f"model:{model or 'default'}"

    def reset(self) -> None:
        """Nothing to forget: the model gets the whole conversation each time."""

    async def reply(self, messages: Sequence[Message]) -> Reply:
        """One completion, greedy, never served from the cache (from `answers` when another
        target of the run asked the same)."""
        request = LLMRequest(messages=as_chat(messages), model=self.model,
                             max_tokens=self.max_tokens, temperature=0.0, seed=0, cache=False,
                             agent="redteam", action="redteam.attack")
        if self.answers is not None:
            response = await self.answers.complete(self.gateway, request)
        else:
            response = await self.gateway.complete(request)
        return Reply(response.text, parse_actions(response.text))


@register_target("model", needs=("gateway",))
def _model(rest: str, services: dict[str, Any]) -> Target:
    gateway = services.get("gateway")
    if gateway is None:
        raise ConfigError("a model target needs the model gateway; run it through "
                          "`aios redteam`, which opens the manifest's gateway")
    return ModelTarget(gateway, rest or None, max_tokens=int(services.get("max_tokens", 96)),
                       answers=services.get("answers"))


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
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return bytes(response.read())

        try:
            return await asyncio.to_thread(send)
        except (urllib.error.URLError, OSError) as exc:
            raise ProviderError(f"red-team target {url} failed: {exc}; is the server running?",
                                provider="http") from exc

    def reset(self) -> None:
        """Nothing to forget: the endpoint gets the whole conversation each time."""

    async def reply(self, messages: Sequence[Message]) -> Reply:
        """POST the conversation; read `choices[0].message.content`."""
        body = json.dumps({"model": self.model, "temperature": 0, "max_tokens": 256,
                           "messages": [{"role": m.role, "content": m.content}
                                        for m in as_chat(messages)]}).encode()
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
