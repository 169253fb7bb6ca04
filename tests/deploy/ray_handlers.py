"""Handlers the Ray executor tests run on worker processes (imported there by name).

Side effects the tests count (process ids, executions) go to files named in the arguments,
because the worker is another process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from aios.runtime import ActionContext


def fan_work(ctx: ActionContext) -> dict[str, Any]:
    """A small piece of work; publishes its square so the join can count them."""
    i = int(ctx.args["i"])
    ctx.publish_metadata(f"n{i}", i * i)
    return {"i": i, "square": i * i, "pid": os.getpid()}


async def fan_join(ctx: ActionContext) -> dict[str, Any]:
    """Counts what the fan-out published (an async handler, run on the worker)."""
    published = ctx.run_metadata().get("fan.work", {})
    return {"count": len(published), "total": sum(published.values()), "pid": os.getpid()}


def slow_probe(ctx: ActionContext) -> dict[str, Any]:
    """Read-only and slow: records its pid (one line per attempt), sleeps, then writes `done`."""
    with Path(ctx.args["pids"]).open("a") as out:
        out.write(f"{os.getpid()}\n")
    time.sleep(float(ctx.args.get("seconds", 3)))
    if ctx.args.get("done"):
        Path(ctx.args["done"]).write_text("finished")
    return {"pid": os.getpid()}


def quick_probe(ctx: ActionContext) -> dict[str, Any]:
    """Read-only and quick."""
    return {"n": ctx.args.get("n"), "pid": os.getpid()}


def change_host(ctx: ActionContext) -> dict[str, Any]:
    """Mutating: counts each execution in a marker file, then takes a while to finish."""
    with Path(ctx.args["marker"]).open("a") as out:
        out.write(f"{os.getpid()}\n")
    time.sleep(float(ctx.args.get("seconds", 30)))
    return {"changed": True}


def publish_then_fail(ctx: ActionContext) -> None:
    """Publishes a value, then raises."""
    ctx.publish_metadata("before", "published on the worker")
    raise ValueError("the disk is on fire")


def where_am_i(ctx: ActionContext) -> dict[str, Any]:
    """Reports the process it ran in and what it was handed."""
    return {"pid": os.getpid(), "forensic": ctx.forensic, "env": dict(ctx.env),
            "attempt": ctx.attempt, "step": ctx.step_id, "run": ctx.run_id}


async def ask_model(ctx: ActionContext) -> str:
    """Uses the model gateway."""
    reply = await ctx.llm.complete("hello")
    return str(reply)
