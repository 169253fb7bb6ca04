"""A real run through `open_runtime`: its critical request reaches the webhook receiver and the
SMTP inbox, the run suspends as without channels, and `aios approvals show` lists the
deliveries."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from channel_receivers import Inbox, Receiver, body_text, start_smtp
from typer.testing import CliRunner

from aios.app import open_runtime
from aios.approvals import ApprovalService
from aios.cli.main import app
from aios.manifest import Manifest
from aios.runtime import ActionContext, handler
from aios.settings import Settings

CALLS: list[dict[str, Any]] = []


@handler("tch.purge")
async def purge(ctx: ActionContext) -> dict[str, Any]:
    CALLS.append(dict(ctx.args))
    return {"purged": True}


def manifest(hook_url: str, smtp_port: int) -> Manifest:
    return Manifest.model_validate({
        "name": "channels-test",
        "agents": {"cache": {"actions": {"purge": {
            "handler": "tch.purge", "criticality": "critical", "mutates": True,
            "description": "Delete cached files.",
            "inputs": {"type": "object", "properties": {
                "dir": {"type": "string", "default": "/var/cache/app"},
                "older_than_days": {"type": "integer"}}}}}}},
        "sequences": {"clean": {"steps": [{"action": "cache.purge",
                                           "with": {"older_than_days": 3}}]}},
        "approvals": {
            "links": {"base_url": "https://aios.example.test"},
            "channels": [
                {"type": "webhook", "url": hook_url, "secret_env": "HOOK_SECRET"},
                {"type": "email", "host": "127.0.0.1", "port": smtp_port,
                 "from": "aios@example.test", "to": ["oncall@example.test"]}]}})


async def test_a_critical_request_of_a_run_reaches_webhook_and_inbox(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", "s3cret-hook-key")
    receiver = Receiver().start()
    inbox = Inbox()
    smtp, port = await start_smtp(inbox)
    settings = Settings(home=tmp_path / "home")
    try:
        async with open_runtime(manifest(receiver.url, port), settings=settings,
                                requester="ops", handlers=[purge]) as rt:
            result = await rt.run("clean")
            assert result.status == "waiting" and CALLS == []
            (req,) = await ApprovalService(rt.runs.store).queue()
        # open_runtime waited (bounded) for the deliveries before it closed the store.
    finally:
        smtp.close()
        await smtp.wait_closed()
        receiver.stop()
    [hit] = receiver.hits
    assert hit.signature_ok
    assert hit.json["request"]["effective_args"] == {"dir": "/var/cache/app",
                                                     "older_than_days": 3}
    [message] = inbox.messages
    text = body_text(message)
    assert "Action: cache.purge (criticality critical)" in text
    assert 'dir = "/var/cache/app"  (default' in text and "older_than_days = 3\n" in text
    assert "Why: Delete cached files." in text
    assert f"https://aios.example.test/approvals/{req.id}" in text

    shown = await asyncio.to_thread(
        CliRunner().invoke, app, ["approvals", "show", req.id, "--json"],
        env={"AIOS_HOME": str(settings.home)})
    data = json.loads(shown.stdout)
    assert sorted((d["channel"], d["status"]) for d in data["deliveries"]) == [
        ("email.1", "sent"), ("webhook.0", "sent")]
    text_view = await asyncio.to_thread(
        CliRunner().invoke, app, ["approvals", "show", req.id],
        env={"AIOS_HOME": str(settings.home), "COLUMNS": "120"})
    assert "deliveries (2 attempts, 0 given up)" in text_view.stdout
