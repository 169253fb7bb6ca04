"""Sync handlers that outlive their deadline (imported by worker processes by reference)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aios.runtime import ActionContext


def write_later(ctx: ActionContext) -> dict[str, Any]:
    """Mark that it started, sleep past the deadline, then change the host (a file)."""
    Path(ctx.args["started"]).write_text("started")
    time.sleep(float(ctx.args.get("seconds", 6)))
    Path(ctx.args["path"]).write_text("written")
    return {"written": ctx.args["path"]}


def publish_and_write(ctx: ActionContext) -> dict[str, Any]:
    """A quick mutating handler: publishes metadata and writes a file."""
    ctx.publish_metadata("pid", "worker")
    Path(ctx.args["path"]).write_text("written")
    return {"ok": True}
