"""`aios mcp serve` over stdio, driven by the MCP SDK's own client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_helpers import aios_args, aios_env, texts, write_demo

from aios.approvals import ApprovalService
from aios.auth import Role, UserStore
from aios.errors import PermissionDenied
from aios.settings import Settings
from aios.store import Store

pytestmark = pytest.mark.slow


@asynccontextmanager
async def serve(tmp_path: Path, manifest: Path, *extra: str) -> AsyncIterator[ClientSession]:
    command, *args = aios_args("mcp", "serve", "--manifest", str(manifest), "--as", "bot",
                               *extra)
    params = StdioServerParameters(command=command, args=args, env=aios_env(tmp_path))
    with (tmp_path / "server.stderr").open("w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            yield session


@asynccontextmanager
async def store_of(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(Settings(home=tmp_path / "home").store_url())
    try:
        yield store
    finally:
        await store.close()


async def test_lists_actions_as_tools_with_schemas_and_annotations(tmp_path: Path) -> None:
    manifest, _ = write_demo(tmp_path)
    async with serve(tmp_path, manifest) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == {"demo-echo", "demo-now", "demo-touch"}
    echo, now, touch = tools["demo-echo"], tools["demo-now"], tools["demo-touch"]
    assert echo.inputSchema["required"] == ["text"]
    assert now.inputSchema == {"type": "object", "properties": {}}
    assert echo.annotations.readOnlyHint is True and echo.annotations.idempotentHint is True
    assert touch.annotations.readOnlyHint is False and touch.annotations.destructiveHint is True
    assert "needs approval" in touch.description


async def test_agent_option_serves_one_agent(tmp_path: Path) -> None:
    manifest, _ = write_demo(tmp_path, extra="""
  other:
    actions:
      ping: {handler: "mcp_demo_handlers:now"}
""")
    async with serve(tmp_path, manifest, "--agent", "other") as session:
        names = [t.name for t in (await session.list_tools()).tools]
        answer = await session.call_tool("other-ping", {})
    assert names == ["other-ping"]
    assert answer.structuredContent == {"agent": "other"}


async def test_read_only_call_runs_through_the_pipeline(tmp_path: Path) -> None:
    manifest, _ = write_demo(tmp_path)
    async with serve(tmp_path, manifest) as session:
        result = await session.call_tool("demo-echo", {"text": "hello"})
    assert result.isError is False
    assert result.structuredContent == {"echo": "hello"}
    async with store_of(tmp_path) as store:
        from aios.store import RunStore
        runs = await RunStore(store).list_runs()
    assert [(r.target, r.status) for r in runs] == [("demo.echo", "succeeded")]


async def test_unknown_tool_and_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    manifest, _ = write_demo(tmp_path)
    async with serve(tmp_path, manifest) as session:
        unknown = await session.call_tool("demo-nope", {})
        dotted = await session.call_tool("demo.echo", {"text": "x"})
        missing = await session.call_tool("demo-echo", {})
        wrong = await session.call_tool("demo-echo", {"text": 3, "extra": 1})
    assert unknown.isError and "unknown tool 'demo-nope'" in texts(unknown)
    assert "demo-echo" in texts(unknown)  # the known tools are named
    assert dotted.isError and "unknown tool" in texts(dotted)
    assert missing.isError and "'text' is a required property" in texts(missing)
    assert wrong.isError and "text: 3 is not of type 'string'" in texts(wrong)
    assert "Additional properties are not allowed" in texts(wrong)
    async with store_of(tmp_path) as store:
        from aios.store import RunStore
        assert await RunStore(store).list_runs() == []  # nothing ran


async def test_gated_call_waits_then_runs_once_after_approval(tmp_path: Path) -> None:
    manifest, marker = write_demo(tmp_path)
    async with store_of(tmp_path) as store:
        users = UserStore(store)
        alice = await users.add("alice", Role.approver)
        bot = await users.add("bot", Role.approver)
    progress: list[tuple[float, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, message))

    async with serve(tmp_path, manifest, "--approval-wait", "1.5") as session:
        first = await session.call_tool("demo-touch", {"name": "a"},
                                        progress_callback=on_progress)
        assert first.isError is False
        assert first.structuredContent["status"] == "waiting"
        request_id = first.structuredContent["request_id"]
        assert request_id and request_id in texts(first)
        assert progress and request_id in (progress[0][1] or "")
        assert not marker.exists()

        again = await session.call_tool("demo-touch", {"name": "a"})  # still undecided
        assert again.structuredContent["request_id"] == request_id

        async with store_of(tmp_path) as store:
            approvals = ApprovalService(store)
            with pytest.raises(PermissionDenied):  # the caller cannot approve its own call
                await approvals.approve(request_id, bot)
            await approvals.approve(request_id, alice)

        done = await session.call_tool("demo-touch", {"name": "a"})
        assert done.isError is False, texts(done)
        assert done.structuredContent == {"touched": "a"}
        assert marker.read_text().splitlines() == ["a"]

        # The outcome was delivered: the same call again is a new request, not a re-run.
        fresh = await session.call_tool("demo-touch", {"name": "a"})
        assert fresh.structuredContent["status"] == "waiting"
        assert fresh.structuredContent["request_id"] != request_id
    assert marker.read_text().splitlines() == ["a"]


async def test_rejected_call_answers_with_the_reason(tmp_path: Path) -> None:
    manifest, marker = write_demo(tmp_path)
    async with store_of(tmp_path) as store:
        alice = await UserStore(store).add("alice", Role.approver)
    async with serve(tmp_path, manifest, "--approval-wait", "0") as session:
        first = await session.call_tool("demo-touch", {"name": "b"})
        request_id = first.structuredContent["request_id"]
        async with store_of(tmp_path) as store:
            await ApprovalService(store).reject(request_id, alice, reason="not today")
        answer = await session.call_tool("demo-touch", {"name": "b"})
    assert answer.isError is True
    assert "rejected by alice: not today" in texts(answer)
    assert not marker.exists()
