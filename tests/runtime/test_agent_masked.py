"""An agent run's goal and conversation are stored masked; resume gives the model and the tools
the real values back (sealed with AIOS_ARGS_KEY, or the embedded store's key file), and
without either the run is refused."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from tests.support.scripted_llm import Reply, ScriptedLLMServer

from aios.app import load_manifest, open_runtime
from aios.approvals import ApprovalService
from aios.auth import Role, UserStore
from aios.errors import ConfigError
from aios.manifest.schema import Manifest
from aios.runtime import ActionContext, handler
from aios.settings import Settings
from aios.store import Store

TOKEN = "ghp_R7sKq2ZxW9mNv4LpT8cYb3HdJ6fGa1Ue5Qo0"
EMAIL = "dana.lee@example.org"
GOAL = f"rotate the deploy key {TOKEN} and tell {EMAIL}"
GOT: list[dict[str, Any]] = []


@handler("tam.rotate")
async def rotate(ctx: ActionContext) -> dict[str, Any]:
    GOT.append(dict(ctx.args))
    return {"rotated": True}


MANIFEST = """\
models:
  scripted:
    provider: openai
    model: scripted
    base_url: "{url}/v1"
    api_key_env: SCRIPTED_KEY
    capabilities: {{tools: true}}
approvals: {{wait_seconds: 0}}
guardrails: {{scan_inputs: false, scan_outputs: false}}
agents:
  ops:
    model: scripted
    actions:
      rotate:
        handler: tam.rotate
        mutates: true
        criticality: high
        inputs: {{type: object, properties: {{key: {{type: string}}, notify: {{type: string}}}}}}
"""


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIPTED_KEY", "x")


def manifest(server: ScriptedLLMServer, tmp_path: Path) -> Manifest:
    path = tmp_path / "agent.yaml"
    path.write_text(MANIFEST.format(url=server.url))
    return load_manifest(path, handlers=[rotate])


def stored_text(settings: Settings) -> str:
    db = settings.store_url().split("///", 1)[1]
    with sqlite3.connect(db) as conn:
        return "\n".join(repr(row) for table in ("runs", "agent_turns", "step_events")
                         for row in conn.execute(f"select * from {table}"))


async def approve_all(settings: Settings, run_id: str) -> None:
    """Alice (an approver) approves every request the run filed."""
    store = await Store.open(settings.store_url())
    try:
        alice = await UserStore(store).add("alice", Role.approver)
        service = ApprovalService(store)
        for request in await service.queue(run_id=run_id):
            await service.approve(request.id, alice)
    finally:
        await store.close()


async def test_the_conversation_is_stored_masked_and_resumes_with_the_real_values(
        server: ScriptedLLMServer, tmp_path: Path, settings: Settings) -> None:
    GOT.clear()
    keyed = settings.model_copy(update={"args_key": SecretStr(Fernet.generate_key().decode())})
    loaded = manifest(server, tmp_path)
    server.script(Reply.ok("", tool_calls=[{"id": "a", "name": "ops__rotate", "arguments": {
        "key": TOKEN, "notify": EMAIL}}]), Reply.ok("Rotated."))
    async with open_runtime(loaded, settings=keyed, handlers=[rotate]) as runtime:
        first = await runtime.run_agent("ops", GOAL)
    assert first.status == "waiting" and GOT == []
    text = stored_text(keyed)
    assert "<SECRET>" in text and "<EMAIL>" in text
    assert TOKEN not in text and EMAIL not in text

    await approve_all(keyed, first.run_id)
    async with open_runtime(loaded, settings=settings, handlers=[rotate]) as runtime:
        with pytest.raises(ConfigError, match="AIOS_ARGS_KEY is not set"):
            await runtime.resume(first.run_id)
    async with open_runtime(loaded, settings=keyed, handlers=[rotate]) as runtime:
        done = await runtime.resume(first.run_id)
    assert done.status == "succeeded" and GOT == [{"key": TOKEN, "notify": EMAIL}]
    # The model was sent the real goal again after the resume.
    assert TOKEN in json.dumps(server.requests[-1]["messages"])
    text = stored_text(keyed)
    assert TOKEN not in text and EMAIL not in text


async def test_without_a_key_the_embedded_store_seals_under_its_key_file(
        server: ScriptedLLMServer, tmp_path: Path, settings: Settings) -> None:
    GOT.clear()
    loaded = manifest(server, tmp_path)
    server.script(Reply.ok("", tool_calls=[{"id": "a", "name": "ops__rotate", "arguments": {
        "key": TOKEN, "notify": EMAIL}}]), Reply.ok("Rotated."))
    async with open_runtime(loaded, settings=settings, handlers=[rotate]) as runtime:
        first = await runtime.run_agent("ops", GOAL)
    assert first.status == "waiting"
    key_file = settings.home / "args.key"
    assert key_file.stat().st_mode & 0o777 == 0o600  # readable by its owner only
    text = stored_text(settings)
    assert "sealed" in text and TOKEN not in text and EMAIL not in text
    assert key_file.read_text().strip() not in text  # the key never reaches the store
    await approve_all(settings, first.run_id)
    async with open_runtime(loaded, settings=settings, handlers=[rotate]) as runtime:
        done = await runtime.resume(first.run_id)
    assert done.status == "succeeded" and GOT == [{"key": TOKEN, "notify": EMAIL}]


async def test_without_a_key_a_goal_with_a_secret_is_refused_on_a_configured_database(
        server: ScriptedLLMServer, tmp_path: Path, settings: Settings) -> None:
    # A store named by AIOS_DATABASE_URL (PostgreSQL, shared by hosts) has no key file.
    configured = settings.model_copy(update={"database_url": settings.store_url()})
    loaded = manifest(server, tmp_path)
    async with open_runtime(loaded, settings=configured, handlers=[rotate]) as runtime:
        with pytest.raises(ConfigError, match=r"goal hold secrets.*AIOS_ARGS_KEY"):
            await runtime.run_agent("ops", GOAL)
        assert await runtime.runs.count_runs() == 0
    assert not (settings.home / "args.key").exists()
