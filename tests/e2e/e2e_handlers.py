"""Handlers used by the end-to-end tests (imported by the `aios` subprocess via PYTHONPATH)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from aios.runtime import ActionContext


async def note(ctx: ActionContext) -> dict[str, Any]:
    ctx.publish_metadata("step", ctx.step_id)
    return {"step": ctx.step_id}


def mutate(ctx: ActionContext) -> dict[str, Any]:
    with Path(ctx.env["MARKER"]).open("a") as fh:
        fh.write(f"{ctx.run_id} {ctx.step_id}\n")
    return {"written": True}


async def slow(ctx: ActionContext) -> dict[str, Any]:
    await asyncio.sleep(float(ctx.env.get("SLOW_SECONDS", "60")))
    return {"slept": True}


def write_later(ctx: ActionContext) -> dict[str, Any]:
    """Mark that it started, sleep past its deadline, then change the host (write a file)."""
    Path(ctx.args["started"]).write_text("started")
    time.sleep(float(ctx.args.get("seconds", 6)))
    Path(ctx.args["path"]).write_text("written")
    return {"written": ctx.args["path"]}
