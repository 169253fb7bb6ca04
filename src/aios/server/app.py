"""`create_app(settings)`: the FastAPI application, its services and its routers.

Each router lives in its own module exposing `router`; `ROUTER_MODULES` lists them and
`create_app` mounts each. Adding a page or an API is adding a module to that list.

The lifespan opens one runtime for the process (`open_runtime`, the full pipeline), a
`RunWorker` that runs what the API starts and resumes runs whose approvals arrive, an
`EventHub` that streams run and approval events to dashboards, and a `StoreWatcher` that adds
to that stream what other processes do in the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from aios.app import load_manifest, open_runtime
from aios.approvals.workflow import ApprovalService
from aios.auth.tokens import TokenStore
from aios.auth.users import UserStore
from aios.errors import (
    AiosError,
    ApprovalDenied,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    StoreError,
    UsageError,
)
from aios.manifest.schema import Manifest
from aios.runtime.engine import Runtime
from aios.runtime.executors import build_executor
from aios.server.cookies import CookiePolicy
from aios.server.docs import mount_docs
from aios.server.headers import SecurityHeaders
from aios.server.hub import EventHub
from aios.server.jsonsafe import json_safe
from aios.server.strictjson import StrictJSONBodies
from aios.server.watch import StoreWatcher
from aios.server.worker import SERVER_REQUESTER, RunWorker
from aios.settings import Settings
from aios.store.engine import Store

__all__ = ["ROUTER_MODULES", "STATUS_CODES", "Services", "create_app"]

log = logging.getLogger("aios.server")

#: Modules with a FastAPI `router`, mounted in this order. A request is matched against the
#: routes in order, so the OpenAI-compatible endpoint (the one path applications call at a
#: high rate, and whose `/v1` prefix no other router uses) comes first.
ROUTER_MODULES: tuple[str, ...] = (
    "aios.server.openai_api",
    "aios.server.openai_embeddings",
    "aios.server.approvals_api",
    "aios.server.slack_api",
    "aios.server.users_api",
    "aios.server.audit_api",
    "aios.server.health",
    "aios.server.runs_api",
    "aios.server.agents_api",
    "aios.server.traces_api",
    "aios.server.metrics_api",
    "aios.server.evals_api",
    "aios.server.redteam_api",
    "aios.server.discovery_api",
    "aios.server.events",
    "aios.server.pages.auth",
    "aios.server.pages.runs",
    "aios.server.pages.approvals",
    "aios.server.pages.insights",
    "aios.server.pages.users",
    "aios.server.pages.keys",
)

#: HTTP status of each error class; the most specific class in an error's MRO wins.
STATUS_CODES: dict[type[AiosError], int] = {
    AiosError: 500,
    UsageError: 400,
    NotFoundError: 404,
    ConflictError: 409,
    AuthenticationError: 401,
    PermissionDenied: 403,
    ApprovalDenied: 403,
    StoreError: 503,
}


@dataclass(frozen=True)
class Services:
    """What request handlers use, built once per app (on `app.state.services`)."""

    settings: Settings
    store: Store
    approvals: ApprovalService
    users: UserStore
    tokens: TokenStore
    runtime: Runtime
    worker: RunWorker
    hub: EventHub = field(default_factory=EventHub)
    cookies: CookiePolicy = field(default_factory=CookiePolicy)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def manifest(self) -> Manifest:
        """The manifest the server's runtime runs."""
        return self.runtime.manifest


def _status_of(exc: AiosError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]  # type: ignore[index]
    return 500


async def _aios_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AiosError)
    status = _status_of(exc)
    if getattr(request.state, "page", False):  # a dashboard page: answer with a page
        from aios.server.pages.render import error_page

        return error_page(request, exc, status)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status,
                        headers=headers)


def _printable(value: Any) -> Any:
    """`value` with strings UTF-8 cannot encode (lone surrogates) escaped."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value


async def _validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's 422, made serialisable whatever the input held (NaN, surrogates)."""
    assert isinstance(exc, RequestValidationError)
    errors = _printable(json_safe(jsonable_encoder(exc.errors())))
    return JSONResponse({"detail": errors}, status_code=422)


async def _expire_loop(approvals: ApprovalService, interval: float) -> None:
    """Apply approval deadlines every `interval` seconds, so none passes unrecorded."""
    while True:
        try:
            await approvals.expire_due()
        except AiosError:
            log.exception("applying approval deadlines failed; retrying")
        await asyncio.sleep(interval)


def _manifest(settings: Settings, manifest: Manifest | Path | str | None,
              handlers: Iterable[Callable[..., Any]]) -> tuple[Manifest, str | None]:
    if isinstance(manifest, Manifest):
        return manifest, None
    path = manifest if manifest is not None else settings.manifest
    return load_manifest(path, handlers=handlers), str(Path(path).resolve()) if path else None


def create_app(settings: Settings, *, store: Store | None = None,
               expiry_interval: float = 30.0,
               routers: Sequence[str] = ROUTER_MODULES,
               manifest: Manifest | Path | str | None = None,
               handlers: Iterable[Callable[..., Any]] = (),
               env: Mapping[str, str] | None = None,
               executor: str | None = None,
               resume_interval: float = 1.0,
               watch_interval: float = 1.0,
               session_hours: float = 12.0,
               on_started: Callable[[], Any] | None = None) -> FastAPI:
    """The Ai:oS HTTP application.

    Args:
        settings: where the store is (`AIOS_DATABASE_URL` or `AIOS_HOME`), forensic mode,
            the executor, cookie security.
        store: an open store to use instead of opening one (it is then not closed here).
        expiry_interval: seconds between applications of approval deadlines; 0 disables.
        routers: router modules to mount (default `ROUTER_MODULES`).
        manifest: the manifest runs execute (a file, or a loaded one); default
            `settings.manifest`, else the packaged one.
        handlers: extra `@handler` functions the manifest may name.
        env: overrides of the manifest's `env` for every run.
        executor: `local` or `ray`; default `settings.executor`.
        resume_interval: seconds between looks for waiting runs whose approvals arrived;
            0 disables the loop (decisions made through this server still resume at once).
        watch_interval: seconds between looks at the store for runs, steps and approval
            changes made by other processes, streamed as live events; 0 disables it.
        session_hours: lifetime of a dashboard log-in.
        on_started: called once start-up is done (store, runtime, detectors and models
            loaded), before the first request: `aios serve` freezes what start-up made for the
            garbage collector there (`aios.gc_tuning.tune_gc`).

    Raises:
        ManifestError: the manifest is not valid (raised here, before the server starts).
    """
    handlers = tuple(handlers)
    loaded, manifest_path = _manifest(settings, manifest, handlers)
    cookies = CookiePolicy(secure=settings.cookie_secure, max_age=int(session_hours * 3600))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = store or await Store.open(settings.store_url())
        approvals = ApprovalService(opened)
        hub = EventHub()
        watcher = StoreWatcher(opened, hub, interval_s=watch_interval)
        approvals.listeners += [hub.approval_listener, watcher.approval_listener]
        from aios.approvals.channels.notifier import attach_channels  # only with channels

        notifier = attach_channels(approvals, loaded.approvals)
        executor_name = executor or settings.executor
        tasks: list[asyncio.Task[None]] = []
        try:
            async with open_runtime(loaded, settings=settings, requester=SERVER_REQUESTER,
                                    listeners=[hub.runtime_listener], handlers=handlers,
                                    env=env,
                                    manifest_path=manifest_path,
                                    executor=executor_name,
                                    approval_listeners=[hub.approval_listener,
                                                        watcher.approval_listener]
                                    ) as runtime:
                worker = RunWorker(runtime, approvals,
                                   executor=build_executor(executor_name, settings),
                                   poll_interval=resume_interval)
                approvals.listeners.append(worker.on_approval)
                tokens = TokenStore(opened, cache_s=settings.key_cache_seconds)
                # One UserStore for both: a user changed here drops their cached keys.
                app.state.services = Services(settings, opened, approvals, tokens.users,
                                              tokens, runtime, worker, hub, cookies)
                if expiry_interval > 0:
                    tasks.append(asyncio.create_task(_expire_loop(approvals, expiry_interval)))
                if watch_interval > 0:
                    await watcher.prime()
                    tasks.append(asyncio.create_task(watcher.run()))
                worker.start_loop()
                if on_started is not None:
                    on_started()
                try:
                    yield
                finally:
                    hub.close()
                    for task in tasks:
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
                    await worker.stop()
                    if notifier is not None:
                        await notifier.aclose()
        finally:
            if store is None:
                await opened.close()

    from aios import __version__

    app = FastAPI(title="Ai:oS", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # /docs from packaged assets (server.docs)
                  description="Control plane for AI agents that take real actions. Send "
                              "`Authorization: Bearer TOKEN` (`aios users token NAME`, or "
                              "POST /api/auth/token with a password).")
    app.add_exception_handler(AiosError, _aios_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(StrictJSONBodies)
    app.add_middleware(SecurityHeaders)
    mount_docs(app, title="Ai:oS")
    app.mount("/static", StaticFiles(packages=[("aios.server", "static")]), name="static")
    for name in routers:
        app.include_router(importlib.import_module(name).router)
    return app
