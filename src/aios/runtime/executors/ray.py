"""The Ray executor: each action runs as a Ray task on a worker process of a Ray cluster.

The driver (the process running `Runtime`: the CLI, the server, `aios runs resume`) keeps
everything durable: the run record, step events, approvals, traces and the audit trail go
to the store, and the pipeline's layers (forensic mode, approvals, the idempotency claim,
timeouts, retries) all run on the driver. Only the handler runs on a worker.

What crosses to the worker is a `WorkItem`: the handler's reference (resolved on the
worker by `HandlerRegistry.builtin()`, never a pickled closure), the arguments, env, run,
step and action, the forensic flag and the action's manifest entry. The reply carries the
result or the exception and the metadata the handler published, which the driver records
exactly as if the handler had run locally.

Retries: a read-only action whose worker dies is retried by Ray (`read_only_retries`). A
mutating action never is (`max_retries=0`): the driver committed its idempotency claim
before submitting the task, so when its worker dies the outcome is unknown, the step fails
with `WorkerLost`, and any later attempt (a retry layer, `Runtime.resume`) finds the claim
and refuses to run it again.

Actions that call `ctx.llm` run on the driver (`driver_actions` globs): the model gateway,
with its budgets, cost ledger and cache, is one object in the driver process.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import threading
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any

from aios.errors import ActionError, ConfigError, HandlerError, WorkerLost
from aios.runtime.executors.registry import register_executor
from aios.runtime.executors.work import (
    WorkReply,
    execute_work_item,
    handler_reference,
    work_item,
)
from aios.runtime.handlers import HandlerRegistry
from aios.runtime.pipeline import StepCall, invoke_handler
from aios.settings import Settings

__all__ = ["RayExecutor"]

log = logging.getLogger("aios.runtime.ray")

#: Ray failures that mean the process (or node) running the task is gone.
_LOST = ("WorkerCrashedError", "NodeDiedError", "ObjectLostError", "LocalRayletDiedError",
         "OutOfMemoryError")


class RayExecutor:
    """Runs handlers as Ray tasks and awaits them without blocking the event loop.

    Args:
        address: the cluster: None starts a local Ray instance (or joins the one
            `RAY_ADDRESS` names), `auto` joins the cluster this node belongs to,
            `host:6379` a cluster's GCS, `ray://host:10001` through Ray Client.
        num_cpus: CPUs of a local instance started here (worker processes running at once);
            ignored when joining a cluster.
        driver_actions: action globs run on the driver with `invoke_handler` instead
            (default: the default of `Settings.ray_driver_actions`, the built-in actions
            that call `ctx.llm`).
        read_only_retries: Ray retries of a read-only task whose worker died.
        task_cpus: CPUs each task reserves on its worker.

    Raises:
        ConfigError: Ray is not installed.
    """

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None,
                 driver_actions: Sequence[str] | None = None, read_only_retries: int = 3,
                 task_cpus: float = 1.0):
        if importlib.util.find_spec("ray") is None:
            raise ConfigError("the Ray executor needs Ray: pip install 'aios[ray]' "
                              "(or set AIOS_EXECUTOR=local)")
        if read_only_retries < 0:
            raise ConfigError(f"read_only_retries must be >= 0, got {read_only_retries}")
        self.address = address
        self.num_cpus = num_cpus
        self.driver_actions: tuple[str, ...] = tuple(
            Settings.model_fields["ray_driver_actions"].default if driver_actions is None
            else driver_actions)
        self.read_only_retries = read_only_retries
        self.task_cpus = task_cpus
        self._lock = threading.Lock()
        self._ray: Any = None
        self._remote: Any = None
        self._started = False
        self._builtin: frozenset[str] | None = None

    # -- connection -----------------------------------------------------------------------

    def connect(self) -> None:
        """Join (or start) the Ray cluster; blocking, idempotent.

        Raises:
            ConfigError: the cluster at `address` cannot be reached.
        """
        with self._lock:
            if self._remote is not None:
                return
            import ray

            if not ray.is_initialized():
                kwargs: dict[str, Any] = {"include_dashboard": False,
                                          "logging_level": logging.WARNING}
                if self.address is None and self.num_cpus is not None:
                    kwargs["num_cpus"] = self.num_cpus
                try:
                    ray.init(address=self.address, **kwargs)
                except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
                    where = self.address or "a new local instance"
                    raise ConfigError(
                        f"cannot start or join the Ray cluster at {where}: {exc}. Check "
                        "AIOS_RAY_ADDRESS (`ray status` on a cluster node shows the address), "
                        "or set AIOS_EXECUTOR=local") from exc
                self._started = True
            self._ray = ray
            self._remote = ray.remote(execute_work_item)

    def shutdown(self) -> None:
        """Disconnect, stopping the local Ray instance if `connect` started one."""
        with self._lock:
            if self._started and self._ray is not None:
                self._ray.shutdown()
            self._started = False
            self._remote = None

    def cluster(self) -> dict[str, Any]:
        """Live nodes and resources of the cluster (connects first)."""
        self.connect()
        nodes = [node for node in self._ray.nodes() if node.get("Alive")]
        return {"address": self.address, "nodes": len(nodes),
                "resources": self._ray.cluster_resources(),
                "available": self._ray.available_resources()}

    def describe(self) -> dict[str, Any]:
        """The executor's configuration and the cluster's live nodes (connects first)."""
        return {"executor": "ray", "driver_actions": list(self.driver_actions),
                "read_only_retries": self.read_only_retries, **self.cluster()}

    # -- execution ------------------------------------------------------------------------

    def runs_on_driver(self, action: str) -> bool:
        """True when `action` matches one of `driver_actions`."""
        return any(fnmatchcase(action, pattern) for pattern in self.driver_actions)

    async def __call__(self, call: StepCall) -> Any:
        """Run `call`'s handler on a Ray worker (or on the driver, see `driver_actions`)."""
        if self.runs_on_driver(call.action):
            return await invoke_handler(call)
        item = work_item(call, handler_reference(call, self._builtin_names()))
        if self._remote is None:
            await asyncio.to_thread(self.connect)
        mutating = call.spec.mutates
        retries = 0 if mutating else self.read_only_retries
        ref = self._remote.options(max_retries=retries, retry_exceptions=False,
                                   num_cpus=self.task_cpus, name=call.action).remote(item)
        try:
            reply: WorkReply = await ref
        except asyncio.CancelledError:
            # A read-only task is interrupted; a mutating one is left to finish rather than
            # stopped half-way (its claim already marks the outcome as unknown).
            if not mutating:
                self._ray.cancel(ref)
            raise
        except self._ray.exceptions.RayError as exc:
            raise self._translate(exc, call, retries) from exc
        for key, value in reply.published:
            call.ctx.publish_metadata(key, value)
        if reply.error is not None:
            reply.error.add_note(f"raised on Ray worker pid {reply.pid} on {reply.host}:\n"
                                 f"{reply.traceback}")
            raise reply.error
        return reply.value

    def _builtin_names(self) -> frozenset[str]:
        if self._builtin is None:
            self._builtin = frozenset(HandlerRegistry.builtin().names())
        return self._builtin

    def _translate(self, exc: Exception, call: StepCall, retries: int) -> ActionError:
        """The Ai:oS error for a Ray failure of `call`'s task."""
        kind = type(exc).__name__
        detail = (str(exc).strip().splitlines() or [""])[0]
        lost = tuple(getattr(self._ray.exceptions, name) for name in _LOST)
        if isinstance(exc, lost):
            if call.spec.mutates:
                return WorkerLost(
                    f"{call.action}: the Ray worker running it died ({kind}: {detail}). It "
                    "mutates, so it is not retried and its outcome is unknown: check the "
                    "host's state, then start a new run if it should run again",
                    action=call.action)
            return WorkerLost(
                f"{call.action}: the Ray worker running it died {retries + 1} time(s) "
                f"({kind}: {detail}); check the workers' logs and memory (`ray status`)",
                action=call.action)
        if isinstance(exc, self._ray.exceptions.RayTaskError):
            # The handler's own errors come back in the reply; this is the task around it
            # (typically the work item could not be unpickled: a module missing there).
            return HandlerError(
                f"{call.action}: its Ray task failed outside the handler ({detail}); is "
                "Ai:oS, and the module of the handler, installed on every worker?",
                action=call.action)
        return ActionError(
            f"{call.action}: Ray could not run it ({kind}: {detail}); check the cluster "
            "with `ray status` and AIOS_RAY_ADDRESS", action=call.action)


@register_executor("ray")
def _ray(settings: Settings) -> RayExecutor:
    return RayExecutor(settings.ray_address, driver_actions=settings.ray_driver_actions)
