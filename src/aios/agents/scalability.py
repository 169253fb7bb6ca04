"""Scalability meta-agent: is this host keeping up with its load?

The rule, applied to each metric separately; the host's level is the worst of them:

==========================  ===========  ==============
metric                      elevated at  saturated at
==========================  ===========  ==============
1-min load average per CPU  >= 0.8       >= 1.5
memory used % (not avail.)  >= 85        >= 95
swap used % (if swap)       >= 50        (never alone)
memory PSI "some" avg10 %   >= 10        >= 40
==========================  ===========  ==============

Swap alone never means saturation: idle pages are swapped out on healthy hosts too. PSI
(/proc/pressure/memory, Linux >= 4.20) is the share of time tasks stalled on memory; it is
skipped when the kernel lacks it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import psutil

from aios.agents._host import read_proc
from aios.runtime.context import ActionContext
from aios.runtime.handlers import handler

__all__ = ["LEVELS", "THRESHOLDS", "Thresholds", "assess", "assess_load"]

LEVELS = ("ok", "elevated", "saturated")


@dataclass(frozen=True)
class Thresholds:
    """(elevated, saturated) bounds per metric; None means that level is never reached."""

    load_per_cpu: tuple[float, float | None] = (0.8, 1.5)
    memory_percent: tuple[float, float | None] = (85.0, 95.0)
    swap_percent: tuple[float, float | None] = (50.0, None)
    memory_psi_avg10: tuple[float, float | None] = (10.0, 40.0)


THRESHOLDS = Thresholds()


def assess(metrics: dict[str, float | None],
           thresholds: Thresholds = THRESHOLDS) -> tuple[str, list[dict[str, Any]]]:
    """Apply the rule to `metrics` (keys as in `Thresholds`; None values are skipped).

    Returns:
        (level, reasons): the worst level, and one {metric, value, threshold, level} per
        metric that is not ok.
    """
    level = 0
    reasons: list[dict[str, Any]] = []
    for metric, (elevated, saturated) in asdict(thresholds).items():
        value = metrics.get(metric)
        if value is None:
            continue
        if saturated is not None and value >= saturated:
            rank, bound = 2, saturated
        elif value >= elevated:
            rank, bound = 1, elevated
        else:
            continue
        level = max(level, rank)
        reasons.append({"metric": metric, "value": value, "threshold": bound,
                        "level": LEVELS[rank]})
    return LEVELS[level], reasons


def _memory_psi() -> float | None:
    text, _ = read_proc("/proc/pressure/memory")
    if not text:
        return None
    for line in text.splitlines():
        if line.startswith("some "):
            fields = dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
            try:
                return float(fields["avg10"])
            except (KeyError, ValueError):
                return None
    return None


@handler("scalability.assess")
def assess_load(ctx: ActionContext) -> dict[str, Any]:
    """Rate this host's load as "ok", "elevated" or "saturated" (rule in the module docstring).

    Returns:
        {"level", "reasons": [...], "metrics": {cpu_count, load_1m, load_5m, load_per_cpu,
        memory_percent, swap_percent, memory_psi_avg10}, "thresholds": {...}}.
    """
    cpus = psutil.cpu_count() or 1
    load1: float | None
    load5: float | None
    try:
        load1, load5, _ = psutil.getloadavg()
    except OSError:
        load1 = load5 = None
    vm = psutil.virtual_memory()
    swap = psutil.swap_memory()
    metrics: dict[str, Any] = {
        "cpu_count": cpus,
        "load_1m": round(load1, 2) if load1 is not None else None,
        "load_5m": round(load5, 2) if load5 is not None else None,
        "load_per_cpu": round(load1 / cpus, 2) if load1 is not None else None,
        "memory_percent": round(100 * (vm.total - vm.available) / vm.total, 1)
        if vm.total else None,
        "swap_percent": round(swap.percent, 1) if swap.total else None,
        "memory_psi_avg10": _memory_psi(),
    }
    level, reasons = assess(metrics)
    assessment = {"level": level, "reasons": reasons, "metrics": metrics,
                  "thresholds": {k: list(v) for k, v in asdict(THRESHOLDS).items()}}
    ctx.publish_metadata("assessment", assessment)
    return assessment
