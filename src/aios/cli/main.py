"""The `aios` command: a Typer app assembled from one module per command group."""

from __future__ import annotations

import importlib
import logging

import typer

from aios.cli.common import EnvOpt, ForensicOpt, JsonOpt, ManifestOpt, Options, fail
from aios.errors import AiosError
from aios.gc_tuning import tune_gc

__all__ = ["app", "main"]

#: Modules that add commands: each has `register(app: typer.Typer) -> None`.
COMMAND_MODULES = (
    "aios.cli.run",
    "aios.cli.runs",
    "aios.cli.agent",
    "aios.cli.manifest",
    "aios.cli.llm",
    "aios.cli.reliability",
    "aios.cli.observability",
    "aios.cli.approvals",
    "aios.cli.evaluation",
    "aios.cli.discovery",
    "aios.cli.security",
    "aios.cli.routing",
    "aios.cli.scale",
    "aios.cli.serve",
    "aios.cli.mcp",
)

app = typer.Typer(
    name="aios",
    help="Ai:oS: run AI agents that take real actions, traced, costed and gated.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global(ctx: typer.Context, manifest: ManifestOpt = None, env: EnvOpt = None,
            forensic: ForensicOpt = False, json_out: JsonOpt = False,
            verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug output.")
            ) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        ctx.obj = Options().merged(manifest, env, forensic, json_out)
    except AiosError as exc:
        fail(str(exc), exc.exit_code)


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main() -> None:
    """Console-script entry point."""
    # The command modules are imported: the collector stops walking what start-up made, and
    # runs less often (aios.gc_tuning: a third of a 1,000-step fan-out's CPU otherwise).
    tune_gc()
    app()
