"""Decide approval requests from a separate OS process, at agreed instants (race tests).

    python race_driver.py URL TOKEN approve|reject START_AT ID [ID ...]

Request i is decided at START_AT + i * 0.25 s (wall clock), so two processes started with the
same START_AT hit each request at the same moment. Prints one JSON line per request:
{"id": ..., "ok": true} or {"id": ..., "ok": false, "error": "ConflictError", "message": ...}.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from aios.approvals import ApprovalService
from aios.auth import TokenStore
from aios.errors import AiosError
from aios.store import Store


async def main(url: str, token: str, decision: str, start_at: float, ids: list[str]) -> None:
    store = await Store.open(url, migrate=False)
    try:
        user = await TokenStore(store).authenticate(token)
        service = ApprovalService(store)
        for i, request_id in enumerate(ids):
            await asyncio.sleep(max(0.0, start_at + i * 0.25 - time.time()))
            try:
                if decision == "approve":
                    await service.approve(request_id, user)
                else:
                    await service.reject(request_id, user, reason="race")
                out = {"id": request_id, "ok": True}
            except AiosError as exc:
                out = {"id": request_id, "ok": False, "error": type(exc).__name__,
                       "message": str(exc)}
            print(json.dumps(out), flush=True)
    finally:
        await store.close()


if __name__ == "__main__":
    url, token, decision, start_at, *ids = sys.argv[1:]
    asyncio.run(main(url, token, decision, float(start_at), ids))
