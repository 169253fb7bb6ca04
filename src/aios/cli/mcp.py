"""`aios mcp serve | tools | trust`: the MCP gateway."""

from __future__ import annotations

from typing import Any

import typer

from aios.cli.common import (
    EnvOpt,
    ForensicOpt,
    JsonOpt,
    ManifestOpt,
    Options,
    console,
    emit_json,
    resolve_options,
    run,
)
from aios.errors import ConfigError

__all__ = ["register"]

AgentOpt = typer.Option(None, "--agent", help="Serve only this agent's actions.")
WaitOpt = typer.Option(30.0, "--approval-wait", min=0.0,
                       help="Seconds a gated call waits for a decision (sending progress) "
                            "before it answers with the approval request id.")


async def _serve(opts: Options, agent: str | None, as_user: str | None, approval_wait: float,
                 http: str | None) -> None:
    from aios.app import load_manifest, open_runtime
    from aios.approvals.layer import default_requester
    from aios.auth.tokens import TokenStore
    from aios.mcp.http import parse_bind, serve_http
    from aios.mcp.runtimes import RuntimesByCaller
    from aios.mcp.server import ActionServer
    from aios.runtime.executors import build_executor

    bind = parse_bind(http) if http else None
    manifest = load_manifest(opts.manifest, env=opts.env)
    settings = opts.settings()
    user = as_user or default_requester()
    async with open_runtime(manifest, settings=settings, env=opts.env, requester=user,
                            manifest_path=str(opts.manifest) if opts.manifest else None
                            ) as runtime:
        callers = RuntimesByCaller(runtime, build_executor(settings.executor, settings))
        server = ActionServer(runtime.manifest, runtime.runs.store, callers,
                              agent=agent, approval_wait=approval_wait,
                              forensic=runtime.forensic)
        if bind is not None:
            await serve_http(server, TokenStore(runtime.runs.store), *bind)
            return
        from mcp.server.stdio import stdio_server

        mcp_server = server.mcp_server(lambda _ctx: user)
        async with stdio_server() as (read, write):
            await mcp_server.run(read, write, mcp_server.create_initialization_options())


async def _tools(opts: Options, agent: str | None) -> list[dict[str, Any]]:
    from aios.app import load_manifest, open_store
    from aios.mcp.proxy import open_proxy
    from aios.mcp.tools import served_tools

    manifest = load_manifest(opts.manifest, env=opts.env)
    settings = opts.settings()
    async with open_store(settings) as store, open_proxy(manifest, store) as proxy:
        proxied = set(manifest.mcp_servers)
        rows: list[dict[str, Any]] = []
        for name, tool in served_tools(proxy.manifest, agent=agent,
                                       forensic=settings.forensic).items():
            server = tool.action.partition(".")[0]
            rows.append({"tool": name, "action": tool.action,
                         "source": f"proxied from {server}" if server in proxied else "served",
                         "mutates": tool.spec.mutates,
                         "criticality": tool.spec.criticality.value,
                         "gate": tool.gate.describe()})
        for refused in proxy.refused():
            if agent is None or agent == refused.server:
                rows.append({"tool": "-", "action": f"{refused.server}.{refused.key}",
                             "source": f"proxied from {refused.server}", "mutates": None,
                             "criticality": None, "gate": f"not offered: {refused.reason}"})
        return rows


async def _trust(opts: Options, target: str, actor: str) -> list[str]:
    from aios.app import load_manifest, open_store
    from aios.mcp.store import PinStore

    manifest = load_manifest(opts.manifest, env=opts.env)
    server, _, tool = target.partition(".")
    if server not in manifest.mcp_servers:
        raise ConfigError(f"no MCP server {server!r} in the manifest's mcp_servers "
                          f"(known: {', '.join(manifest.mcp_servers) or 'none'}); write "
                          "SERVER or SERVER.TOOL")
    async with open_store(opts.settings()) as store:
        return await PinStore(store).trust(server, tool or None, actor=actor)


def register(app: typer.Typer) -> None:
    """Add `aios mcp ...` to `app`."""
    group = typer.Typer(help="MCP gateway: serve actions as MCP tools, proxy upstream MCP "
                             "servers behind the gates.", no_args_is_help=True)
    app.add_typer(group, name="mcp")

    @group.command("serve")
    def serve(ctx: typer.Context, agent: str | None = AgentOpt,
              as_user: str | None = typer.Option(
                  None, "--as", envvar="AIOS_MCP_USER",
                  help="Over stdio: the user calls are made as (recorded as the requester "
                       "of approvals, who may not approve them); default: the OS user."),
              approval_wait: float = WaitOpt,
              http: str | None = typer.Option(
                  None, "--http", metavar="HOST:PORT",
                  help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio; "
                       "every request needs `Authorization: Bearer <API token>`."),
              manifest: ManifestOpt = None, env: EnvOpt = None,
              forensic: ForensicOpt = False) -> None:
        """Serve the manifest's actions as MCP tools (stdio by default)."""
        opts = resolve_options(ctx, manifest, env, forensic)
        run(_serve(opts, agent, as_user, approval_wait, http))

    @group.command("tools")
    def tools(ctx: typer.Context, agent: str | None = AgentOpt, manifest: ManifestOpt = None,
              env: EnvOpt = None, json_out: JsonOpt = False) -> None:
        """List the tools `aios mcp serve` offers, served and proxied, with their gates."""
        opts = resolve_options(ctx, manifest, env, json_out=json_out)
        rows = run(_tools(opts, agent))
        if opts.json:
            emit_json(rows)
            return
        from rich.table import Table

        table = Table("tool", "action", "source", "mutates", "gate")
        for row in rows:
            mutates = {True: "yes", False: "no", None: "-"}[row["mutates"]]
            table.add_row(row["tool"], row["action"], row["source"], mutates, row["gate"])
        console().print(table)

    @group.command("trust")
    def trust(ctx: typer.Context,
              target: str = typer.Argument(..., metavar="SERVER[.TOOL]",
                                           help="The server (all its changed tools) or "
                                                "one tool, by its upstream name."),
              manifest: ManifestOpt = None, env: EnvOpt = None,
              json_out: JsonOpt = False) -> None:
        """Accept the changed definition of upstream tools after reviewing it."""
        from aios.approvals.layer import default_requester

        opts = resolve_options(ctx, manifest, env, json_out=json_out)
        actor = default_requester()
        trusted = run(_trust(opts, target, actor))
        server = target.partition(".")[0]
        actions = [f"{server}.{tool}" for tool in trusted]
        if opts.json:
            emit_json({"server": server, "trusted": actions, "by": actor})
            return
        console().print(f"trusted the new definition of {', '.join(actions)} (by {actor})")
