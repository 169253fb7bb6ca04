"""Approve and reject racing from two OS processes: exactly one wins, the other gets a conflict."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from approval_helpers import proposal, requirement

from aios.approvals import ApprovalService, AuditLog
from aios.store import Store

DRIVER = Path(__file__).with_name("race_driver.py")


async def test_approve_and_reject_race_from_two_processes(
        store: Store, store_url: str, tokens: dict[str, str]) -> None:
    service = ApprovalService(store)
    ids = [(await service.submit(proposal(step_id=f"s{i}"), requirement("high"))).id
           for i in range(6)]
    start_at = time.time() + 4.0  # both interpreters are up and connected by then
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(DRIVER.parent), *filter(None, [os.environ.get("PYTHONPATH")])])}
    procs = {decision: await asyncio.create_subprocess_exec(
        sys.executable, str(DRIVER), store_url, tokens[who], decision, str(start_at), *ids,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
        for decision, who in (("approve", "alice"), ("reject", "bob"))}
    results: dict[str, dict[str, dict[str, object]]] = {}
    for decision, proc in procs.items():
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()
        results[decision] = {line["id"]: line
                             for line in map(json.loads, out.decode().splitlines())}
    for request_id in ids:
        approve, reject = results["approve"][request_id], results["reject"][request_id]
        assert [approve["ok"], reject["ok"]].count(True) == 1, (approve, reject)
        loser = reject if approve["ok"] else approve
        assert loser["error"] == "ConflictError", loser
        assert "already" in str(loser["message"]) or "changed" in str(loser["message"])
        final = await service.get(request_id)
        assert final.status == ("approved" if approve["ok"] else "rejected")
        assert len(final.decisions) == 1
    report = await AuditLog(store).verify()
    assert report.ok and report.records == 6 + 2 * 6, str(report)
