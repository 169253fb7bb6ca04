"""The audit trail: a hash chain that names the first edited, deleted or reordered record."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from aios.approvals import AuditLog, verify_records
from aios.approvals.audit import GENESIS, audit_head, audit_log
from aios.approvals.canonical import canonical_json, sha256_hex
from aios.store import Store


async def _fill(log: AuditLog, n: int = 5) -> None:
    for i in range(1, n + 1):
        await log.record("test.event", actor=f"user{i}", data={"i": i}, request_id=f"r{i}")


async def test_records_chain_to_each_other_with_store_time(store: Store) -> None:
    log = AuditLog(store)
    await _fill(log, 3)
    records = [r async for r in log.records()]
    assert [r.seq for r in records] == [1, 2, 3]
    assert records[0].prev_hash == GENESIS
    assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
    assert all(r.hash == sha256_hex(canonical_json(r.body())) for r in records)
    assert records[0].at <= records[1].at <= records[2].at and records[0].at.endswith("Z")
    report = await log.verify()
    assert report.ok and report.records == 3 and report.head_seq == 3, str(report)


async def test_empty_log_verifies(store: Store) -> None:
    assert (await AuditLog(store).verify()).ok


async def _swap_seq(conn: AsyncConnection, a: int, b: int) -> None:
    await conn.execute(update(audit_log).where(audit_log.c.seq == a).values(seq=-1))
    await conn.execute(update(audit_log).where(audit_log.c.seq == b).values(seq=a))
    await conn.execute(update(audit_log).where(audit_log.c.seq == -1).values(seq=b))


async def _rewrite(conn: AsyncConnection, seq: int, rehash: bool) -> None:
    raw = (await conn.execute(select(audit_log.c.record).where(audit_log.c.seq == seq))
           ).scalar_one()
    body = json.loads(raw)
    body["data"]["i"] = 999
    new = canonical_json(body)
    values = {"record": new, **({"hash": sha256_hex(new)} if rehash else {})}
    await conn.execute(update(audit_log).where(audit_log.c.seq == seq).values(**values))


Tamper = Callable[[AsyncConnection], Awaitable[None]]

TAMPERING: dict[str, tuple[Tamper, int, str]] = {
    "edited record": (lambda c: _rewrite(c, 3, rehash=False), 3, "edited"),
    "edited and rehashed": (lambda c: _rewrite(c, 3, rehash=True), 4, "does not link"),
    "edited column": (lambda c: c.execute(update(audit_log).where(audit_log.c.seq == 2)
                                          .values(actor="mallory")), 2, "'actor'"),
    "deleted row": (lambda c: c.execute(delete(audit_log).where(audit_log.c.seq == 3)), 3,
                    "missing"),
    "deleted last row": (lambda c: c.execute(delete(audit_log).where(audit_log.c.seq == 5)),
                         5, "deleted"),
    "reordered rows": (lambda c: _swap_seq(c, 2, 4), 2, "reordered"),
    "rewritten last row": (lambda c: _rewrite(c, 5, rehash=True), 5, "rewritten"),
}


@pytest.mark.parametrize("how", list(TAMPERING))
async def test_tampering_is_detected_at_the_first_broken_link(store: Store, how: str) -> None:
    log = AuditLog(store)
    await _fill(log)
    tamper, seq, words = TAMPERING[how]
    async with store.engine.begin() as conn:
        await tamper(conn)
    report = await log.verify()
    assert not report.ok
    assert report.broken_seq == seq, str(report)
    assert words in str(report) and f"seq {seq}" in str(report)


async def test_concurrent_appends_from_separate_engines_never_fork(store: Store) -> None:
    others = [await Store.open(store.url, migrate=False) for _ in range(3)]
    try:
        logs = [AuditLog(s) for s in (store, *others)]

        async def writer(i: int) -> None:
            for j in range(15):
                await logs[i % len(logs)].record("load", actor=f"w{i}", data={"j": j})

        await asyncio.gather(*(writer(i) for i in range(8)))
    finally:
        for other in others:
            await other.close()
    report = await AuditLog(store).verify()
    assert report.ok and report.records == 120, str(report)
    async with store.engine.connect() as conn:
        assert (await conn.execute(select(audit_head.c.seq))).scalar_one() == 120


async def test_export_verifies_offline_and_tampered_export_fails(store: Store) -> None:
    log = AuditLog(store)
    await _fill(log, 4)
    lines: list[str] = []
    assert await log.export(lines.append) == 4
    records = [json.loads(line) for line in lines]
    assert verify_records(records).ok
    records[1]["actor"] = "mallory"
    report = verify_records(records)
    assert not report.ok and report.broken_seq == 2
    assert not verify_records([records[0], records[2]]).ok  # a record left out
