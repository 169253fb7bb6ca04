"""Security: detectors (injection, PII, secrets), runtime guardrails, and the red-team suite.

The policy models load eagerly (the manifest schema imports them); everything else loads on
first use, because the guardrail layer imports the runtime, which imports the manifest schema.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from aios.security.decisions import GuardrailDecision
from aios.security.policy import (
    AgentGuardrails,
    Check,
    DataAction,
    EffectivePolicy,
    GuardrailPolicy,
    InjectionAction,
    Stage,
)

if TYPE_CHECKING:
    from aios.security.detectors import (
        Finding,
        detector_names,
        get_detector,
        register_detector,
        scan,
    )
    from aios.security.guardrails import GuardrailLayer, Guardrails
    from aios.security.masking import Masker
    from aios.security.streaming import GuardrailProvider, guardrail_wrapper

__all__ = [
    "AgentGuardrails",
    "Check",
    "DataAction",
    "EffectivePolicy",
    "Finding",
    "GuardrailDecision",
    "GuardrailLayer",
    "GuardrailPolicy",
    "GuardrailProvider",
    "Guardrails",
    "InjectionAction",
    "Masker",
    "Stage",
    "detector_names",
    "get_detector",
    "guardrail_wrapper",
    "register_detector",
    "scan",
]

_LAZY = {
    "Finding": "aios.security.detectors",
    "detector_names": "aios.security.detectors",
    "get_detector": "aios.security.detectors",
    "scan": "aios.security.detectors",
    "register_detector": "aios.security.detectors",
    "GuardrailLayer": "aios.security.guardrails",
    "Guardrails": "aios.security.guardrails",
    "Masker": "aios.security.masking",
    "GuardrailProvider": "aios.security.streaming",
    "guardrail_wrapper": "aios.security.streaming",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aios.security' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
