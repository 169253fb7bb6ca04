"""What every command shares: the global options, error handling, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from aios.cli.exitcodes import INTERRUPTED, USAGE
from aios.errors import AiosError, ConfigError

if TYPE_CHECKING:
    from aios.settings import Settings
    from aios.store.engine import Store

# Settings (pydantic) and asyncio are imported where they are used: `aios --help` needs
# neither (start-up, issue 23 item 5).

__all__ = ["EnvOpt", "ForensicOpt", "JsonOpt", "ManifestOpt", "Options", "emit_json",
           "fail", "fits", "parse_env", "resolve_options", "run", "with_store"]

T = TypeVar("T")

ManifestOpt = Annotated[Path | None, typer.Option(
    "--manifest", "-m", help="Manifest file (.yaml/.json/.toml); default: the packaged one.",
    envvar="AIOS_MANIFEST")]
EnvOpt = Annotated[list[str] | None, typer.Option(
    "--env", "-e", help="Override a manifest env value: KEY=VALUE (repeatable).")]
ForensicOpt = Annotated[bool, typer.Option(
    "--forensic", help="Read-only mode: mutating actions are reported, never run.",
    envvar="AIOS_FORENSIC")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@dataclass
class Options:
    """The global options of one invocation (also accepted before the command)."""

    manifest: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    forensic: bool = False
    json: bool = False

    def merged(self, manifest: Path | None = None, env: list[str] | None = None,
               forensic: bool = False, json_out: bool = False) -> Options:
        """These options with a command's own options applied on top."""
        return Options(manifest=manifest or self.manifest,
                       env={**self.env, **parse_env(env)},
                       forensic=forensic or self.forensic, json=json_out or self.json)

    def settings(self) -> Settings:
        """Settings from the environment, with --forensic applied.

        Raises:
            ConfigError: an AIOS_* variable has a value that does not fit its setting.
        """
        from pydantic import ValidationError

        from aios.settings import Settings

        try:
            settings = Settings()
        except ValidationError as exc:
            problems = "; ".join(_setting_problem(err) for err in exc.errors())
            raise ConfigError(f"bad environment setting: {problems}") from None
        if self.forensic and not settings.forensic:
            settings = settings.model_copy(update={"forensic": True})
        return settings


#: What to write instead, by the kind of pydantic error a setting's value raised.
_SETTING_HINTS = {
    "bool_parsing": "use 1 or 0 (or true/false, yes/no, on/off)",
    "int_parsing": "use a whole number",
    "int_from_float": "use a whole number",
    "float_parsing": "use a number",
}


def _setting_problem(err: Any) -> str:
    """`AIOS_NAME: 'value' is not ...; use ...` for one validation error of the settings."""
    name = "AIOS_" + "_".join(str(p) for p in err["loc"]).upper()
    hint = _SETTING_HINTS.get(err["type"])
    if hint is None:  # the value itself is not repeated: it may be a URL with a password
        return f"{name}: {err['msg']}"
    return f"{name}: {err['msg']} (got {err['input']!r}); {hint}"


def parse_env(pairs: list[str] | None) -> dict[str, str]:
    """`["A=1", "B=x=y"]` -> `{"A": "1", "B": "x=y"}`.

    Raises:
        ConfigError: an entry has no `=` or an empty key.
    """
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--env {pair!r} is not KEY=VALUE; write it as --env {pair or 'KEY'}"
                              "=VALUE")
        out[key.strip()] = value
    return out


def console(json_out: bool = False) -> Console:
    """The console for human output (stderr when stdout carries JSON)."""
    return Console(stderr=json_out, highlight=False)


def fits(out: Console, renderable: Any) -> bool:
    """Whether `renderable` (a table) shows whole in `out`'s width, nothing cut or wrapped."""
    return out.measure(renderable, options=out.options.update_width(10_000)).maximum \
        <= out.width


def fail(message: str, code: int = USAGE) -> NoReturn:
    """Print an error the way every command does, and exit with `code`."""
    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}",
                                                soft_wrap=True)
    raise typer.Exit(code)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; AiosErrors become a message and their exit code."""
    import asyncio

    try:
        return asyncio.run(coro)
    except AiosError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        Console(stderr=True).print("[yellow]interrupted[/]; the run is recorded as cancelled")
        raise typer.Exit(INTERRUPTED) from None


async def with_store(settings: Settings, fn: Callable[[Store], Awaitable[T]]) -> T:
    """`await fn(store)` on the store `settings` names, opened and closed around it."""
    from aios.store.open import open_store

    async with open_store(settings) as store:
        return await fn(store)


def emit_json(value: Any) -> None:
    """Write `value` as JSON on stdout."""
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def resolve_options(ctx: typer.Context, manifest: Path | None = None,
                    env: list[str] | None = None, forensic: bool = False,
                    json_out: bool = False) -> Options:
    """The global options (given before the command) merged with the command's own."""
    base = ctx.obj if isinstance(ctx.obj, Options) else Options()
    try:
        return base.merged(manifest, env, forensic, json_out)
    except AiosError as exc:
        fail(str(exc), exc.exit_code)
