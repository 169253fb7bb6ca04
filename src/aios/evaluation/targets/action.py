"""A manifest action or sequence as the target, run by the runtime once per sample.

The trajectory is the step sequence the store recorded for the run (`step_events`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import AsyncExitStack, suppress
from types import TracebackType
from typing import Any, Self

from pydantic import Field, model_validator
from sqlalchemy import select

from aios.evaluation.datasets import Sample
from aios.evaluation.targets.base import (
    Target,
    TargetContext,
    TargetOutput,
    TargetParams,
    register_target,
)
from aios.settings import Settings

__all__ = ["ActionParams", "ActionTarget"]



class ActionParams(TargetParams):
    """`target: {type: action, action: kernel.resources}` or `{type: action, sequence: boot}`."""

    action: str | None = Field(None, description="Run this action (`agent.key`) per sample.")
    sequence: str | None = Field(None, description="Run this sequence per sample.")
    manifest: str | None = Field(None, description="Manifest file, relative to the suite "
                                                   "(default: the packaged manifest).")
    args: dict[str, Any] = Field(default_factory=dict, description="Arguments for the action; "
                                 "a sample input that is an object is merged on top.")
    arg: str | None = Field(None, description="Pass a text input as this argument.")
    forensic: bool | None = Field(None, description="Read-only mode (default: the settings).")

    @model_validator(mode="after")
    def _one_of(self) -> ActionParams:
        if (self.action is None) == (self.sequence is None):
            raise ValueError("give exactly one of `action` or `sequence`")
        return self


@register_target("action")
class ActionTarget(Target[ActionParams]):
    """A manifest action or sequence, run by the runtime once per sample.

    The whole pipeline applies, approvals included: a gated action leaves its sample
    `waiting` (recorded as an error) until people decide, as it would in production.
    """

    Params = ActionParams

    def __init__(self, params: ActionParams, ctx: TargetContext):
        super().__init__(params, ctx)
        self._stack = AsyncExitStack()
        self._runtime: Any = None

    async def __aenter__(self) -> Self:
        from aios.app import load_manifest, open_runtime  # the composition root, lazily

        p = self.params
        path = str(self.ctx.base_dir / p.manifest) if p.manifest else None
        manifest = load_manifest(path)
        self._runtime = await self._stack.enter_async_context(open_runtime(
            manifest, settings=self.ctx.settings or Settings(), forensic=p.forensic,
            requester="aios-eval", llm=self.ctx.gateway, manifest_path=path))
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._stack.aclose()

    def _args(self, sample: Sample) -> dict[str, Any]:
        p = self.params
        value = sample.input_json()
        if isinstance(value, str) and value.lstrip().startswith("{"):
            with suppress(json.JSONDecodeError):
                value = json.loads(value)
        if isinstance(value, Mapping):
            return {**p.args, **value}
        if p.arg:
            return {**p.args, p.arg: value}
        return dict(p.args)

    async def _trajectory(self, run_id: str) -> tuple[str, ...]:
        from aios.store.tables import step_events

        # Every step that started leaves a `running` event; their order is the trajectory.
        query = (select(step_events.c.action).where(step_events.c.run_id == run_id,
                                                    step_events.c.status == "running")
                 .order_by(step_events.c.id))
        await self._runtime.runs.writer.flush()
        async with self._runtime.runs.store.engine.connect() as conn:
            return tuple(str(a) for a in (await conn.execute(query)).scalars())

    async def __call__(self, sample: Sample) -> TargetOutput:
        p = self.params
        if p.action:
            result = await self._runtime.execute(p.action, self._args(sample))
            step = next(iter(result.steps.values()), None)
            output: Any = step.result if step else None
        else:
            assert p.sequence is not None
            result = await self._runtime.run(p.sequence)
            output = {sid: s.result for sid, s in result.steps.items()}
        error = None
        if not result.ok:
            failed = [f"{s.step_id}: {s.error}" for s in result.steps.values()
                      if s.status not in ("succeeded",) and s.error]
            error = f"run {result.run_id} {result.status}: " + (
                result.error or "; ".join(failed) or "no detail")
        return TargetOutput(output=output, trajectory=await self._trajectory(result.run_id),
                            error=error, metadata={"run_id": result.run_id,
                                                   "status": result.status})

    def describe(self) -> str:
        return f"action:{self.params.action or self.params.sequence}"
