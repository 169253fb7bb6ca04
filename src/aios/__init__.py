"""Ai:oS: a control plane for AI agents that take real actions.

The public API::

    import aios
    manifest = aios.load_manifest("agents.yaml")
    async with aios.open_runtime(manifest) as runtime:
        result = await runtime.run("boot")

The names below are imported on first use (PEP 562), so `import aios.errors` or a worker
process does not pay for the whole application (the gateway, the store, OpenTelemetry).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aios.app import load_manifest, open_runtime
    from aios.errors import AiosError
    from aios.gc_tuning import tune_gc
    from aios.manifest import Manifest
    from aios.runtime import ActionContext, HandlerRegistry, RunResult, Runtime, handler
    from aios.settings import Settings
    from aios.store import RunStore, Store

__all__ = [
    "ActionContext",
    "AiosError",
    "HandlerRegistry",
    "Manifest",
    "RunResult",
    "RunStore",
    "Runtime",
    "Settings",
    "Store",
    "__version__",
    "handler",
    "load_manifest",
    "open_runtime",
    "tune_gc",
]

__version__ = "0.1.0"

#: Where each public name lives.
_HOMES = {
    "load_manifest": "aios.app", "open_runtime": "aios.app", "AiosError": "aios.errors",
    "tune_gc": "aios.gc_tuning", "Manifest": "aios.manifest",
    "ActionContext": "aios.runtime", "HandlerRegistry": "aios.runtime",
    "RunResult": "aios.runtime", "Runtime": "aios.runtime", "handler": "aios.runtime",
    "Settings": "aios.settings", "RunStore": "aios.store", "Store": "aios.store",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'aios' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
