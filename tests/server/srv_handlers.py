"""Handlers of the server tests' manifest (imported by `module:function` references)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aios.runtime import ActionContext


async def probe(ctx: ActionContext) -> dict[str, Any]:
    """A quick read-only step that publishes what it saw."""
    ctx.publish_metadata("seen", ctx.step_id)
    return {"step": ctx.step_id}


def write(ctx: ActionContext) -> dict[str, Any]:
    """The mutating step: appends one line to the marker file."""
    with Path(ctx.env["MARKER"]).open("a") as fh:
        fh.write(f"{ctx.run_id} {ctx.step_id} {ctx.args.get('note', '')}\n")
    return {"written": True}


async def slow(ctx: ActionContext) -> dict[str, Any]:
    """A step that takes a while (cancel tests)."""
    await asyncio.sleep(float(ctx.env.get("SLOW_SECONDS", "30")))
    return {"slept": True}


def flaky(ctx: ActionContext) -> dict[str, Any]:
    """Fails while the FLAKY file exists (resume tests)."""
    if Path(ctx.env["FLAKY"]).exists():
        raise RuntimeError("the flaky file is still there")
    return {"ok": True}
