"""`aios deploy`: prepare a deployment (migrate the store once) and check where actions run."""

from __future__ import annotations

from typing import Any

import typer
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from aios.app import open_store
from aios.cli.common import JsonOpt, console, emit_json, resolve_options, run
from aios.runtime.executors import build_executor
from aios.store.engine import redact_url

__all__ = ["register"]


def _heads(connection: Connection) -> list[str]:
    return sorted(MigrationContext.configure(connection).get_current_heads())


def _print(data: dict[str, Any]) -> None:
    out = console()
    for key, value in data.items():
        out.print(f"[bold]{key}[/]: {value}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the `deploy` command group to `app`."""
    deploy = typer.Typer(help="Deployment: migrate the store before a rollout, check the "
                              "executor and its workers.", no_args_is_help=True)
    app.add_typer(deploy, name="deploy")

    @deploy.command("prepare")
    def prepare(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """Apply the store's migrations and show the schema revisions.

        Run it once before starting (or upgrading) servers, so that several replicas never
        migrate the same database at the same time.
        """
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> dict[str, Any]:
            settings = opts.settings()
            async with open_store(settings) as store, store.engine.connect() as conn:
                heads = await conn.run_sync(_heads)
            return {"store": redact_url(store.url), "dialect": store.dialect,
                    "revisions": heads, "executor": settings.executor}

        data = run(go())
        if opts.json:
            emit_json(data)
        else:
            _print(data)

    @deploy.command("executor")
    def executor(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """Show where actions run: this process, or the Ray cluster's live nodes and CPUs."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> dict[str, Any]:
            settings = opts.settings()
            return build_executor(settings.executor, settings).describe()

        data = run(go())
        if opts.json:
            emit_json(data)
        else:
            _print(data)
