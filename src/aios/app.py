"""The composition root: builds a runtime from settings, a manifest and a store.

Everything Ai:oS wires together is wired here, once, so the CLI, the server and library users
get the same runtime and nothing reaches for a global.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aios.approvals import (
    ApprovalEvent,
    ApprovalService,
    WithdrawOnCancel,
    approval_layers,
    default_requester,
)
from aios.llm.factory import build_gateway, build_stacks
from aios.llm.gateway import Gateway
from aios.llm.types import ModelInfo
from aios.manifest.loader import load_manifest as _load_manifest
from aios.manifest.schema import Manifest
from aios.reliability import ReliabilityLayer
from aios.routing.config import build_cache, build_router
from aios.runtime.engine import Runtime
from aios.runtime.events import Listener
from aios.runtime.executors import build_executor
from aios.runtime.handlers import HandlerRegistry
from aios.runtime.kept_args import ArgumentKeeper
from aios.runtime.layers import ForensicLayer, IdempotencyLayer, TimeoutLayer
from aios.runtime.pipeline import Layer
from aios.security.guardrails import GuardrailLayer
from aios.security.sealing import ArgumentSeal
from aios.services import Services, open_services
from aios.settings import Settings
from aios.store.engine import Store
from aios.store.open import open_store
from aios.store.runs import RunStore
from aios.store.writer import BatchWriter

__all__ = ["argument_seal", "load_manifest", "open_gateway", "open_runtime", "open_store",
           "runtime_layers"]


def argument_seal(settings: Settings) -> ArgumentSeal:
    """The seal of masked arguments under `AIOS_ARGS_KEY` (`settings.args_key`); without it,
    the embedded store's key file `<home>/args.key` (aios.security.sealing says why).

    Raises:
        ConfigError: the setting holds something that is not a key.
    """
    key = settings.args_key
    key_file = None if settings.database_url else settings.home / "args.key"
    return ArgumentSeal.from_setting(key.get_secret_value() if key is not None else None,
                                     key_file=key_file)


def load_manifest(path: Path | str | None = None, *, env: Mapping[str, str] | None = None,
                  handlers: Iterable[Callable[..., Any]] = (),
                  import_handlers: bool = True) -> Manifest:
    """Load a manifest (the packaged default when `path` is None) and check its handlers.

    Args:
        path: a .yaml, .yml, .json or .toml file.
        env: overrides for the manifest's `env`.
        handlers: extra `@handler` functions the manifest may name.
        import_handlers: import the modules `module:function` handlers name (their code
            runs), as running does; False finds them without importing (validation).

    Raises:
        ManifestError: every problem found, each with file, line and field.
    """
    registry = HandlerRegistry.builtin(handlers)
    check = registry.check if import_handlers else registry.check_static
    return _load_manifest(path, env=env, check_handler=check)


@asynccontextmanager
async def open_gateway(manifest: Manifest, *, store: Store | None = None,
                       writer: BatchWriter | None = None, services: Services | None = None,
                       settings: Settings | None = None) -> AsyncIterator[Gateway]:
    """The model gateway for `manifest`: its `models:` (the packaged local model when none
    are configured) and `budgets:`, the cost ledger on `store` (queued on `writer` when
    given), API keys read from the process environment. Clients are closed on exit.

    This is the one place the gateway is composed, for the runtime and the CLI alike: with a
    store, every provider call is wrapped by guardrails, tracing and reliability (the shared
    `services`, opened here from `settings` when not given).
    """
    async with contextlib.AsyncExitStack() as stack:
        if services is None and store is not None:
            services = await stack.enter_async_context(
                open_services(settings or Settings(), manifest, store))
        # Built leaf first, so nothing reaches back: each model's per-attempt stack, then
        # the fallback chain holding those stacks, then the gateway around them.
        stacks = build_stacks(manifest.models, env=os.environ,
                              wrappers=services.attempt_wrappers(manifest) if services else ())
        table = stacks.prices

        def prices(model: ModelInfo) -> tuple[float | None, float | None]:
            # The router ranks models by the gateway's own price table (one source of cost).
            found = table.prices(model)
            return (found.input.base if found.input else None,
                    found.output.base if found.output else None)

        wrappers = services.model_wrappers(manifest, stacks) if services else []
        embeddings = services.embeddings if services else None
        router = build_router(manifest.routing, embeddings, prices=prices)
        cache = await build_cache(manifest.routing, store, embeddings) if store else None
        gateway = build_gateway(manifest.models, manifest.budgets, store=store, writer=writer,
                                env=os.environ, wrappers=wrappers, router=router, cache=cache,
                                stacks=stacks)
        try:
            yield gateway
        finally:
            await gateway.aclose()


def runtime_layers(manifest: Manifest, runs: RunStore, registry: HandlerRegistry,
                   services: Services, *, requester: str | None = None,
                   approvals: ApprovalService | None = None) -> list[Layer]:
    """The pipeline around every handler, outermost first.

    Tracing encloses everything; guardrails refuse injected input before anyone is asked
    to approve it and mask output last; forensic mode skips mutating actions before any
    approval is requested; the approval gate (the manifest's `approvals:` policy) decides
    whether an action may run and suspends the run until people decide; reliability
    retries and falls back inside those gates but outside the idempotency claim, which is
    checked before every attempt.
    """
    return [
        services.tracing.layer(),
        GuardrailLayer(services.guardrails),
        ForensicLayer(),
        *approval_layers(runs.store, manifest.approvals, requester=requester, service=approvals,
                         resolve=registry.resolve),
        ReliabilityLayer(manifest.reliability, registry.resolve, actions=manifest.action,
                         runs=runs, breakers=services.breakers,
                         listeners=[services.reliability_listener]),
        IdempotencyLayer(runs),
        TimeoutLayer(),
    ]


@asynccontextmanager
async def open_runtime(manifest: Manifest, *, settings: Settings | None = None,
                       forensic: bool | None = None, requester: str | None = None,
                       env: Mapping[str, str] | None = None,
                       listeners: Iterable[Listener] = (),
                       handlers: Iterable[Callable[..., Any]] = (),
                       manifest_path: str | None = None,
                       llm: Any = None,
                       executor: str | None = None,
                       approval_listeners: Iterable[Callable[[ApprovalEvent], Any]] = (),
                       ) -> AsyncIterator[Runtime]:
    """A ready runtime on the store that `settings` names; everything is flushed on exit.

    `requester` is who approval requests are recorded as caused by (default: the operating
    system user); a run that ends cancelled has its open approval requests withdrawn in
    that user's name. `approval_listeners` learn of every change the runtime's approval
    service makes (requests created, withdrawn, executed, ...). `llm` is the model gateway
    handed to handlers; None builds one from the manifest's `models:` and `budgets:` (the
    packaged local model when none are configured), with its cost ledger on the runtime's
    store and writer and API keys read from the process environment.
    """
    settings = settings or Settings()
    async with open_store(settings) as store, contextlib.AsyncExitStack() as stack:
        services = await stack.enter_async_context(open_services(settings, manifest, store))
        runs = RunStore(store, masker=services.masker,
                        heartbeat_s=settings.run_heartbeat_seconds)
        if llm is None:
            llm = await stack.enter_async_context(
                open_gateway(manifest, store=store, writer=runs.writer, services=services))
        if manifest.mcp_servers:  # upstream MCP tools become actions of their servers
            from aios.mcp.proxy import open_proxy
            proxy = await stack.enter_async_context(open_proxy(manifest, store))
            manifest, handlers = proxy.manifest, [*handlers, *proxy.handlers]
        registry = HandlerRegistry.builtin(handlers)
        approvals = ApprovalService(store, listeners=approval_listeners)
        from aios.approvals.channels.notifier import attach_channels  # only with channels

        notifier = attach_channels(approvals, manifest.approvals)
        withdraw = WithdrawOnCancel(approvals, actor=requester or default_requester())
        runtime = Runtime(
            manifest, runs, registry=registry,
            layers=runtime_layers(manifest, runs, registry, services, requester=requester,
                                  approvals=approvals),
            forensic=settings.forensic if forensic is None else forensic,
            env=env, llm=llm, listeners=[services.tracing.listener(), withdraw, *listeners],
            max_concurrency=settings.max_concurrency, manifest_path=manifest_path,
            executor=build_executor(executor or settings.executor, settings),
            actor=requester or default_requester(), durable_step_ends=settings.durable_steps,
            keeper=ArgumentKeeper(masker=runs.masker, seal=argument_seal(settings)))
        try:
            yield runtime
        finally:
            await withdraw.aclose()  # withdrawals of cancelled runs commit before the store closes
            if notifier is not None:  # deliveries still running get a bounded grace period
                await notifier.aclose()
            await runs.writer.flush()  # step rows first, then the gateway's and the spans
            await stack.aclose()
            await runs.writer.close()
