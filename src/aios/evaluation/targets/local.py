"""Targets in this process: a Python callable, and a model through the gateway."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field

from aios.errors import ConfigError
from aios.evaluation.datasets import Sample
from aios.evaluation.targets.base import (
    Target,
    TargetContext,
    TargetOutput,
    TargetParams,
    register_target,
    request_for,
)
from aios.llm.types import LLMResponse

__all__ = ["CallableParams", "CallableTarget", "ModelParams", "ModelTarget"]



class CallableParams(TargetParams):
    """`target: {type: callable, ref: pkg.module:function}` (or `file.py:function`)."""

    ref: str = Field(description="`module:function`, or `path/to/file.py:function` relative "
                                 "to the suite file.")
    pass_sample: bool = Field(False, description="Give the function the whole Sample instead "
                                                 "of its input.")
    thread: bool = Field(True, description="Run a sync function in a worker thread (off for "
                                           "functions that never block).")


def _load_callable(ref: str, base_dir: Path) -> Callable[..., Any]:
    module_name, sep, attr = ref.rpartition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"target ref {ref!r} is not `module:function` (or `file.py:function`)")
    try:
        if module_name.endswith(".py"):
            path = (base_dir / module_name).resolve()
            name = f"aios_eval_target_{abs(hash(str(path)))}"
            module = sys.modules.get(name)
            if module is None:
                spec = importlib.util.spec_from_file_location(name, path)
                if spec is None or spec.loader is None or not path.exists():
                    raise ConfigError(f"target file {path} does not exist; paths are "
                                      "relative to the suite file")
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import target module {module_name!r}: {exc}; check the "
                          "ref and that the module is on PYTHONPATH") from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ConfigError(f"{module_name!r} has no function {attr!r} (target ref {ref!r})")
    return fn  # type: ignore[no-any-return]


def _as_output(value: Any) -> TargetOutput:
    if isinstance(value, TargetOutput):
        return value
    if isinstance(value, LLMResponse):
        return TargetOutput.from_response(value)
    return TargetOutput(output=value)


@register_target("callable")
class CallableTarget(Target[CallableParams]):
    """A Python function: gets the sample's input (or the Sample) and returns the output."""

    Params = CallableParams

    def __init__(self, params: CallableParams, ctx: TargetContext):
        super().__init__(params, ctx)
        self.fn = _load_callable(params.ref, ctx.base_dir)
        self._async = inspect.iscoroutinefunction(self.fn)
        self._pass_sample = params.pass_sample
        self._thread = params.thread

    async def __call__(self, sample: Sample) -> TargetOutput:
        arg: Any = sample if self._pass_sample else sample.input_json()
        if self._async:
            return _as_output(await self.fn(arg))
        if self._thread:
            return _as_output(await asyncio.to_thread(self.fn, arg))
        return _as_output(self.fn(arg))

    def describe(self) -> str:
        return f"callable:{self.params.ref}"



class ModelParams(TargetParams):
    """`target: {type: model, model: local, system: ..., max_tokens: 64}`."""

    model: str | None = Field(None, description="A model name from the manifest's `models:`; "
                                                "None lets the router choose.")
    tier: str | None = Field(None, description="Ask the router for a tier instead of a model.")
    system: str | None = Field(None, description="System prompt put before each input.")
    max_tokens: int | None = Field(256, ge=1, description="Cap on output tokens.")
    temperature: float | None = Field(0.0, ge=0, description="Sampling temperature.")
    seed: int | None = Field(None, description="Sampling seed, when the provider takes one.")
    cache: bool = Field(False, description="Let the response cache answer (off: every sample "
                                           "reaches the model).")


@register_target("model")
class ModelTarget(Target[ModelParams]):
    """A model through the gateway: the sample's prompt or conversation is the request."""

    Params = ModelParams

    async def __call__(self, sample: Sample) -> TargetOutput:
        p = self.params
        if self.ctx.gateway is None:
            raise ConfigError("the `model` target needs the model gateway; run the suite "
                              "through `aios eval run` or pass gateway= to the Harness")
        request = request_for(sample, system=p.system, model=p.model, tier=p.tier,
                              max_tokens=p.max_tokens, temperature=p.temperature, seed=p.seed,
                              cache=p.cache, agent="eval")
        return TargetOutput.from_response(await self.ctx.gateway.complete(request))

    def describe(self) -> str:
        return f"model:{self.params.model or self.params.tier or 'router'}"
