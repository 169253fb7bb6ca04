"""Tool names: `agent.key` <-> `agent-key`, valid for MCP clients, and upstream names as keys."""

from __future__ import annotations

import re

import pytest

from aios.errors import NotFoundError
from aios.mcp.names import action_key, action_name, tool_name

CLIENT_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # what Claude Desktop and OpenAI accept


@pytest.mark.parametrize("action", ["kernel.processes", "a_b.c_d", "x1.y__z", "storage.disks"])
def test_tool_names_are_valid_for_clients_and_map_back(action: str) -> None:
    name = tool_name(action)
    assert CLIENT_NAME.match(name)
    assert action_name(name) == action


@pytest.mark.parametrize("name", ["kernel.processes", "kernel", "-x", "a-b-c", "Kernel-ps", ""])
def test_names_that_are_not_ours_are_unknown_tools(name: str) -> None:
    with pytest.raises(NotFoundError, match="unknown tool"):
        action_name(name)


def test_upstream_names_become_action_keys() -> None:
    assert action_key("read_text_file") == "read_text_file"
    assert action_key("read-file") == "read_file"
    assert action_key("readFile") == "readfile"
    assert action_key("2fa.check") == "t_2fa_check"
