"""`aios runs`: list, show and resume durable runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from aios.cli.common import (
    EnvOpt,
    JsonOpt,
    ManifestOpt,
    console,
    emit_json,
    resolve_options,
    run,
)
from aios.cli.exitcodes import for_run
from aios.cli.render import record_to_json, render_run, render_runs, run_to_json
from aios.errors import ConfigError

if TYPE_CHECKING:
    from aios.approvals.requests import ApprovalRequest
    from aios.runtime.engine import RunResult
    from aios.store.run_usage import AgentEnd, RunUsage
    from aios.store.runs import RunRecord

# The application (gateway, tracing, guardrails) is imported by the commands that run
# something; listing and showing runs needs only the store (`aios runs` starts fast).

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the `runs` command group to `app`."""
    runs_app = typer.Typer(help="Durable runs: list, show, resume.", invoke_without_command=True,
                           no_args_is_help=False)
    app.add_typer(runs_app, name="runs")

    def list_them(ctx: typer.Context, limit: int, status: str | None, json_out: bool) -> None:
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> list[RunRecord]:
            from aios.store.open import open_store
            from aios.store.runs import RunStore

            async with open_store(opts.settings()) as store:
                return await RunStore(store).list_runs(limit, status)

        records = run(go())
        if opts.json:
            emit_json([record_to_json(r) for r in records])
        else:
            render_runs(console(), records)

    @runs_app.callback()
    def list_runs(ctx: typer.Context, limit: int = typer.Option(20, "--limit", "-n", min=1),
                  status: str | None = typer.Option(None, help="Only runs in this state."),
                  json_out: JsonOpt = False) -> None:
        """List recent runs (newest first)."""
        if ctx.invoked_subcommand is None:
            list_them(ctx, limit, status, json_out)

    @runs_app.command("list")
    def list_command(ctx: typer.Context, limit: int = typer.Option(20, "--limit", "-n", min=1),
                     status: str | None = typer.Option(None, help="Only runs in this state."),
                     json_out: JsonOpt = False) -> None:
        """List recent runs (newest first); the same as `aios runs`."""
        list_them(ctx, limit, status, json_out)

    @runs_app.command("show")
    def show(ctx: typer.Context, run_id: str = typer.Argument(..., help="Run id or prefix."),
             json_out: JsonOpt = False) -> None:
        """Show one run: each step's state, result or error, its metadata, its LLM calls' tokens
        and cost, and an agent run's final answer."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> tuple[RunRecord, RunUsage, AgentEnd | None]:
            from aios.store.open import open_store
            from aios.store.run_usage import agent_end, run_usage
            from aios.store.runs import RunStore

            async with open_store(opts.settings()) as store:
                record = await RunStore(store).get_run(run_id)
                end = await agent_end(store, record.id) if record.kind == "agent" else None
                return record, await run_usage(store, record.id), end

        record, usage, end = run(go())
        if opts.json:
            emit_json({**record_to_json(record), "usage": usage.to_json(),
                       **({"agent": end.to_json()} if end is not None else {})})
        else:
            render_run(console(), record, usage, end)

    @runs_app.command("resume")
    def resume(ctx: typer.Context, run_id: str = typer.Argument(..., help="Run id or prefix."),
               manifest: ManifestOpt = None, env: EnvOpt = None, json_out: JsonOpt = False) -> None:
        """Continue a run that stopped part-way; finished steps are not run again."""
        opts = resolve_options(ctx, manifest, env, json_out=json_out)

        async def go() -> tuple[RunResult, list[ApprovalRequest], str]:
            from aios.app import argument_seal, load_manifest, open_runtime, open_store
            from aios.cli.agent import pending_requests
            from aios.runtime.kept_args import restore_options
            from aios.store.runs import RunStore

            settings = opts.settings()
            async with open_store(settings) as store:
                record = await RunStore(store).get_run(run_id)
            path = opts.manifest or (Path(record.manifest_path) if record.manifest_path
                                     else None)
            if path is not None and not path.exists():
                raise ConfigError(f"run {record.id} used manifest {path}, which no longer "
                                  "exists; pass --manifest")
            # The environment is stored masked: its real values come from their seal.
            options = restore_options(record.options, argument_seal(settings), run_id=record.id)
            loaded = load_manifest(path, env=opts.env or options.get("env") or None)
            async with open_runtime(loaded, settings=settings.model_copy(
                    update={"forensic": record.forensic}), env=opts.env,
                    manifest_path=str(path) if path else None) as runtime:
                result = await runtime.resume(record.id)
                return (result, await pending_requests(runtime.runs.store, result),
                        record.status)

        result, requests, was = run(go())
        if opts.json:
            emit_json({**run_to_json(result), "already_finished": was == "succeeded"})
        elif was == "succeeded":
            console().print(f"run {result.run_id} had already finished (succeeded); nothing "
                            "to resume", soft_wrap=True)
        elif result.agent is not None:
            from aios.cli.agent import render_agent_end

            render_agent_end(console(), result, requests, show_answer=True)
        else:
            console().print(f"run {result.run_id} {result.status}")
        code = for_run(result.status)
        if code:
            raise typer.Exit(code)

    @runs_app.command("keygen")
    def keygen(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """Print a new key for AIOS_ARGS_KEY (it encrypts the real values of masked
        arguments that a resume needs); keep it out of the store's host."""
        from aios.security.sealing import generate_key

        key = generate_key()
        if resolve_options(ctx, json_out=json_out).json:
            emit_json({"key": key})
        else:
            typer.echo(key)
