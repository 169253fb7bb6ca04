"""REST API of the audit trail: verify the hash chain, export it as JSON Lines."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from aios.server.auth import ServicesDep, Viewer

__all__ = ["VerifyOut", "router"]

router = APIRouter(prefix="/api/audit", tags=["audit"])


class VerifyOut(BaseModel):
    """The result of recomputing the chain."""

    ok: bool
    records: int
    broken_seq: int | None
    problem: str | None
    message: str


@router.get("/verify", response_model=VerifyOut, summary="Verify the hash chain")
async def verify(services: ServicesDep, _user: Viewer) -> VerifyOut:
    """Recompute every link; the first broken one is named."""
    report = await services.approvals.audit.verify()
    return VerifyOut(ok=report.ok, records=report.records, broken_seq=report.broken_seq,
                     problem=report.problem, message=str(report))


@router.get("/export", summary="Export as JSON Lines", response_class=StreamingResponse)
async def export(services: ServicesDep, _user: Viewer) -> StreamingResponse:
    """Every record, one JSON object per line, in sequence order."""

    async def lines() -> AsyncIterator[str]:
        import json

        async for record in services.approvals.audit.records():
            yield json.dumps(record.to_json(), sort_keys=True, ensure_ascii=False) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")
