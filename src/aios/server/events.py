"""`GET /api/events`: live run and approval events as server-sent events.

Each message's `event:` is its kind (`run.started`, `step.started`, `step.finished`,
`run.finished`, `agent.turn` (an agent run's conversation got an entry), `approval.created`,
`approval.decided`, `approval.approved`, ..., and `resync` when the client fell behind and
should reload), its `data:` a JSON object.
Dashboards authenticate with their session cookie, scripts with a bearer token.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Query
from sse_starlette import EventSourceResponse

from aios.auth.users import User
from aios.server.auth import ServicesDep
from aios.server.hub import Message
from aios.server.sessions import any_user

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["events"])

#: Seconds between keep-alive comments, so proxies do not close an idle stream.
PING_SECONDS = 15


@router.get("/events", summary="Live events (server-sent events)",
            response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                             "description": "A stream of `event:` / `data:` messages."}})
async def events(services: ServicesDep, _user: Annotated[User, Depends(any_user)],
                 run_id: str | None = Query(None, max_length=64,
                                            description="Only events of this run (and "
                                                        "resync)."),
                 after: int | None = Query(None, ge=0, le=2**62,
                                           description="Replay the kept events numbered "
                                                       "above this first."),
                 last_event_id: str | None = Header(None, max_length=20,
                                                    description="Sent by a reconnecting "
                                                                "browser; wins over `after`.")
                 ) -> EventSourceResponse:
    """Run and approval events of this server as they happen (after the ones missed, when
    `after` or `Last-Event-ID` says where the client stopped)."""
    hub = services.hub
    start = int(last_event_id) if last_event_id and last_event_id.isdigit() else after
    # Set by sse-starlette when Uvicorn is asked to stop: the stream then ends cleanly.
    stopping = anyio.Event()

    def wanted(message: Message) -> bool:
        return not run_id or message.kind == "resync" or message.data.get("run_id") == run_id

    def frame(message: Message) -> dict[str, Any]:
        return {"id": str(message.id), "event": message.kind,
                "data": json.dumps(message.data, default=str)}

    async def stream() -> AsyncIterator[dict[str, Any]]:
        with hub.subscribe() as queue:
            # Taken with the subscription, before any await: nothing falls in between.
            missed = hub.since(start) if start is not None else []
            yield {"event": "hello", "data": json.dumps({"subscribers": hub.subscribers,
                                                        "last_id": hub.last_id})}
            for kept in missed:
                if wanted(kept):
                    yield frame(kept)
            stopper = asyncio.ensure_future(stopping.wait())
            getter: asyncio.Future[Message | None] | None = None
            try:
                while True:
                    getter = asyncio.ensure_future(queue.get())
                    await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    if not getter.done():
                        return  # the server is stopping
                    message = getter.result()
                    if message is None:  # the hub was closed
                        return
                    if wanted(message):
                        yield frame(message)
            finally:  # also when the client went away while this waited
                for task in (getter, stopper):
                    if task is not None:
                        task.cancel()

    return EventSourceResponse(stream(), ping=PING_SECONDS, shutdown_event=stopping,
                               shutdown_grace_period=2)
