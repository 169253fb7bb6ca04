"""Handlers of the masked-run-records tests: each records the arguments it received in the
file named by the manifest's `RECORD` variable, and never echoes them in its result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aios.runtime import ActionContext, handler


def _record(ctx: ActionContext) -> None:
    with Path(ctx.env["RECORD"]).open("a", encoding="utf-8") as out:
        out.write(json.dumps({"action": ctx.action, "args": ctx.args}) + "\n")


@handler("tmasked.check")
async def check(ctx: ActionContext) -> dict[str, Any]:
    _record(ctx)
    return {"ok": True}


@handler("tmasked.fail")
async def fail(ctx: ActionContext) -> dict[str, Any]:
    _record(ctx)
    # A handler's error that repeats its arguments: common, and it reaches the run record.
    raise ValueError(f"no account for {ctx.args.get('contact')} (note: {ctx.args.get('note')})")


@handler("tmasked.rotate")
async def rotate(ctx: ActionContext) -> dict[str, Any]:
    _record(ctx)
    return {"rotated": True}
