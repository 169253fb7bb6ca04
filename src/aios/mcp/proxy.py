"""Upstream MCP tools as actions: `mcp_servers:` → `server.tool`, gated like any other action.

At start-up every upstream server is connected and its tools listed. Each tool is vetted
before it is offered: a valid object input schema, a name listed once, a description the
injection detector does not flag (unless the manifest allows the tool by name), and a
definition equal to the one pinned in the store the first time it was seen. A vetted tool
becomes an action of the agent named after its server, with criticality and `mutates` taken
from its annotations (or the manifest's override); its handler calls the upstream tool. The
manifest the runtime gets is the loaded one plus these agents; nothing else changes, so
sequences, approvals, forensic mode, guardrails and traces treat them like any other action.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from mcp import types

from aios.errors import HandlerError
from aios.manifest.schema import Action, Agent, Manifest
from aios.mcp.config import McpServerSpec, McpToolSpec
from aios.mcp.names import action_key
from aios.mcp.store import PinStore
from aios.mcp.upstream import Upstream
from aios.runtime.context import ActionContext
from aios.runtime.handlers import handler
from aios.store.engine import Store

__all__ = ["McpProxy", "ProxiedTool", "annotation_facts", "open_proxy"]

log = logging.getLogger("aios.mcp.proxy")

#: Extra seconds the action's own timeout allows past the upstream call's, so the upstream
#: time limit (with its clearer message) fires first.
_GRACE = 5.0


@dataclass(frozen=True)
class ProxiedTool:
    """One upstream tool and what became of it.

    Attributes:
        server: the upstream server's name.
        name: the tool's name upstream.
        key: the action key (`server.key` is the action).
        offered: whether it is an action now.
        reason: why it is not offered (empty when it is).
        action: the action it became (None when refused).
    """

    server: str
    name: str
    key: str
    offered: bool
    reason: str = ""
    action: Action | None = None


def annotation_facts(tool: types.Tool, override: McpToolSpec | None) -> tuple[str, bool]:
    """(criticality, mutates) of an upstream tool: the manifest's override, else its hints.

    MCP's defaults apply to hints left out (`readOnlyHint` false, `destructiveHint` true),
    and a tool with no annotations at all counts as mutating with high criticality.
    """
    ann = tool.annotations
    if ann is None or (ann.readOnlyHint is None and ann.destructiveHint is None):
        criticality, mutates = "high", True
    elif ann.readOnlyHint:
        criticality, mutates = "low", False
    elif ann.destructiveHint is False:
        criticality, mutates = "medium", True
    else:
        criticality, mutates = "high", True
    if override is not None:
        criticality = override.criticality or criticality
        mutates = mutates if override.mutates is None else override.mutates
    return criticality, mutates


def _definition(tool: types.Tool) -> dict[str, Any]:
    return tool.model_dump(mode="json", exclude_none=True, by_alias=True,
                           exclude={"meta", "icons"})


def _descriptions(tool: types.Tool) -> str:
    """Every text a model reads about the tool: its description, title, parameter texts."""
    found: list[str] = [t for t in (tool.title, tool.description) if t]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("description", "title") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(tool.inputSchema)
    return "\n".join(found)


def _schema_problem(schema: Any) -> str | None:
    if not isinstance(schema, dict):
        return "its input schema is not a JSON object"
    if schema.get("type") != "object":
        return f"its input schema has type {schema.get('type')!r}, not 'object'"
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"its input schema is not valid JSON Schema ({exc.message})"
    return None


def _result_value(server: str, tool: str, result: types.CallToolResult) -> Any:
    text = "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))
    if result.isError:
        raise HandlerError(f"{server}.{tool}: the MCP server answered an error: "
                           f"{text or '(no text)'}")
    if isinstance(result.structuredContent, dict):
        return result.structuredContent
    others = [c.model_dump(mode="json", exclude_none=True) for c in result.content
              if not isinstance(c, types.TextContent)]
    return {"text": text, **({"content": others} if others else {})}


@dataclass
class McpProxy:
    """The upstream connections and the tools they contribute.

    Attributes:
        manifest: the loaded manifest plus one agent per upstream server.
        handlers: the handlers of the offered tools (for the `HandlerRegistry`).
        tools: every listed tool, offered or refused, by server then name.
    """

    manifest: Manifest
    handlers: list[Callable[..., Any]] = field(default_factory=list)
    tools: list[ProxiedTool] = field(default_factory=list)
    upstreams: dict[str, Upstream] = field(default_factory=dict)

    def refused(self) -> list[ProxiedTool]:
        """The tools that are not offered, with their reasons."""
        return [t for t in self.tools if not t.offered]


class _Vetting:
    """Decides which listed tools of one server are offered."""

    def __init__(self, server: str, spec: McpServerSpec, pins: PinStore, scan: Any):
        self.server = server
        self.spec = spec
        self.pins = pins
        self.scan = scan

    async def vet(self, listed: list[types.Tool]) -> list[tuple[types.Tool, ProxiedTool]]:
        names = Counter(t.name for t in listed)
        keys = Counter(action_key(name) for name in names)
        out: list[tuple[types.Tool, ProxiedTool]] = []
        for tool in listed:
            out.append((tool, await self._one(tool, names, keys)))
        return out

    async def _one(self, tool: types.Tool, names: Counter[str],
                   keys: Counter[str]) -> ProxiedTool:
        server, key = self.server, action_key(tool.name)
        override = self.spec.tools.get(tool.name)

        def refuse(reason: str) -> ProxiedTool:
            log.warning("MCP server %s: tool %s is not offered: %s", server, tool.name, reason)
            return ProxiedTool(server, tool.name, key, False, reason)

        if override is not None and not override.enabled:
            return ProxiedTool(server, tool.name, key, False, "disabled in the manifest")
        if names[tool.name] > 1:
            return refuse(f"the server lists {names[tool.name]} tools named {tool.name!r}")
        if keys[key] > 1:
            return refuse(f"another tool of {server} also becomes action {server}.{key}")
        problem = _schema_problem(tool.inputSchema)
        if problem:
            return refuse(problem)
        pinned = await self.pins.check(server, tool.name, _definition(tool))
        if pinned == "changed":
            return refuse(f"its definition changed since it was pinned; review it, then "
                          f"`aios mcp trust {server}.{tool.name}`")
        findings = self.scan(_descriptions(tool))
        if findings and not (override is not None and override.allow):
            kinds = ", ".join(sorted({f.type for f in findings}))
            return refuse(f"its description is flagged as a prompt injection ({kinds}); read "
                          f"it, and if it is harmless set mcp_servers.{server}.tools."
                          f"{tool.name}.allow: true")
        criticality, mutates = annotation_facts(tool, override)
        timeout = (override.timeout if override and override.timeout else self.spec.timeout)
        action = Action(description=tool.description or tool.title or f"{server} {tool.name}",
                        handler=f"mcp:{server}.{key}", criticality=criticality,
                        mutates=mutates, timeout=timeout + _GRACE,
                        inputs=dict(tool.inputSchema))
        return ProxiedTool(server, tool.name, key, True, "", action)


def _make_handler(upstream: Upstream, tool: str, key: str, timeout: float,
                  recheck: Callable[[], Any]) -> Callable[[ActionContext], Any]:
    @handler(f"mcp:{upstream.name}.{key}")
    async def call(ctx: ActionContext) -> Any:
        await recheck()
        result = await upstream.call(tool, dict(ctx.args), timeout)
        return _result_value(upstream.name, tool, result)

    return call


def _injection_scanner() -> Callable[[str], list[Any]]:
    """The injection detector's heuristics over a tool's texts.

    Its embedding classifier stays off here: tool descriptions are instructions to a model
    by design, and it flags 6 of the 14 descriptions of the reference filesystem server (12
    before the trigger-word retraining; scores 0.55-0.91, around the 0.86 of the published
    `<IMPORTANT>` tool-poisoning example), so it cannot tell them apart.
    """
    from aios.security import get_detector, scan

    detector = get_detector("injection", classifier=False)
    return lambda text: scan(text, [detector]) if text.strip() else []


@contextlib.asynccontextmanager
async def open_proxy(manifest: Manifest, store: Store, *,
                     environ: Mapping[str, str] | None = None,
                     scanner: Callable[[str], list[Any]] | None = None
                     ) -> AsyncIterator[McpProxy]:
    """Connect to every `mcp_servers:` entry, vet its tools, and yield the proxy.

    Raises:
        ConfigError: a server does not start or cannot list its tools (naming which).
    """
    env = os.environ if environ is None else environ
    pins = PinStore(store)
    proxy = McpProxy(manifest)
    if not manifest.mcp_servers:
        yield proxy
        return
    scan = scanner or _injection_scanner()
    agents = dict(manifest.agents)
    try:
        for server, spec in manifest.mcp_servers.items():
            upstream = Upstream(server, spec, env)
            proxy.upstreams[server] = upstream
            vetting = _Vetting(server, spec, pins, scan)
            listed = await upstream.list_tools()
            upstream.listed()
            actions: dict[str, Action] = {}
            for tool, outcome in await vetting.vet(listed):
                proxy.tools.append(outcome)
                if outcome.action is None:
                    continue
                actions[outcome.key] = outcome.action
                limit = (outcome.action.timeout or spec.timeout + _GRACE) - _GRACE
                proxy.handlers.append(_make_handler(
                    upstream, tool.name, outcome.key, limit,
                    _rechecker(upstream, vetting, tool.name)))
            agents[server] = Agent(description=spec.description or f"MCP server {server}",
                                   actions=actions)
        proxy.manifest = manifest.model_copy(update={"agents": agents})
        yield proxy
    finally:
        for upstream in proxy.upstreams.values():
            with contextlib.suppress(Exception):
                await asyncio.shield(upstream.aclose())


def _rechecker(upstream: Upstream, vetting: _Vetting, tool: str) -> Callable[[], Any]:
    """Before a call: if the connection was reopened or the server said its tools changed,
    list them again and refuse a tool whose definition no longer matches its pin."""

    async def recheck() -> None:
        await upstream.session()  # reopens a broken connection: its tools are listed anew
        if not upstream.needs_relisting():
            return
        listed = await upstream.list_tools()
        upstream.listed()
        outcome = {t.name: o for t, o in await vetting.vet(listed)}.get(tool)
        if outcome is None:
            raise HandlerError(f"{upstream.name}.{tool}: the MCP server no longer lists this "
                               "tool")
        if not outcome.offered:
            raise HandlerError(f"{upstream.name}.{tool} is refused now: {outcome.reason}")

    return recheck
