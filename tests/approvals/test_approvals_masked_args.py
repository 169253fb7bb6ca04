"""Masked arguments: an approval request and its audit trail never hold a secret or personal
data from the arguments; the action still runs with the real values (also after an edit that
left masked values as shown), and resume still works."""

from __future__ import annotations

import json
from typing import Any

from aios.approvals import ApprovalLayer, ApprovalService
from aios.auth import User
from aios.manifest import Manifest
from aios.runtime import (
    ActionContext,
    HandlerRegistry,
    IdempotencyLayer,
    Runtime,
    TimeoutLayer,
    handler,
)
from aios.store import RunStore, Store

RAN: list[dict[str, Any]] = []
TOKEN = "ghp_1234567890abcdefghijABCDEFGHIJ123456"
ARGS = {"url": "https://api.example.test/rotate", "token": TOKEN,
        "contact": "dana.lee@example.org", "note": f"Authorization: Bearer {TOKEN}"}


@handler("tmask.rotate")
async def rotate(ctx: ActionContext) -> dict[str, Any]:
    RAN.append(dict(ctx.args))
    return {"rotated": True}


def manifest(mask: bool = True) -> Manifest:
    return Manifest.model_validate({
        "agents": {"keys": {"actions": {"rotate": {
            "handler": "tmask.rotate", "criticality": "high", "mutates": True}}}},
        "sequences": {"rotate": {"steps": [{"action": "keys.rotate", "with": ARGS}]}},
        "approvals": {"mask_arguments": mask}})


def runtime(store: Store, m: Manifest) -> tuple[Runtime, ApprovalService, RunStore]:
    runs = RunStore(store)
    service = ApprovalService(store)
    registry = HandlerRegistry()
    registry.add(rotate)
    return Runtime(m, runs, registry=registry, layers=[
        ApprovalLayer(service, m.approvals, "ops", 0), IdempotencyLayer(runs),
        TimeoutLayer()]), service, runs


async def stored_text(service: ApprovalService, request_id: str) -> str:
    req = await service.get(request_id)
    trail = [r.to_json() async for r in service.audit.records(request_id=request_id)]
    return json.dumps([req.to_json(), trail])


async def test_the_request_holds_no_secret_and_the_action_gets_the_real_values(
        store: Store, people: dict[str, User]) -> None:
    RAN.clear()
    rt, service, runs = runtime(store, manifest())
    first = await rt.run("rotate")
    assert first.status == "waiting"
    (req,) = await service.queue()
    assert req.masked and req.args["token"] == "<SECRET>"
    assert req.args["url"] == ARGS["url"]  # nothing secret: shown as it is
    await service.approve(req.id, people["alice"])
    done = await rt.resume(first.run_id)
    assert done.status == "succeeded" and RAN == [ARGS]
    text = await stored_text(service, req.id)
    for secret in (TOKEN, "dana.lee@example.org"):
        assert secret not in text
    await runs.writer.close()


async def test_an_edit_keeps_the_real_values_it_did_not_change(
        store: Store, people: dict[str, User]) -> None:
    RAN.clear()
    rt, service, runs = runtime(store, manifest())
    first = await rt.run("rotate")
    (req,) = await service.queue()
    edited = {**req.args, "url": "https://api.example.test/rotate?dry=1"}  # as shown, + change
    await service.approve(req.id, people["alice"], edited_args=edited)
    done = await rt.resume(first.run_id)
    assert done.status == "succeeded"
    assert RAN == [{**ARGS, "url": "https://api.example.test/rotate?dry=1"}]
    assert TOKEN not in await stored_text(service, req.id)
    await runs.writer.close()


async def test_masking_can_be_turned_off(store: Store) -> None:
    rt, service, runs = runtime(store, manifest(mask=False))
    await rt.run("rotate")
    (req,) = await service.queue()
    assert not req.masked and req.args == ARGS
    await runs.writer.close()
