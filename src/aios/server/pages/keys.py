"""The API keys page: each key of the OpenAI-compatible endpoint with its calls and spend.

Admins see every key; anyone else signed in sees their own. The figures are the cost
ledger's (`aios.auth.keyspend`), as `aios keys list` shows them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from aios.auth.keyspend import key_usage
from aios.auth.users import Role
from aios.server.auth import ServicesDep
from aios.server.pages.render import render
from aios.server.sessions import Session, page_session

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

ViewerPage = Annotated[Session, Depends(page_session(Role.viewer))]


@router.get("/keys")
async def keys_page(request: Request, services: ServicesDep, session: ViewerPage) -> Response:
    """API keys (never their secrets): state, limits, budget, calls and spend."""
    admin = session.user.role.allows(Role.admin)
    found = await key_usage(services.store, user=None if admin else session.user.name,
                            ledger=services.runtime.llm.ledger)
    rows = [usage.json(datetime.now(UTC)) for usage in found]
    return render(request, "keys.html", session, title="API keys", keys=rows, admin=admin,
                  total_usd=sum(r["spent_usd"] for r in rows),
                  total_calls=sum(r["calls"] for r in rows))
