"""The heartbeat of the runs a process executes: how another process knows it still does.

While a driver executes a run, an asyncio task of its process writes `runs.heartbeat_at`
every `interval` seconds (only while the row still names this process and the run is active:
a process whose run was taken over does not refresh the new owner's row). A resume elsewhere
reads the heartbeat: younger than `STALE_INTERVALS` intervals, the run is refused (its
executor lives, wherever it is); older, or none, the run was left behind and may be taken
over. The times are each host's clock in UTC: hosts sharing a store must keep time (NTP).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import UTC, datetime

from sqlalchemy import update

from aios.store.engine import Store
from aios.store.tables import runs

__all__ = ["DEFAULT_INTERVAL_S", "STALE_INTERVALS", "Heartbeats"]

log = logging.getLogger("aios.store")

#: `AIOS_RUN_HEARTBEAT_SECONDS`'s default.
DEFAULT_INTERVAL_S = 10.0
#: A heartbeat older than this many intervals is stale: its process stopped executing.
STALE_INTERVALS = 3


class Heartbeats:
    """The heartbeat tasks of the runs this `RunStore` executes (one per run).

    Args:
        store: the opened store.
        interval_s: seconds between two heartbeats of a run.
    """

    def __init__(self, store: Store, interval_s: float = DEFAULT_INTERVAL_S):
        self.store = store
        self.interval_s = interval_s
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def stale_after_s(self) -> float:
        """Age at which a heartbeat no longer shows a live executor."""
        return self.interval_s * STALE_INTERVALS

    def age_s(self, beat: datetime | None, now: datetime) -> float | None:
        """Seconds since `beat` (None: the run has none)."""
        return None if beat is None else (now - beat).total_seconds()

    def fresh(self, beat: datetime | None, now: datetime) -> bool:
        """Whether a heartbeat at `beat` shows its process still executes the run."""
        age = self.age_s(beat, now)
        return age is not None and age < self.stale_after_s

    def start(self, run_id: str) -> None:
        """Beat for `run_id` until `stop` (a driver starting; a second start is a no-op)."""
        if run_id not in self._tasks:
            self._tasks[run_id] = asyncio.get_running_loop().create_task(
                self._beat(run_id), name=f"aios-heartbeat-{run_id}")

    def stop(self, run_id: str) -> None:
        """Stop beating for `run_id` (its driver returned or raised)."""
        task = self._tasks.pop(run_id, None)
        if task is not None:
            task.cancel()

    def executing(self) -> frozenset[str]:
        """The runs this store beats for now."""
        return frozenset(self._tasks)

    async def _beat(self, run_id: str) -> None:
        pid, host = os.getpid(), socket.gethostname()
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                async with self.store.engine.begin() as conn:
                    await conn.execute(update(runs).where(
                        runs.c.id == run_id, runs.c.pid == pid, runs.c.host == host,
                        runs.c.status.in_(("running", "pending")),
                    ).values(heartbeat_at=datetime.now(UTC)))
            except Exception as exc:  # a store that is down now may be back for the next one
                log.warning("run %s: heartbeat not recorded: %s", run_id, exc)
