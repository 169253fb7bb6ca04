"""`aios boot`, `aios shutdown`, `aios exec`, `aios metadata`: running things."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.markup import escape

from aios.app import load_manifest, open_runtime, open_store
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
from aios.cli.exitcodes import for_run
from aios.cli.render import LiveProgress, render_report, run_to_json
from aios.errors import ConfigError
from aios.runtime.engine import RunResult
from aios.store.runs import RunStore

__all__ = ["register"]

async def _run_sequence(opts: Options, name: str) -> RunResult:
    manifest = load_manifest(opts.manifest, env=opts.env)
    settings = opts.settings()
    out = console(opts.json)
    progress = None if opts.json else LiveProgress(out, f"{name} ({manifest.name})")
    listeners = [progress] if progress else []
    async with open_runtime(manifest, settings=settings, env=opts.env,
                            listeners=listeners,
                            manifest_path=str(opts.manifest) if opts.manifest else None
                            ) as runtime:
        if progress is None:
            return await runtime.run(name)
        with progress:
            return await runtime.run(name)


def _finish(opts: Options, result: RunResult, report: bool) -> None:
    if opts.json:
        emit_json(run_to_json(result))
    else:
        out = console()
        if report:
            out.print()
            render_report(out, result)
        style = {"succeeded": "green", "waiting": "yellow"}.get(result.status, "red")
        out.print(f"run [bold]{result.run_id}[/] [{style}]{result.status}[/]"
                  + (f": {escape(result.error)}" if result.error else ""), markup=True)
        if result.status == "waiting":
            # Whole lines, never cut: the request ids in them are what the user types next.
            for step in result.steps.values():
                if step.status == "waiting" and step.error:
                    out.print(f"  {escape(step.error)}", soft_wrap=True)
            out.print("steps wait for approval: `aios approvals list`, then "
                      f"`aios runs resume {result.run_id[:12]}` once they are decided",
                      soft_wrap=True)
        out.print(f"details: aios runs show {result.run_id[:12]}")
    # A run waiting for people is not a failure: it resumes once they decide.
    code = for_run(result.status)
    if code:
        raise typer.Exit(code)


def _parse_args(pairs: list[str] | None, args_json: str | None) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if args_json:
        try:
            loaded = json.loads(args_json)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--args is not valid JSON ({exc.msg} at column {exc.colno}); "
                              "example: --args '{\"pid\": 1234}'") from exc
        if not isinstance(loaded, dict):
            raise ConfigError("--args must be a JSON object, for example --args '{\"pid\": 1}'")
        args.update(loaded)
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--arg {pair!r} is not KEY=VALUE; for example --arg pid=1234")
        try:
            args[key] = json.loads(raw)
        except json.JSONDecodeError:
            args[key] = raw  # a bare word is a string
    return args


def register(app: typer.Typer) -> None:
    """Add the commands of this module to `app`."""

    @app.command()
    def boot(ctx: typer.Context, manifest: ManifestOpt = None, env: EnvOpt = None,
             forensic: ForensicOpt = False, json_out: JsonOpt = False,
             sequence: str = typer.Option("boot", help="The sequence to run.")) -> None:
        """Boot: run the manifest's `boot` sequence and show the host report."""
        opts = resolve_options(ctx, manifest, env, forensic, json_out)
        _finish(opts, run(_run_sequence(opts, sequence)), report=True)

    @app.command()
    def shutdown(ctx: typer.Context, manifest: ManifestOpt = None, env: EnvOpt = None,
                 forensic: ForensicOpt = False, json_out: JsonOpt = False) -> None:
        """Run the manifest's `shutdown` sequence."""
        opts = resolve_options(ctx, manifest, env, forensic, json_out)
        _finish(opts, run(_run_sequence(opts, "shutdown")), report=True)

    @app.command("run")
    def run_sequence(ctx: typer.Context, sequence: str, manifest: ManifestOpt = None,
                     env: EnvOpt = None, forensic: ForensicOpt = False,
                     json_out: JsonOpt = False) -> None:
        """Run any sequence of the manifest by name."""
        opts = resolve_options(ctx, manifest, env, forensic, json_out)
        _finish(opts, run(_run_sequence(opts, sequence)), report=False)

    @app.command("exec")
    def exec_action(
        ctx: typer.Context,
        action: str = typer.Argument(..., help="The action, as AGENT.ACTION."),
        arg: list[str] | None = typer.Option(None, "--arg", "-a",
                                             help="An argument KEY=VALUE (VALUE as JSON)."),
        args_json: str | None = typer.Option(None, "--args", help="All arguments as JSON."),
        manifest: ManifestOpt = None, env: EnvOpt = None, forensic: ForensicOpt = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Execute one action (AGENT.ACTION) as a run of its own."""
        opts = resolve_options(ctx, manifest, env, forensic, json_out)

        async def go() -> RunResult:
            args = _parse_args(arg, args_json)
            loaded = load_manifest(opts.manifest, env=opts.env)
            async with open_runtime(loaded, settings=opts.settings(),
                                    env=opts.env, manifest_path=str(opts.manifest)
                                    if opts.manifest else None) as runtime:
                return await runtime.execute(action, args)

        result = run(go())
        if not opts.json and result.steps:
            step = next(iter(result.steps.values()))
            out = console()
            out.print(json.dumps(step.result if step.error is None else step.error,
                                 indent=2, default=str), markup=False)
        _finish(opts, result, report=False)

    @app.command()
    def metadata(ctx: typer.Context, run_id: str | None = typer.Argument(
                     None, help="A run id (default: the latest run that published any)."),
                 json_out: JsonOpt = False) -> None:
        """Show the metadata the actions published (the latest run by default)."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> dict[str, dict[str, Any]]:
            async with open_store(opts.settings()) as store:
                runs = RunStore(store)
                if run_id:
                    return (await runs.get_run(run_id)).metadata
                return await runs.latest_metadata()

        data = run(go())
        if opts.json:
            emit_json(data)
            return
        out = console()
        if not data:
            out.print("no metadata yet; run `aios boot` first")
        for action, values in data.items():
            out.rule(action)
            out.print_json(json.dumps(values, default=str))
