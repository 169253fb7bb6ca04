"""`aios mcp serve --http`: streamable HTTP behind API tokens, driven by the SDK's client."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_helpers import aios_args, aios_env, texts, write_demo

from aios.approvals import ApprovalService
from aios.auth import Role, TokenStore, UserStore
from aios.errors import PermissionDenied
from aios.settings import Settings
from aios.store import Store

pytestmark = pytest.mark.slow


@asynccontextmanager
async def store_of(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(Settings(home=tmp_path / "home").store_url())
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def http_server(tmp_path: Path, manifest: Path, *extra: str) -> AsyncIterator[str]:
    """Start `aios mcp serve --http 127.0.0.1:0`; yields the URL it prints."""
    proc = await asyncio.create_subprocess_exec(
        *aios_args("mcp", "serve", "--manifest", str(manifest), "--http", "127.0.0.1:0",
                   *extra),
        env=aios_env(tmp_path), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(120):
            while True:
                line = (await proc.stderr.readline()).decode()
                if not line:
                    raise AssertionError("server exited: " + "".join(seen))
                seen.append(line)
                found = re.search(r"(http://\S+/mcp)", line)
                if found:
                    break
        yield found.group(1)
    finally:
        proc.terminate()
        await proc.wait()


@asynccontextmanager
async def client(url: str, token: str) -> AsyncIterator[ClientSession]:
    http = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                             timeout=httpx.Timeout(30, read=120))
    async with http, streamable_http_client(url, http_client=http) as (read, write, _), \
            ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def people(tmp_path: Path) -> dict[str, str]:
    async with store_of(tmp_path) as store:
        users, tokens = UserStore(store), TokenStore(store)
        await users.add("alice", Role.approver)
        await users.add("bob", Role.approver)
        return {"bob": (await tokens.issue("bob")).secret,
                "alice": (await tokens.issue("alice")).secret}


INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "0"}}}
HEADERS = {"Accept": "application/json, text/event-stream"}


async def test_requests_without_a_valid_token_are_refused_401(tmp_path: Path) -> None:
    manifest, _ = write_demo(tmp_path)
    secrets = await people(tmp_path)
    async with http_server(tmp_path, manifest) as url, httpx.AsyncClient() as http:
        missing = await http.post(url, json=INIT, headers=HEADERS)
        unknown = await http.post(url, json=INIT, headers={
            **HEADERS, "Authorization": "Bearer aios_000000000000_nope"})
        basic = await http.post(url, json=INIT, headers={**HEADERS,
                                                          "Authorization": "Basic Ym9iOng="})
        async with client(url, secrets["bob"]) as session:  # works before the revocation
            assert (await session.call_tool("demo-echo", {"text": "hi"})).isError is False
        async with store_of(tmp_path) as store:
            tokens = TokenStore(store)
            (info,) = [t for t in await tokens.list("bob")]
            await tokens.revoke(info.id)
        revoked = await http.post(url, json=INIT, headers={
            **HEADERS, "Authorization": f"Bearer {secrets['bob']}"})
    for response in (missing, unknown, basic, revoked):
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert "needs an API token" in missing.json()["detail"]
    assert "not known" in unknown.json()["detail"]
    assert "was revoked" in revoked.json()["detail"]


async def test_token_user_is_the_requester_and_the_call_runs_once(tmp_path: Path) -> None:
    manifest, marker = write_demo(tmp_path)
    secrets = await people(tmp_path)
    async with http_server(tmp_path, manifest, "--approval-wait", "1") as url:
        async with client(url, secrets["bob"]) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            assert names == {"demo-echo", "demo-now", "demo-touch"}
            echo = await session.call_tool("demo-echo", {"text": "over http"})
            assert echo.structuredContent == {"echo": "over http"}
            progress: list[str | None] = []

            async def on_progress(done: float, total: float | None, msg: str | None) -> None:
                progress.append(msg)

            first = await session.call_tool("demo-touch", {"name": "h"},
                                            progress_callback=on_progress)
            assert first.structuredContent["status"] == "waiting"
            assert progress
            request_id = first.structuredContent["request_id"]
        async with store_of(tmp_path) as store:
            approvals = ApprovalService(store)
            request = await approvals.get(request_id)
            assert request.requester == "bob"
            users = UserStore(store)
            with pytest.raises(PermissionDenied):
                await approvals.approve(request_id, await users.get("bob"))
            await approvals.approve(request_id, await users.get("alice"))
        # A new session of the same user: the same call finds its run and finishes it.
        async with client(url, secrets["bob"]) as session:
            done = await session.call_tool("demo-touch", {"name": "h"})
            assert done.structuredContent == {"touched": "h"}, texts(done)
        # Another user's identical call is another caller's call: a request of its own.
        async with client(url, secrets["alice"]) as session:
            theirs = await session.call_tool("demo-touch", {"name": "h"})
            assert theirs.structuredContent["status"] == "waiting"
    assert marker.read_text().splitlines() == ["h"]
