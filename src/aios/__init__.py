"""Ai:oS: a control plane for AI agents that take real actions.

The public API::

    import aios
    manifest = aios.load_manifest("agents.yaml")
    async with aios.open_runtime(manifest) as runtime:
        result = await runtime.run("boot")
"""

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
