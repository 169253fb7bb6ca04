"""The audit chain's key and anchor: someone who can write the store can recompute every
hash, but cannot sign the head without AIOS_AUDIT_KEY, nor move the anchor file kept outside
the store (AIOS_AUDIT_ANCHOR); and an emptied log does not read "intact" while approval
requests remain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from approval_helpers import proposal, requirement
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from aios.approvals import ApprovalService, AuditLog
from aios.approvals.audit import GENESIS, audit_head, audit_log
from aios.approvals.canonical import canonical_json, sha256_hex
from aios.cli.main import app
from aios.settings import Settings
from aios.store import Store


async def _fill(log: AuditLog, n: int = 5) -> None:
    for i in range(1, n + 1):
        await log.record("test.event", actor=f"user{i}", data={"i": i}, request_id=f"r{i}")


async def _forge_from(store: Store, seq: int) -> None:
    """Edit record `seq`, re-link every later record and move the head, as someone with
    write access to the store but without the key would."""
    async with store.engine.begin() as conn:
        rows = (await conn.execute(select(audit_log).order_by(audit_log.c.seq))).mappings().all()
        prev = GENESIS
        for row in rows:
            body = json.loads(row["record"])
            if row["seq"] == seq:
                body["actor"] = "mallory"
            body["prev_hash"] = prev
            raw = canonical_json(body)
            prev = sha256_hex(raw)
            await conn.execute(update(audit_log).where(audit_log.c.seq == row["seq"]).values(
                record=raw, hash=prev, prev_hash=body["prev_hash"], actor=body["actor"]))
        await conn.execute(update(audit_head).where(audit_head.c.id == 1).values(hash=prev))


async def test_a_recomputed_chain_is_caught_by_the_head_signature(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOS_AUDIT_KEY", "k" * 32)
    await _fill(AuditLog(store))
    assert (await AuditLog(store).verify()).ok
    await _forge_from(store, 2)
    report = await AuditLog(store).verify()
    assert not report.ok and "signature" in str(report), str(report)
    monkeypatch.setenv("AIOS_AUDIT_KEY", "another key entirely")
    assert not (await AuditLog(store).verify()).ok


async def test_a_head_moved_back_is_caught_by_the_anchor(
        store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    anchor = tmp_path / "anchor" / "audit-anchor.json"
    monkeypatch.setenv("AIOS_AUDIT_ANCHOR", str(anchor))
    await _fill(AuditLog(store))
    assert json.loads(anchor.read_text())["seq"] == 5
    assert (await AuditLog(store).verify()).ok
    # Drop the last two records and move the head back onto record 3: a consistent chain.
    async with store.engine.begin() as conn:
        third = (await conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == 3))
                 ).scalar_one()
        await conn.execute(delete(audit_log).where(audit_log.c.seq > 3))
        await conn.execute(update(audit_head).values(seq=3, hash=third))
    report = await AuditLog(store).verify()
    assert not report.ok and "anchor" in str(report), str(report)


async def test_an_anchor_that_names_another_chain_is_caught(
        store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    anchor = tmp_path / "audit-anchor.json"
    monkeypatch.setenv("AIOS_AUDIT_ANCHOR", str(anchor))
    await _fill(AuditLog(store), 3)
    await _forge_from(store, 1)
    report = await AuditLog(store).verify()
    assert not report.ok and "anchor" in str(report), str(report)


async def test_an_emptied_log_is_not_intact_while_requests_remain(store: Store) -> None:
    service = ApprovalService(store)
    await service.submit(proposal(), requirement("high"))
    assert (await service.audit.verify()).ok
    async with store.engine.begin() as conn:
        await conn.execute(delete(audit_log))
        await conn.execute(delete(audit_head))
    report = await service.audit.verify()
    assert not report.ok, str(report)
    assert "approval request" in str(report)


def test_audit_verify_from_the_cli_names_the_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    monkeypatch.setenv("AIOS_AUDIT_KEY", "cli-key-" * 4)

    async def go() -> None:
        store = await Store.open(Settings().store_url())
        try:
            await _fill(AuditLog(store), 3)
            await _forge_from(store, 2)
        finally:
            await store.close()

    asyncio.run(go())
    result = CliRunner().invoke(app, ["audit", "verify"], env={"COLUMNS": "160"})
    assert result.exit_code == 1, result.output
    assert "signature" in result.output
