"""`tune_gc`: make Python's cyclic garbage collector cheap for a long-running Ai:oS process.

Each step of a run allocates many short-lived containers (a task, an OpenTelemetry span and
its attributes, a context, events), so the collector runs often, and every full collection
walks every object the process holds, most of them made at start-up by imports and the
manifest: about 136,000 after the `aios` command's imports (`python -c "import gc, aios.cli.main;
print(len(gc.get_objects()))"`), 36 ms per full pass (`gc.collect()`) on the project's
2-core machine. `bench/runtime_overhead.py` measures the effect on a 1,000-step fan-out.

Two standard remedies, both from the `gc` module's documentation:

* `gc.freeze()` once start-up is done: what exists then moves to a permanent generation that
  collections no longer walk (it is still freed by reference counting);
* a larger first-generation threshold, so young collections run every `gen0` net allocations
  instead of every 700.

The collector's settings belong to the whole process, so the library never changes them on its
own: the `aios` command calls `tune_gc` after its imports, and an application that embeds Ai:oS
may call it after its own start-up.
"""

from __future__ import annotations

import gc

__all__ = ["DEFAULT_GEN0", "tune_gc"]

#: First-generation threshold set by `tune_gc` (CPython's default is 700).
DEFAULT_GEN0 = 10_000


def tune_gc(gen0: int = DEFAULT_GEN0) -> tuple[int, int, int]:
    """Freeze what the process holds now and raise the first-generation threshold.

    Call it once, after start-up (imports, manifest, runtime). Calling it again freezes the
    objects made since; the threshold is never lowered.

    Args:
        gen0: allocations (net of deallocations) between young collections.

    Returns:
        The collector's thresholds before the call, for `gc.set_threshold(*previous)`.
    """
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(previous[0], gen0), previous[1], previous[2])
    return previous
