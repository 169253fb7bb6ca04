"""One runtime per caller, sharing everything but who the caller is.

Approval requests name the identity that caused them, and that identity may not approve them
(separation of duties). Over HTTP every bearer token's user is a different caller, so each
gets a runtime whose approval gate records that user; the store, services, gateway and
handlers are shared with the runtime the gateway opened.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from aios.approvals.layer import ApprovalLayer
from aios.runtime.engine import Runtime
from aios.runtime.pipeline import Layer, Next

__all__ = ["RuntimesByCaller"]


class RuntimesByCaller:
    """`runtime_for(name)`: the base runtime's twin acting for `name` (cached).

    Args:
        base: the runtime opened by `open_runtime` (its layers, store, gateway, handlers).
        executor: the innermost stage the base runtime was built with.
        approval_wait: the in-process wait of the approval gate; the MCP server waits on
            its own (sending progress), so the gate answers at once by default.
    """

    def __init__(self, base: Runtime, executor: Next | None = None,
                 approval_wait: float = 0.0):
        self.base = base
        self.executor = executor
        self.approval_wait = approval_wait
        self._by_name: dict[str, Runtime] = {}

    def _layers(self, requester: str) -> list[Layer]:
        return [dataclasses.replace(layer, requester=requester,
                                    wait_seconds=self.approval_wait)
                if isinstance(layer, ApprovalLayer) else layer
                for layer in self.base.layers]

    def __call__(self, requester: str) -> Runtime:
        runtime = self._by_name.get(requester)
        if runtime is None:
            base = self.base
            runtime = Runtime(
                base.manifest, base.runs, registry=base.registry,
                layers=self._layers(requester), forensic=base.forensic, env=base.env,
                llm=base.llm, listeners=base.listeners, max_concurrency=base.max_concurrency,
                manifest_path=base.manifest_path, executor=self.executor, actor=requester,
                keeper=base.keeper)
            self._by_name[requester] = runtime
        return runtime

    @property
    def runtime_for(self) -> Callable[[str], Runtime]:
        """This object as a plain callable."""
        return self.__call__
