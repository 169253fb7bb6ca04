"""`aios.tune_gc`: the collector settings the `aios` command applies after start-up."""

from __future__ import annotations

import gc
import subprocess
import sys

import aios
from aios.gc_tuning import DEFAULT_GEN0


def test_tune_gc_freezes_start_up_objects_and_raises_gen0() -> None:
    previous = gc.get_threshold()
    try:
        returned = aios.tune_gc(gen0=previous[0] + 5_000)
        assert returned == previous
        assert gc.get_threshold() == (previous[0] + 5_000, previous[1], previous[2])
        assert gc.get_freeze_count() > 0
        aios.tune_gc(gen0=10)  # never lowered
        assert gc.get_threshold()[0] == previous[0] + 5_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*previous)


def test_the_aios_command_tunes_the_collector_before_running() -> None:
    probe = ("import gc\n"
             "from aios.cli import main as cli\n"
             "cli.app = lambda: print(gc.get_threshold()[0], gc.get_freeze_count() > 10_000)\n"
             "cli.main()\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == [str(DEFAULT_GEN0), "True"]
