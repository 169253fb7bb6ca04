"""Start or resume a run whose runtime includes the ApprovalLayer (the headline test's process).

    python run_driver.py start MANIFEST SEQUENCE
    python run_driver.py resume MANIFEST RUN_ID

The store comes from the environment (AIOS_HOME / AIOS_DATABASE_URL), as for `aios`. The
pipeline is Forensic -> Approval -> Idempotency -> Timeout, as `open_runtime` builds it once
the approval layer is wired in. Prints the run's id and status as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from aios.app import load_manifest
from aios.approvals import approval_layers
from aios.runtime import (
    ActionContext,
    ForensicLayer,
    HandlerRegistry,
    IdempotencyLayer,
    Runtime,
    TimeoutLayer,
    handler,
)
from aios.settings import Settings
from aios.store import RunStore, Store


@handler("headline.append")
def append(ctx: ActionContext) -> dict[str, Any]:
    """The critical mutating action: append one line to the marker file."""
    with Path(ctx.env["MARKER"]).open("a", encoding="utf-8") as fh:
        fh.write(f"{ctx.run_id} {ctx.args.get('line', '')}\n")
    return {"appended": ctx.args.get("line", "")}


@handler("headline.check")
def check(ctx: ActionContext) -> dict[str, Any]:
    """A read-only step before it."""
    return {"ok": True}


async def main(command: str, manifest_path: str, target: str) -> None:
    manifest = load_manifest(manifest_path, handlers=[append, check])
    store = await Store.open(Settings().store_url())
    runs = RunStore(store)
    registry = HandlerRegistry()
    registry.add(append)
    registry.add(check)
    layers = [ForensicLayer(), *approval_layers(store, manifest.approvals, requester="deployer"),
              IdempotencyLayer(runs), TimeoutLayer()]
    runtime = Runtime(manifest, runs, registry=registry, layers=layers,
                      manifest_path=manifest_path)
    try:
        result = (await runtime.run(target) if command == "start"
                  else await runtime.resume(target))
        print(json.dumps({"run_id": result.run_id, "status": result.status,
                          "error": result.error}), flush=True)
    finally:
        await runs.writer.close()
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
