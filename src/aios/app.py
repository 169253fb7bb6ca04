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

from aios.llm.factory import build_gateway
from aios.llm.gateway import Gateway
from aios.manifest.loader import load_manifest as _load_manifest
from aios.manifest.schema import Manifest
from aios.runtime.engine import Runtime
from aios.runtime.events import Listener
from aios.runtime.handlers import HandlerRegistry
from aios.settings import Settings
from aios.store.engine import Store
from aios.store.runs import RunStore
from aios.store.writer import BatchWriter

__all__ = ["load_manifest", "open_gateway", "open_runtime", "open_store"]


def load_manifest(path: Path | str | None = None, *, env: Mapping[str, str] | None = None,
                  handlers: Iterable[Callable[..., Any]] = ()) -> Manifest:
    """Load a manifest (the packaged default when `path` is None) and check its handlers.

    Args:
        path: a .yaml, .yml, .json or .toml file.
        env: overrides for the manifest's `env`.
        handlers: extra `@handler` functions the manifest may name.

    Raises:
        ManifestError: every problem found, each with file, line and field.
    """
    registry = HandlerRegistry.builtin(handlers)
    return _load_manifest(path, env=env, check_handler=registry.check)


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    """The store named by `settings`, migrated, closed on exit."""
    store = await Store.open(settings.store_url())
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def open_gateway(manifest: Manifest, *, store: Store | None = None,
                       writer: BatchWriter | None = None) -> AsyncIterator[Gateway]:
    """The model gateway for `manifest`: its `models:` (the packaged local model when none
    are configured) and `budgets:`, the cost ledger on `store` (queued on `writer` when
    given), API keys read from the process environment. Clients are closed on exit.

    This is the one place the gateway is composed (router, cache and provider wrappers are
    handed to `build_gateway` here), for the runtime and the CLI alike.
    """
    gateway = build_gateway(manifest.models, manifest.budgets, store=store, writer=writer,
                            env=os.environ)
    try:
        yield gateway
    finally:
        await gateway.aclose()


@asynccontextmanager
async def open_runtime(manifest: Manifest, *, settings: Settings | None = None,
                       forensic: bool | None = None, assume_yes: bool = False,
                       env: Mapping[str, str] | None = None,
                       listeners: Iterable[Listener] = (),
                       handlers: Iterable[Callable[..., Any]] = (),
                       manifest_path: str | None = None,
                       llm: Any = None) -> AsyncIterator[Runtime]:
    """A ready runtime on the store that `settings` names; everything is flushed on exit.

    `llm` is the model gateway handed to handlers; None builds one from the manifest's
    `models:` and `budgets:` (the packaged local model when none are configured), with its
    cost ledger on the runtime's store and writer and API keys read from the process
    environment.
    """
    settings = settings or Settings()
    async with open_store(settings) as store, contextlib.AsyncExitStack() as stack:
        runs = RunStore(store)
        if llm is None:
            llm = await stack.enter_async_context(
                open_gateway(manifest, store=store, writer=runs.writer))
        runtime = Runtime(
            manifest, runs, registry=HandlerRegistry.builtin(handlers),
            forensic=settings.forensic if forensic is None else forensic,
            assume_yes=assume_yes, env=env, llm=llm, listeners=listeners,
            max_concurrency=settings.max_concurrency, manifest_path=manifest_path)
        try:
            yield runtime
        finally:
            await stack.aclose()  # the gateway first: it flushes its ledger rows
            await runs.writer.close()
