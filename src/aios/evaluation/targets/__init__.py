"""Targets: what a suite evaluates. A registry of kinds, each built from the suite's `target:`.

Kinds: `callable` (a Python function, sync or async), `model` (a model through the gateway),
`http` (an OpenAI-compatible endpoint through the `openai` SDK), and `action` (a manifest action
or sequence run by the runtime; the trajectory is the step sequence the store recorded).
Add one with `@register_target("kind")` on a `Target` subclass.
"""

from aios.evaluation.targets import action, http, local
from aios.evaluation.targets.action import ActionParams, ActionTarget
from aios.evaluation.targets.base import (
    TARGETS,
    Target,
    TargetContext,
    TargetOutput,
    TargetParams,
    build_target,
    register_target,
    request_for,
    target_param_errors,
)
from aios.evaluation.targets.http import HttpParams, HttpTarget
from aios.evaluation.targets.local import CallableParams, CallableTarget, ModelParams, ModelTarget

__all__ = [
    "TARGETS",
    "ActionParams",
    "ActionTarget",
    "CallableParams",
    "CallableTarget",
    "HttpParams",
    "HttpTarget",
    "ModelParams",
    "ModelTarget",
    "Target",
    "TargetContext",
    "TargetOutput",
    "TargetParams",
    "action",
    "build_target",
    "http",
    "local",
    "register_target",
    "request_for",
    "target_param_errors",
]
