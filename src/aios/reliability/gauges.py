"""Breaker state as Prometheus metric families, for `/metrics` and the alert "breaker open"."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from aios.reliability.store import BreakerStore
from aios.store.engine import Store

__all__ = ["breaker_gauges"]

_STATES = ("closed", "open", "half_open")


async def breaker_gauges(store: Store) -> Iterable[Metric]:
    """`aios_breaker_state{name, state}` (1 for the current state) and `aios_breakers_open`."""
    rows = await BreakerStore(store).load()
    state = GaugeMetricFamily("aios_breaker_state",
                              "1 for the state each circuit breaker is in (shared store).",
                              labels=["name", "state"])
    for row in rows:
        for name in _STATES:
            state.add_metric([row.name, name], 1.0 if row.state == name else 0.0)
    total = GaugeMetricFamily("aios_breakers_open", "Circuit breakers open right now.")
    total.add_metric([], float(sum(1 for row in rows if row.state == "open")))
    return [state, total]
