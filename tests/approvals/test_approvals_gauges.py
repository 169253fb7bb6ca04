"""`/metrics` families for the alerts the deployment guide names: breaker open, queue age."""

from __future__ import annotations

import time

from approval_helpers import proposal, requirement
from prometheus_client.parser import text_string_to_metric_families

from aios.approvals import ApprovalService
from aios.approvals.gauges import approval_gauges
from aios.observability.prometheus import prometheus_text
from aios.reliability.gauges import breaker_gauges
from aios.reliability.store import BreakerRow, BreakerStore
from aios.store import Store


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_open_breakers_and_waiting_approvals_are_exposed(store: Store) -> None:
    now = time.time()
    await BreakerStore(store).save([
        BreakerRow(name="model:gpt", state="open", opened_at=now, changed_at=now),
        BreakerRow(name="action:kernel.ps", state="closed", opened_at=None, changed_at=now),
    ])
    service = ApprovalService(store)
    await service.submit(proposal(step_id="a"), requirement("critical"))
    await service.submit(proposal(step_id="b"), requirement("high"))

    text = await prometheus_text(store, gauges=(breaker_gauges, approval_gauges))
    got = samples(text)
    assert got[("aios_breakers_open", ())] == 1.0
    assert got[("aios_breaker_state", (("name", "model:gpt"), ("state", "open")))] == 1.0
    assert got[("aios_breaker_state", (("name", "action:kernel.ps"), ("state", "open")))] == 0.0
    assert got[("aios_approvals_waiting", (("criticality", "critical"),))] == 1.0
    assert got[("aios_approvals_waiting", (("criticality", "high"),))] == 1.0
    assert got[("aios_approvals_oldest_age_seconds", (("criticality", "high"),))] >= 0.0


async def test_an_empty_store_exposes_zero_open_breakers(store: Store) -> None:
    got = samples(await prometheus_text(store, gauges=(breaker_gauges, approval_gauges)))
    assert got[("aios_breakers_open", ())] == 0.0
    assert not any(name == "aios_approvals_waiting" for name, _ in got)
