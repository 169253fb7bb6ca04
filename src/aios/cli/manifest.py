"""`aios manifest validate|schema`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from aios.app import load_manifest
from aios.cli.common import EnvOpt, JsonOpt, console, emit_json, fail, resolve_options
from aios.errors import ManifestError
from aios.manifest import json_schema
from aios.manifest.reference import markdown_reference

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the `manifest` command group to `app`."""
    manifest_app = typer.Typer(help="Check manifests and export their JSON Schema.",
                               no_args_is_help=True)
    app.add_typer(manifest_app, name="manifest")

    @manifest_app.command("validate")
    def validate(ctx: typer.Context,
                 file: Path | None = typer.Argument(None, help="Manifest file (default: the "
                                                    "packaged one)."),
                 env: EnvOpt = None, json_out: JsonOpt = False,
                 import_modules: bool = typer.Option(
                     False, "--import", help="Import the modules `module:function` handlers "
                     "name (runs their code). By default they are found without importing, "
                     "so validating an untrusted manifest executes nothing.")) -> None:
        """Validate a manifest: schema, cross-references, cycles, handlers (exit 2 if bad)."""
        opts = resolve_options(ctx, file, env, json_out=json_out)
        try:
            manifest = load_manifest(opts.manifest, env=opts.env,
                                     import_handlers=import_modules)
        except ManifestError as exc:
            if opts.json:
                emit_json({"valid": False, "issues": [
                    {"file": i.file, "line": i.line, "path": i.path, "message": i.message}
                    for i in exc.issues]})
                raise typer.Exit(2) from None
            fail(str(exc), 2)
        actions = manifest.action_names()
        if opts.json:
            emit_json({"valid": True, "name": manifest.name, "actions": actions,
                       "sequences": sorted(manifest.sequences)})
            return
        out = console()
        out.print(f"[green]valid[/]: {manifest.name}: {len(manifest.agents)} agents, "
                  f"{len(actions)} actions, sequences: {', '.join(sorted(manifest.sequences))}")
        for name in actions:
            spec = manifest.action(name)
            flag = " [yellow]mutates[/]" if spec.mutates else ""
            out.print(f"  {name}  ({spec.criticality.value}){flag}")

    @manifest_app.command("schema")
    def schema(ctx: typer.Context, markdown: bool = typer.Option(
            False, "--markdown", help="Print the reference as Markdown tables instead."),
               json_out: JsonOpt = False) -> None:
        """Print the manifest's JSON Schema (for editors and CI checks)."""
        if markdown and resolve_options(ctx, json_out=json_out).json:
            fail("--markdown prints Markdown, not JSON: give one of --markdown and --json")
        if markdown:
            sys.stdout.write(markdown_reference(json_schema()))
            return
        emit_json(json_schema())
