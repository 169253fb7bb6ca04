"""The target interface, its output record, the registry target kinds join, and the gateway
request built from a sample."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from aios.errors import ConfigError
from aios.evaluation.datasets import Sample
from aios.llm.types import LLMRequest, LLMResponse, Message
from aios.registry import Registry
from aios.settings import Settings

__all__ = ["TARGETS", "Target", "TargetContext", "TargetOutput", "TargetParams",
           "build_target", "register_target", "request_for", "target_param_errors"]


@dataclass(frozen=True)
class TargetOutput:
    """What a target produced for one sample.

    Attributes:
        output: the answer (text, or any JSON-ready value).
        trajectory: the actions taken, in order, when the target is an agent.
        error: set when the target ran but failed (a failed run still has a trajectory).
        input_tokens, output_tokens, cost_usd: usage, when the target reports it.
        model: the model that answered, if any.
        metadata: anything else worth keeping (run id, finish reason, ...).
    """

    output: Any
    trajectory: tuple[str, ...] | None = None
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_response(cls, response: LLMResponse) -> TargetOutput:
        """The output of a gateway response, with its usage and cost."""
        return cls(output=response.text, input_tokens=response.usage.input_tokens,
                   output_tokens=response.usage.output_tokens, cost_usd=response.cost_usd,
                   model=response.model,
                   metadata={"finish_reason": response.finish_reason,
                             "cached": response.cached})


@dataclass(frozen=True)
class TargetContext:
    """What targets may use: settings, the model gateway, the suite's directory."""

    settings: Settings | None = None
    gateway: Any = None
    base_dir: Path = field(default_factory=Path.cwd)


class TargetParams(BaseModel):
    """Base of target parameter models: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


P = TypeVar("P", bound=BaseModel)


class Target(Generic[P]):
    """Base of every target kind: an async context manager that answers samples."""

    kind: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = TargetParams

    def __init__(self, params: P, ctx: TargetContext):
        self.params = params
        self.ctx = ctx

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        return None

    async def __call__(self, sample: Sample) -> TargetOutput:
        """Answer one sample; raising records an error for that sample only."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short label for reports (`model:local`, `callable:pkg.mod:fn`)."""
        return self.kind


TARGETS: Registry[type[Target[Any]]] = Registry("target type", name_attr="kind")


def register_target(kind: str) -> Callable[[type[Target[Any]]], type[Target[Any]]]:
    """Register a target class under `kind` (the suite's `target.type`)."""

    return TARGETS.register(kind)


def _split(spec: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    params = {k: v for k, v in spec.items() if k != "type"}
    return str(spec.get("type", "")), params


def target_param_errors(spec: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems with a `target:` mapping, as (location, message) pairs (empty when valid)."""
    kind, params = _split(spec)
    if kind not in TARGETS:
        return [(("type",), TARGETS.unknown(kind))]
    try:
        TARGETS[kind].Params.model_validate(params)
    except ValidationError as exc:
        return [(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
    return []


def build_target(spec: Mapping[str, Any], ctx: TargetContext) -> Target[Any]:
    """The target a suite's `target:` mapping describes.

    Raises:
        ConfigError: unknown kind or bad parameters (the message lists what is known).
    """
    problems = target_param_errors(spec)
    if problems:
        text = "; ".join(f"target.{'.'.join(str(p) for p in loc)}: {msg}"
                         for loc, msg in problems)
        raise ConfigError(f"invalid target: {text}")
    kind, params = _split(spec)
    cls = TARGETS[kind]
    return cls(cls.Params.model_validate(params), ctx)


def request_for(sample: Sample, *, system: str | None = None, **kwargs: Any) -> LLMRequest:
    """The gateway request for a sample: its conversation, or its prompt as a user message."""
    messages: list[Message] = [Message("system", system)] if system else []
    if isinstance(sample.input, tuple):
        messages.extend(sample.input)
    else:
        messages.append(Message("user", sample.input_text))
    return LLMRequest(messages=tuple(messages), **kwargs)
