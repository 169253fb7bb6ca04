"""Issue 23 item 3 on the dashboard and the REST API: the request page shows what will run,
schema defaults filled in and marked as defaults, next to the arguments given."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi.testclient import TestClient
from server_helpers import bearer, login

from aios.approvals import ActionFacts, ApprovalPolicy, ApprovalService, Proposal
from aios.settings import Settings
from aios.store import Store

SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "target": {"type": "string", "default": "/var/lib/app/cache"},
    "older_than_days": {"type": "integer", "default": 7}}}


def _file(settings: Settings) -> str:
    async def go() -> str:
        store = await Store.open(settings.store_url())
        try:
            need = ApprovalPolicy().evaluate(ActionFacts("storage.cleanup", "high", True))
            return (await ApprovalService(store).submit(Proposal(
                run_id="r1", step_id="s1", action="storage.cleanup",
                args={"older_than_days": 30}, requester="ops", reason="disk full",
                input_schema=SCHEMA, preview={"handler": "files:would_delete",
                                              "error": "the preview failed: boom"}), need)).id
        finally:
            await store.close()

    return asyncio.run(go())


def test_request_page_marks_default_arguments(client: TestClient, settings: Settings,
                                              tokens: dict[str, str]) -> None:
    request_id = _file(settings)
    login(client, "alice")
    page = client.get(f"/approvals/{request_id}").text
    table = page[page.index('id="effective-args"'):page.index("Arguments given")]
    rows = re.findall(r"<tr( class=\"default-arg\")?><td class=\"mono\">([^<]+)</td>"
                      r"<td class=\"mono\">([^<]+)</td>", table)
    assert [(name, value.replace("&#34;", '"'), bool(mark)) for mark, name, value in rows] == [
        ("older_than_days", "30", False), ("target", '"/var/lib/app/cache"', True)]
    assert "<b>default</b>" in table
    preview = page[page.index('id="approval-preview"'):page.index("Arguments given")]
    assert "the preview failed: boom; you can still decide" in preview
    assert "files:would_delete" in preview and 'id="approve-form"' in page
    api = client.get(f"/api/approvals/{request_id}", headers=bearer(tokens["vic"])).json()
    assert api["effective_args"] == {"older_than_days": 30, "target": "/var/lib/app/cache"}
    assert api["defaults"] == ["target"]
