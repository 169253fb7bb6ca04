"""The reference filesystem MCP server (npm, run with Node.js) behind `aios mcp serve`.

An MCP client talks to Ai:oS over stdio; Ai:oS proxies the filesystem server. Reading goes
straight through; moving a file (a destructive tool) waits for approval and happens once.
Installed by `make mcp-test-servers` (npm install --prefix tests/mcp/npm).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_helpers import REPO, aios_args, aios_env, texts

from aios.approvals import ApprovalService
from aios.auth import Role, UserStore
from aios.settings import Settings
from aios.store import Store

SERVER = (REPO / "tests/mcp/npm/node_modules/@modelcontextprotocol/server-filesystem/dist/"
          "index.js")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("node") is None,
                       reason="Node.js is not installed: the reference filesystem MCP server "
                              "needs it (apt-get install nodejs npm)"),
    pytest.mark.skipif(not SERVER.exists(),
                       reason="the reference filesystem MCP server is not installed: run "
                              "`make mcp-test-servers` (npm install --prefix tests/mcp/npm)"),
]


@asynccontextmanager
async def gateway(tmp_path: Path, root: Path) -> AsyncIterator[ClientSession]:
    manifest = tmp_path / "fs.yaml"
    manifest.write_text(f"""
name: fs-gateway
mcp_servers:
  fs:
    description: The reference filesystem server, limited to one directory.
    command: {shutil.which("node")}
    args: ["{SERVER}", "{root}"]
""")
    command, *args = aios_args("mcp", "serve", "--manifest", str(manifest), "--as", "bot",
                               "--approval-wait", "0.5")
    params = StdioServerParameters(command=command, args=args, env=aios_env(tmp_path))
    with (tmp_path / "server.stderr").open("w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            yield session


async def test_moving_a_file_waits_for_approval_and_happens_once(tmp_path: Path) -> None:
    root = (tmp_path / "files").resolve()
    root.mkdir()
    (root / "report.txt").write_text("quarterly numbers")
    store = await Store.open(Settings(home=tmp_path / "home").store_url())
    alice = await UserStore(store).add("alice", Role.approver)
    await store.close()

    async with gateway(tmp_path, root) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert tools["fs-read_text_file"].annotations.readOnlyHint is True
        assert "needs approval" in (tools["fs-move_file"].description or "")

        read = await session.call_tool("fs-read_text_file", {"path": str(root / "report.txt")})
        assert read.isError is False and "quarterly numbers" in texts(read)

        move = {"source": str(root / "report.txt"), "destination": str(root / "old.txt")}
        first = await session.call_tool("fs-move_file", move)
        assert first.structuredContent["status"] == "waiting", texts(first)
        assert (root / "report.txt").exists() and not (root / "old.txt").exists()

        store = await Store.open(Settings(home=tmp_path / "home").store_url())
        try:
            request = await ApprovalService(store).approve(
                first.structuredContent["request_id"], alice)
            assert request.status == "approved"
        finally:
            await store.close()

        done = await session.call_tool("fs-move_file", move)
        assert done.isError is False, texts(done)
        assert not (root / "report.txt").exists()
        assert (root / "old.txt").read_text() == "quarterly numbers"

        # The same call again is a new request; nothing moves without one.
        again = await session.call_tool("fs-move_file", move)
        assert again.structuredContent["status"] == "waiting"
    assert sorted(p.name for p in root.iterdir()) == ["old.txt"]
