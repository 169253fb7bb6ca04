"""`preview:` handlers: run in forensic mode before the request is filed; the output (or the
failure) is stored with the request, bound by its hash into the creation and each decision,
and shown by `aios approvals show`; a failing preview leaves approval possible."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from approval_helpers import proposal, requirement
from typer.testing import CliRunner

from aios.approvals import ApprovalLayer, ApprovalService
from aios.approvals.canonical import args_hash
from aios.auth import User
from aios.cli.main import app
from aios.manifest import Manifest
from aios.runtime import (
    ActionContext,
    HandlerRegistry,
    IdempotencyLayer,
    Runtime,
    TimeoutLayer,
    handler,
)
from aios.settings import Settings
from aios.store import RunStore, Store

CALLS: list[tuple[str, dict[str, Any], bool]] = []


@handler("tprev.delete")
async def delete(ctx: ActionContext) -> dict[str, Any]:
    CALLS.append(("delete", dict(ctx.args), ctx.forensic))
    return {"deleted": ctx.args["pattern"]}


def would_delete(ctx: ActionContext) -> dict[str, Any]:
    """The preview: what `delete` would remove (a synchronous handler, forensic mode)."""
    CALLS.append(("preview", dict(ctx.args), ctx.forensic))
    return {"would_delete": [f"/srv/{ctx.args['pattern']}.{i}" for i in range(3)]}


def broken_preview(ctx: ActionContext) -> dict[str, Any]:
    raise RuntimeError("listing failed: permission denied")


def manifest(preview: str) -> Manifest:
    return Manifest.model_validate({"agents": {"files": {"actions": {"delete": {
        "handler": "tprev.delete", "criticality": "high", "mutates": True,
        "preview": preview}}}}})


async def run_once(store: Store, preview: str) -> tuple[Any, ApprovalService, Runtime, Any]:
    m = manifest(preview)
    runs = RunStore(store)
    service = ApprovalService(store)
    registry = HandlerRegistry()
    registry.add(delete)
    rt = Runtime(m, runs, registry=registry, layers=[
        ApprovalLayer(service, m.approvals, "ops", 0, resolve=registry.resolve),
        IdempotencyLayer(runs), TimeoutLayer()])
    result = await rt.execute("files.delete", {"pattern": "old*.log"})
    return result, service, rt, runs


async def test_the_preview_is_stored_bound_and_shown(store: Store,
                                                     people: dict[str, User]) -> None:
    CALLS.clear()
    result, service, rt, runs = await run_once(
        store, "test_approvals_preview:would_delete")
    assert result.status == "waiting"
    assert CALLS == [("preview", {"pattern": "old*.log"}, True)]  # forensic, handler not run
    (req,) = await service.queue()
    expected = {"handler": "test_approvals_preview:would_delete",
                "output": {"would_delete": ["/srv/old*.log.0", "/srv/old*.log.1",
                                            "/srv/old*.log.2"]}}
    assert req.preview == expected and req.preview_hash == args_hash(expected)
    await service.approve(req.id, people["alice"])
    trail = [r async for r in service.audit.records(request_id=req.id)]
    assert trail[0].kind == "request.created"
    assert trail[0].data["preview_hash"] == req.preview_hash
    assert trail[1].kind == "decision.approve"
    assert trail[1].data["preview_hash"] == req.preview_hash
    done = await rt.resume(result.run_id)
    assert done.status == "succeeded"
    assert [c[0] for c in CALLS] == ["preview", "delete"]  # no second preview on resume
    await runs.writer.close()


def test_approvals_show_prints_the_preview() -> None:
    preview = {"handler": "files:would_delete", "output": {"would_delete": ["/srv/a.log"]}}

    async def go() -> str:
        store = await Store.open(Settings().store_url())
        try:
            return (await ApprovalService(store).submit(
                proposal(preview=preview), requirement("high"))).id
        finally:
            await store.close()

    request_id = asyncio.run(go())
    shown = CliRunner().invoke(app, ["approvals", "show", request_id], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    line = next(x for x in shown.stdout.splitlines() if x.strip().startswith("preview"))
    assert '{"would_delete": ["/srv/a.log"]}' in line and "by files:would_delete" in line
    data = json.loads(CliRunner().invoke(app, ["approvals", "show", request_id, "--json"]
                                         ).stdout)
    assert data["preview"] == preview and data["preview_hash"] == args_hash(preview)


async def test_a_failing_preview_is_reported_and_approval_stays_possible(
        store: Store, people: dict[str, User]) -> None:
    CALLS.clear()
    result, service, rt, runs = await run_once(
        store, "test_approvals_preview:broken_preview")
    assert result.status == "waiting"
    (req,) = await service.queue()
    assert req.preview == {"handler": "test_approvals_preview:broken_preview",
                           "error": "the preview failed: RuntimeError: listing failed: "
                                    "permission denied"}
    await service.approve(req.id, people["alice"])
    assert (await rt.resume(result.run_id)).status == "succeeded"
    await runs.writer.close()


async def test_a_preview_that_does_not_resolve_is_reported(store: Store) -> None:
    result, service, _, runs = await run_once(store, "no_such_module_xyz:preview")
    assert result.status == "waiting"
    (req,) = await service.queue()
    assert req.preview is not None and "cannot import module" in req.preview["error"]
    await runs.writer.close()
