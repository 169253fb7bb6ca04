"""`aios reliability` (the calculator) and `aios breakers` (circuit breaker states)."""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table

from aios.app import load_manifest, open_store
from aios.cli.common import JsonOpt, ManifestOpt, console, emit_json, fail, resolve_options, run
from aios.errors import AiosError, ConfigError
from aios.observability.window import parse_since
from aios.reliability.calculator import (
    MeasuredReport,
    end_to_end,
    measure,
    required_per_step,
)
from aios.reliability.store import BreakerRow, BreakerStore

__all__ = ["parse_probability", "register"]



def parse_probability(text: str, option: str) -> float:
    """`0.95` or `95%` -> 0.95.

    Raises:
        ConfigError: not a number, or outside [0, 1].
    """
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not a probability; write 0.95 or 95%") \
            from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{option} {text!r} is outside 0..1 (0%..100%); write 0.95 or 95%")
    return value


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def _render_measured(report: MeasuredReport) -> None:
    out = console()
    window = f"since {report.since:%Y-%m-%d %H:%M} UTC" if report.since else "all time"
    if not report.actions:
        out.print(f"no finished steps recorded ({window}); run something first "
                  "(`aios boot`, `aios run SEQUENCE`)")
        return
    level = f"{report.confidence * 100:g}%"
    table = Table(title=f"observed success per action ({window}; {level} {report.method} "
                        "interval)")
    for column in ("action", "ok", "failed", "rate", "interval"):
        table.add_column(column, justify="left" if column == "action" else "right")
    for rate in sorted(report.actions.values(), key=lambda r: r.rate):
        table.add_row(rate.action, str(rate.succeeded), str(rate.failed), _pct(rate.rate),
                      f"{_pct(rate.low)} - {_pct(rate.high)}")
    out.print(table)
    seqs = Table(title="predicted end-to-end success per sequence (product over critical steps)")
    for column in ("sequence", "steps", "success", "range", "weakest steps"):
        seqs.add_column(column)
    for fc in report.sequences:
        rng = "n/a" if fc.low is None else f"{_pct(fc.low)} - {_pct(fc.high)}"
        note = f" (no data: {', '.join(fc.unmeasured)})" if fc.unmeasured else ""
        seqs.add_row(fc.sequence, str(len(fc.steps)), _pct(fc.success) + note, rng,
                     ", ".join(fc.weakest) or "-")
    out.print(seqs)


def _row_json(row: BreakerRow, now: float) -> dict[str, Any]:
    return {"name": row.name, "state": row.state, "failure_rate": row.failure_rate,
            "calls": row.calls, "transitions": row.transitions, "reason": row.reason,
            "changed_by": row.changed_by,
            "changed_at": datetime.fromtimestamp(row.changed_at, UTC).isoformat(),
            "opened_at": (datetime.fromtimestamp(row.opened_at, UTC).isoformat()
                          if row.opened_at is not None else None),
            "open_for_s": (now - row.opened_at) if row.state == "open" and row.opened_at
            else None}


def register(app: typer.Typer) -> None:
    """Add `reliability` and `breakers` to `app`."""

    @app.command("reliability")
    def reliability(
        ctx: typer.Context,
        steps: int | None = typer.Option(None, "--steps", "-n", min=1,
                                         help="Steps in the sequence."),
        per_step: str | None = typer.Option(None, "--per-step",
                                            help="Success rate of each step: 0.95 or 95%."),
        target: str | None = typer.Option(None, "--target",
                                          help="Wanted end-to-end success: 0.9 or 90%."),
        measured: bool = typer.Option(False, "--measured",
                                      help="Use the success rates recorded in the store."),
        since: str | None = typer.Option(None, "--since",
                                         help="With --measured: only this recent (7d, 24h)."),
        confidence: str = typer.Option("0.95", "--confidence",
                                       help="Confidence level of the intervals."),
        exact: bool = typer.Option(False, "--exact",
                                   help="Clopper-Pearson intervals instead of Wilson."),
        manifest: ManifestOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """How per-step success compounds: end-to-end odds, required per-step rate, or the
        rates measured from recorded runs."""
        opts = resolve_options(ctx, manifest, json_out=json_out)

        def compute() -> dict[str, Any]:
            if measured:
                return {}
            if steps is None:
                raise ConfigError("give --steps with --per-step or --target, or use --measured "
                                  "(example: aios reliability --steps 20 --per-step 0.95)")
            if per_step is not None:
                p = parse_probability(per_step, "--per-step")
                return {"steps": steps, "per_step": p, "end_to_end": end_to_end(p, steps)}
            if target is not None:
                t = parse_probability(target, "--target")
                return {"steps": steps, "target": t,
                        "per_step_needed": required_per_step(t, steps)}
            raise ConfigError("give --per-step (end-to-end odds) or --target (the per-step rate "
                              "needed) with --steps")

        async def go_measured() -> MeasuredReport:
            level = parse_probability(confidence, "--confidence")
            loaded = load_manifest(opts.manifest, env=opts.env)
            start = parse_since(since) if since else None
            async with open_store(opts.settings()) as store:
                return await measure(store, loaded.sequences, since=start, confidence=level,
                                     method="exact" if exact else "wilson")

        if measured:
            report = run(go_measured())
            if opts.json:
                emit_json(report.to_json())
            else:
                _render_measured(report)
            return
        try:
            result = compute()
        except AiosError as exc:
            fail(str(exc), exc.exit_code)
        if opts.json:
            emit_json(result)
            return
        out = console()
        if "end_to_end" in result:
            out.print(f"{result['steps']} steps at {_pct(result['per_step'], 2)} each: "
                      f"[bold]{_pct(result['end_to_end'])}[/] end to end")
        else:
            out.print(f"to succeed {_pct(result['target'], 2)} end to end over "
                      f"{result['steps']} steps, each step needs "
                      f"[bold]{_pct(result['per_step_needed'], 2)}[/]")

    breakers_app = typer.Typer(help="Circuit breakers shared through the store.",
                               invoke_without_command=True, no_args_is_help=False)
    app.add_typer(breakers_app, name="breakers")

    @breakers_app.callback()
    def list_breakers(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """List every circuit breaker's state (closed, open, half_open) and why."""
        if ctx.invoked_subcommand is not None:
            return
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> list[BreakerRow]:
            async with open_store(opts.settings()) as store:
                return await BreakerStore(store).load()

        rows = run(go())
        now = time.time()
        if opts.json:
            emit_json([_row_json(row, now) for row in rows])
            return
        out = console()
        if not rows:
            out.print("no circuit breaker has changed state yet (all closed)")
            return
        table = Table(title="circuit breakers")
        table.add_column("breaker", no_wrap=True)
        table.add_column("state", no_wrap=True)
        for column in ("since", "failure rate", "by", "reason"):
            table.add_column(column)
        colours = {"open": "red", "half_open": "yellow", "closed": "green"}
        for row in rows:
            changed = datetime.fromtimestamp(row.changed_at, UTC)
            table.add_row(row.name, f"[{colours.get(row.state, 'white')}]{row.state}[/]",
                          f"{changed:%Y-%m-%d %H:%M:%S}", _pct(row.failure_rate),
                          row.changed_by, row.reason)
        out.print(table)

    @breakers_app.command("reset")
    def reset(ctx: typer.Context,
              name: str | None = typer.Argument(None, help="The breaker (see `aios breakers`)."),
              all_: bool = typer.Option(False, "--all", help="Close every breaker."),
              json_out: JsonOpt = False) -> None:
        """Close a breaker for every process sharing the store (each adopts it within ~1 s)."""
        opts = resolve_options(ctx, json_out=json_out)
        if name is None and not all_:
            fail("name a breaker (`aios breakers` lists them) or pass --all", 2)

        async def go() -> list[str]:
            async with open_store(opts.settings()) as store:
                closed = await BreakerStore(store).reset(
                    None if all_ else name, now=time.time(),
                    by=f"aios breakers reset ({socket.gethostname()}:{os.getpid()})")
            if name is not None and not all_ and not closed:
                raise ConfigError(f"no breaker named {name!r}; `aios breakers` lists them")
            return closed

        closed = run(go())
        if opts.json:
            emit_json({"closed": closed})
        else:
            console().print(f"closed {len(closed)} breaker(s): {', '.join(closed) or '-'}")
