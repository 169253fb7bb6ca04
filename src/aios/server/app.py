"""`create_app(settings)`: the FastAPI application, its services and its routers.

Each router lives in its own module exposing `router`; `ROUTER_MODULES` lists them and
`create_app` mounts each. Adding a page or an API is adding a module to that list.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

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
from aios.settings import Settings
from aios.store.engine import Store

__all__ = ["ROUTER_MODULES", "STATUS_CODES", "Services", "create_app"]

log = logging.getLogger("aios.server")

#: Modules with a FastAPI `router`, mounted in this order.
ROUTER_MODULES: tuple[str, ...] = (
    "aios.server.approvals_api",
    "aios.server.users_api",
    "aios.server.audit_api",
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


def _status_of(exc: AiosError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]  # type: ignore[index]
    return 500


async def _aios_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AiosError)
    status = _status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status,
                        headers=headers)


async def _expire_loop(approvals: ApprovalService, interval: float) -> None:
    """Apply approval deadlines every `interval` seconds, so none passes unrecorded."""
    while True:
        try:
            await approvals.expire_due()
        except AiosError:
            log.exception("applying approval deadlines failed; retrying")
        await asyncio.sleep(interval)


def create_app(settings: Settings, *, store: Store | None = None,
               expiry_interval: float = 30.0,
               routers: Sequence[str] = ROUTER_MODULES) -> FastAPI:
    """The Ai:oS HTTP application.

    Args:
        settings: where the store is (`AIOS_DATABASE_URL` or `AIOS_HOME`).
        store: an open store to use instead of opening one (it is then not closed here).
        expiry_interval: seconds between applications of approval deadlines; 0 disables.
        routers: router modules to mount (default `ROUTER_MODULES`).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = store or await Store.open(settings.store_url())
        approvals = ApprovalService(opened)
        app.state.services = Services(settings, opened, approvals, UserStore(opened),
                                      TokenStore(opened))
        loop_task = (asyncio.create_task(_expire_loop(approvals, expiry_interval))
                     if expiry_interval > 0 else None)
        try:
            yield
        finally:
            if loop_task is not None:
                loop_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop_task
            if store is None:
                await opened.close()

    from aios import __version__

    app = FastAPI(title="Ai:oS", version=__version__, lifespan=lifespan,
                  description="Control plane for AI agents that take real actions.")
    app.add_exception_handler(AiosError, _aios_error)
    for name in routers:
        app.include_router(importlib.import_module(name).router)
    return app
