"""The composition root: builds a runtime from settings, a manifest and a store.

Everything Ai:oS wires together is wired here, once, so the CLI, the server and library users
get the same runtime and nothing reaches for a global.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aios.manifest.loader import load_manifest as _load_manifest
from aios.manifest.schema import Manifest
from aios.runtime.engine import Runtime
from aios.runtime.events import Listener
from aios.runtime.handlers import HandlerRegistry
from aios.settings import Settings
from aios.store.engine import Store
from aios.store.runs import RunStore

__all__ = ["load_manifest", "open_runtime", "open_store"]


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
async def open_runtime(manifest: Manifest, *, settings: Settings | None = None,
                       forensic: bool | None = None, assume_yes: bool = False,
                       env: Mapping[str, str] | None = None,
                       listeners: Iterable[Listener] = (),
                       handlers: Iterable[Callable[..., Any]] = (),
                       manifest_path: str | None = None,
                       llm: Any = None) -> AsyncIterator[Runtime]:
    """A ready runtime on the store that `settings` names; everything is flushed on exit."""
    settings = settings or Settings()
    async with open_store(settings) as store:
        runs = RunStore(store)
        runtime = Runtime(
            manifest, runs, registry=HandlerRegistry.builtin(handlers),
            forensic=settings.forensic if forensic is None else forensic,
            assume_yes=assume_yes, env=env, llm=llm, listeners=listeners,
            max_concurrency=settings.max_concurrency, manifest_path=manifest_path)
        try:
            yield runtime
        finally:
            await runs.writer.close()
