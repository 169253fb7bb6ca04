"""Handlers of the agent-loop tests: a read-only probe and a mutating cleanup that counts.

The cleanup appends one line to the file named by `env.COUNTER` each time it really runs,
so a test can count side effects across processes (and SIGKILLs). `probe` (read-only) and
`preview_once` (a `preview:` handler) SIGKILL their own process the first time they run when
`env.KILL_ONCE` names a file that does not exist yet: a kill at a known point of the loop.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from aios.runtime import ActionContext


def disk_usage(ctx: ActionContext) -> dict[str, Any]:
    return {"path": ctx.args.get("path", "/"), "used_pct": 91}


def cleanup(ctx: ActionContext) -> dict[str, Any]:
    # The side effect first, then the marker a test waits for before it SIGKILLs the process.
    with Path(ctx.env["COUNTER"]).open("a") as fh:
        fh.write(f"{ctx.run_id} {ctx.step_id} {ctx.args.get('path')}\n")
    started = ctx.env.get("STARTED")
    if started:
        Path(started).write_text(ctx.run_id)
    time.sleep(float(ctx.env.get("CLEANUP_SECONDS", "0")))
    release = ctx.env.get("RELEASE")  # held until the test creates this file
    deadline = time.monotonic() + 90
    while release and not Path(release).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"freed_mb": 120, "path": ctx.args.get("path")}


def restart(ctx: ActionContext) -> dict[str, Any]:
    with Path(ctx.env["COUNTER"]).open("a") as fh:
        fh.write(f"{ctx.run_id} {ctx.step_id} restart {ctx.args.get('service')}\n")
    return {"restarted": ctx.args.get("service")}


def bare(ctx: ActionContext) -> dict[str, Any]:
    return {"args": dict(ctx.args)}


def _kill_once(ctx: ActionContext) -> None:
    marker = ctx.env.get("KILL_ONCE")
    if marker and not Path(marker).exists():
        Path(marker).write_text(ctx.run_id)
        os.kill(os.getpid(), signal.SIGKILL)


def probe(ctx: ActionContext) -> dict[str, Any]:
    # Read-only: counted in `env.PROBES` (running again after a kill is allowed, not hidden).
    with Path(ctx.env["PROBES"]).open("a") as fh:
        fh.write(f"{ctx.run_id} {ctx.step_id}\n")
    _kill_once(ctx)
    return {"path": ctx.args.get("path", "/"), "used_pct": 91}


def preview_once(ctx: ActionContext) -> dict[str, Any]:
    _kill_once(ctx)
    return {"would_delete": f"{ctx.args.get('path')}/*.tmp"}
