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
    from aios.app import load_manifest, open_runtime
    from aios.mcp.tools import served_tools

    manifest = load_manifest(opts.manifest, env=opts.env)
    async with open_runtime(manifest, settings=opts.settings(), env=opts.env) as runtime:
        proxied = set(runtime.manifest.mcp_servers)
        rows = []
        for name, tool in served_tools(runtime.manifest, agent=agent,
                                       forensic=runtime.forensic).items():
            server = tool.action.partition(".")[0]
            rows.append({"tool": name, "action": tool.action,
                         "source": f"proxied from {server}" if server in proxied else "served",
                         "mutates": tool.spec.mutates,
                         "criticality": tool.spec.criticality.value,
                         "gate": tool.gate.describe()})
        return rows


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
            table.add_row(row["tool"], row["action"], row["source"],
                          "yes" if row["mutates"] else "no", row["gate"])
        console().print(table)
