"""The `aios` command: a Typer app assembled from one module per command group.

Start-up is lazy: `aios --help` imports no command module, and `aios runs` imports only the
module that registers `runs`. Each command is listed in `COMMANDS` with the module whose
`register(app)` adds it and the one line `aios --help` shows for it (a test checks the table
against what the modules register). Adding a command is adding its row (and the module).
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from aios.cli.common import EnvOpt, ForensicOpt, JsonOpt, ManifestOpt, Options, fail
from aios.errors import AiosError
from aios.gc_tuning import tune_gc

__all__ = ["COMMANDS", "COMMAND_MODULES", "app", "main"]

#: Command name -> (the module whose `register(app)` adds it, its line in `aios --help`).
COMMANDS: dict[str, tuple[str, str]] = {
    "boot": ("aios.cli.run", "Boot: run the manifest's `boot` sequence and show the host "
             "report."),
    "shutdown": ("aios.cli.run", "Run the manifest's `shutdown` sequence."),
    "run": ("aios.cli.run", "Run any sequence of the manifest by name."),
    "exec": ("aios.cli.run", "Execute one action (AGENT.ACTION) as a run of its own."),
    "metadata": ("aios.cli.run", "Show the metadata the actions published (the latest run "
                 "by default)."),
    "runs": ("aios.cli.runs", "Durable runs: list, show, resume."),
    "agent": ("aios.cli.agent", "Model-driven agents: the model chooses the actions, the "
              "pipeline gates every call."),
    "manifest": ("aios.cli.manifest", "Check manifests and export their JSON Schema."),
    "ask": ("aios.cli.llm", "Ask a model one question through the gateway: answer, model, "
            "tokens, cost."),
    "models": ("aios.cli.llm", "List the configured models: tier, capabilities, prices, "
               "whether the key is set."),
    "reliability": ("aios.cli.reliability", "How per-step success compounds: end-to-end "
                    "odds, required per-step rate, or the rates measured from recorded runs."),
    "breakers": ("aios.cli.reliability", "Circuit breakers shared through the store."),
    "traces": ("aios.cli.observability", "Stored traces: list, show, prune."),
    "metrics": ("aios.cli.observability", "Calls, tokens, cost, error rate and latency "
                "percentiles from the stored spans."),
    "approvals": ("aios.cli.approvals", "The approval queue: list, show, approve, reject."),
    "audit": ("aios.cli.approvals", "The hash-chained audit trail: verify, export."),
    "users": ("aios.cli.users", "Approvers: users, roles and API tokens."),
    "keys": ("aios.cli.keys", "API keys of the OpenAI-compatible endpoint: create (limits, "
             "budget, models), list (with spend), revoke."),
    "eval": ("aios.cli.evaluation", "Evaluate agents and models: suites, A/B comparisons, "
             "human labels, datasets from traces."),
    "discover": ("aios.cli.discovery", "Autonomous discovery: explore sources for a mission "
                 "and build a knowledge graph."),
    "scan": ("aios.cli.security", "Find PII, secrets and prompt injection in a file (or a "
             "text, with --text)."),
    "redteam": ("aios.cli.security", "Run the attack catalogue against a target, with "
                "guardrails off and/or on."),
    "router": ("aios.cli.routing", "The model router: train and inspect its classifier."),
    "prompt": ("aios.cli.prompt", "Run a natural-language request: a model-driven agent's "
               "loop plans it when the manifest has one, else clauses are matched to actions."),
    "deploy": ("aios.cli.scale", "Deployment: migrate the store before a rollout, check the "
               "executor and its workers."),
    "serve": ("aios.cli.serve", "Serve the REST API (OpenAPI at /docs), the dashboard (/), "
              "Prometheus /metrics and /healthz; runs started here execute in this process's "
              "runtime, and waiting runs resume as soon as their approvals arrive."),
    "mcp": ("aios.cli.mcp", "MCP gateway: serve actions as MCP tools, proxy upstream MCP "
            "servers behind the gates."),
}

#: Global options: accepted anywhere on the command line (moved before the command), with
#: whether each takes a value.
GLOBAL_OPTIONS = {"--manifest": True, "-m": True, "--env": True, "-e": True,
                  "--forensic": False, "--json": False, "--verbose": False, "-v": False}


def hoist_global_options(args: list[str]) -> list[str]:
    """`args` with the global options moved in front of the command, as the root group
    parses them (`aios traces show X --forensic` == `aios --forensic traces show X`).

    Everything after `--` is left as it is.
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            takes_value = GLOBAL_OPTIONS[name] and "=" not in arg
            front.extend(args[i:i + 2] if takes_value else [arg])
            i += 2 if takes_value else 1
            continue
        rest.append(arg)
        i += 1
    return front + rest


def _help_when_bare(group: Any) -> None:
    """A command group given no subcommand shows its help and exits 0 (not 2), recursively."""
    if not hasattr(group, "commands"):
        return
    if group.no_args_is_help:
        parse = group.parse_args

        def parse_args(ctx: Any, args: list[str]) -> list[str]:
            if not args:
                text = ctx.get_help()  # Rich help prints itself and returns ""
                if text:
                    typer.echo(text)
                ctx.exit(0)
            return parse(ctx, args)  # type: ignore[no-any-return]

        group.parse_args = parse_args
    for command in group.commands.values():
        _help_when_bare(command)


#: Modules that add commands: each has `register(app: typer.Typer) -> None`.
COMMAND_MODULES = tuple(dict.fromkeys(module for module, _ in COMMANDS.values()))


class LazyGroup(TyperGroup):
    """The root group: imports a command's module only when that command runs.

    Listing commands (`aios --help`) uses `COMMANDS`' help lines and imports nothing.
    """

    _listing = False

    # Typer vendors click (`typer._click`): contexts and commands are typed as Any here
    # rather than through that private module.

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, line = COMMANDS[cmd_name]
            if self._listing:  # help for the list: the table's line, no import
                return TyperCommand(cmd_name, help=line, short_help=line)
            self._load(module)
        return self.commands.get(cmd_name)

    def _load(self, module: str) -> None:
        holder = typer.Typer()
        importlib.import_module(module).register(holder)
        group = typer.main.get_group(holder)
        for name, command in group.commands.items():
            _help_when_bare(command)
            self.add_command(command, name)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))  # type: ignore[no-any-return]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def load_all(self) -> None:
        """Import every command module (for checks that need every command)."""
        for module in COMMAND_MODULES:
            self._load(module)


app = typer.Typer(
    name="aios",
    help="Ai:oS: run AI agents that take real actions, traced, costed and gated.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LazyGroup,
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


def main() -> None:
    """Console-script entry point."""
    # The collector stops walking what start-up made, and runs less often (aios.gc_tuning:
    # a third of a 1,000-step fan-out's CPU otherwise).
    tune_gc()
    try:
        app()
    except SystemExit as exc:
        from aios.threads import exit_process

        # A thread left running (a local model generating when Ctrl-C came, a handler past
        # its deadline) never holds up the exit, nor crashes it during teardown.
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
        exit_process(code)


