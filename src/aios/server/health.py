"""`/healthz`: liveness and readiness in one cheap check (the Dockerfile's HEALTHCHECK).

It needs no credentials and reveals nothing a scraper could misuse: the version, whether the
store answers, and how many runs this process executes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from aios.server.auth import ServicesDep

__all__ = ["HealthOut", "router"]

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    """Whether this server can serve."""

    status: str = Field(description="ok, or unavailable when the store does not answer.")
    version: str
    store: str = Field(description="ok, or the reason the store did not answer.")
    active_runs: int = Field(description="Runs executing in this process now.")
    uptime_s: float


@router.get("/healthz", response_model=HealthOut, summary="Health check",
            responses={503: {"model": HealthOut, "description": "The store does not answer."}})
async def healthz(services: ServicesDep) -> JSONResponse:
    """200 when the store answers a trivial query, 503 otherwise."""
    from aios import __version__

    try:
        async with services.store.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        store, status, code = "ok", "ok", 200
    except SQLAlchemyError as exc:
        store, status, code = type(exc).__name__, "unavailable", 503
    body = HealthOut(status=status, version=__version__, store=store,
                     active_runs=len(services.worker.active()),
                     uptime_s=round((datetime.now(UTC) - services.started_at).total_seconds(),
                                    3))
    return JSONResponse(body.model_dump(), status_code=code)
