"""The manifest's `mcp_servers:` section: upstream MCP servers whose tools become actions.

Plain frozen data, imported by the manifest schema; nothing here connects to anything.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aios.approvals.policy import LEVELS

__all__ = ["McpServerSpec", "McpToolSpec"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class McpToolSpec(BaseModel):
    """Per-tool settings of one upstream tool, overriding what its annotations say."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    criticality: str | None = Field(
        None, description="low | medium | high | critical; default: from the tool's "
        "annotations (read-only: low, destructive: high, neither: medium, none: high).")
    mutates: bool | None = Field(
        None, description="Whether the tool changes anything; default: not `readOnlyHint` "
        "(a tool without annotations counts as mutating).")
    timeout: float | None = Field(
        None, gt=0, description="Seconds before a call is abandoned; default: the server's.")
    allow: bool = Field(
        False, description="Offer the tool even when its description is flagged as a prompt "
        "injection (tool poisoning); only after reading the description yourself.")
    enabled: bool = Field(True, description="False: never offer this tool.")

    @model_validator(mode="after")
    def _level(self) -> McpToolSpec:
        if self.criticality is not None and self.criticality not in LEVELS:
            raise ValueError(f"criticality {self.criticality!r} is not one of "
                             f"{', '.join(LEVELS)}")
        return self


class McpServerSpec(BaseModel):
    """One upstream MCP server: a command started over stdio, or a streamable HTTP URL."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = Field("", description="What the server is for.")
    command: str | None = Field(
        None, description="Program started over stdio (for example `npx` or `python`).")
    args: list[str] = Field(default_factory=list, description="Arguments of `command`.")
    env: dict[str, str] = Field(
        default_factory=dict, description="Environment of `command` (added to a minimal "
        "default environment: PATH, HOME, ...).")
    cwd: str | None = Field(None, description="Working directory of `command`.")
    url: str | None = Field(
        None, description="Streamable HTTP endpoint (for example http://127.0.0.1:9000/mcp).")
    headers: dict[str, str] = Field(
        default_factory=dict, description="HTTP headers sent to `url`: header name -> the "
        "NAME of an environment variable holding its value (secrets stay out of the "
        "manifest), for example `Authorization: UPSTREAM_AUTH`.")
    timeout: float = Field(
        30.0, gt=0, description="Seconds for listing and for each call (a tool's `timeout` "
        "overrides it for its calls).")
    start_timeout: float = Field(
        60.0, gt=0, description="Seconds for starting and answering `initialize` (`npx` may "
        "install a package first).")
    tools: dict[str, McpToolSpec] = Field(
        default_factory=dict, description="Per-tool overrides by the upstream tool name.")

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSpec:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of `command` (stdio) or `url` (streamable "
                             "HTTP)")
        if self.headers and self.url is None:
            raise ValueError("`headers` apply to `url` servers only")
        for header, var in self.headers.items():
            if not _ENV_NAME.match(var):
                raise ValueError(f"headers.{header}: {var!r} is not an environment variable "
                                 "name; write the NAME of the variable holding the value")
        return self

    def header_values(self, environ: dict[str, str] | Any) -> dict[str, str]:
        """The headers with each value read from `environ`.

        Raises:
            KeyError: naming the variable that is not set.
        """
        return {header: environ[var] for header, var in self.headers.items()}
