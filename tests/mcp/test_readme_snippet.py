"""The README's Claude Desktop configuration works as written: an SDK client starts what it
says and lists and calls the packaged manifest's tools."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_helpers import REPO, aios_env

pytestmark = pytest.mark.slow


def readme_config() -> dict[str, object]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### MCP gateway", 1)[1].split("\n### ", 1)[0]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block, "the MCP section has no JSON client configuration"
    return json.loads(block.group(1))  # type: ignore[no-any-return]


async def test_the_readme_client_configuration_serves_the_packaged_manifest(
        tmp_path: Path) -> None:
    entry = readme_config()["mcpServers"]["aios"]  # type: ignore[index]
    # "The full path of `aios`": the console script next to this interpreter.
    command = shutil.which(entry["command"]) or str(Path(sys.executable).with_name("aios"))
    params = StdioServerParameters(command=command, args=entry["args"], env=aios_env(tmp_path))
    with (tmp_path / "stderr").open("w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            tools = {t.name: t for t in (await session.list_tools()).tools}
            disks = await session.call_tool("storage-disks", {})
    assert "storage-clean_old_files" in tools and "kernel-processes" in tools
    assert tools["storage-clean_old_files"].annotations.readOnlyHint is False
    assert disks.isError is False
