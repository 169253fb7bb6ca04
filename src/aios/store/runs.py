"""Durable runs: the run record, each step's state changes, published metadata, idempotency."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import psutil
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from aios.errors import ConflictError, NotFoundError
from aios.store.engine import Store
from aios.store.heartbeat import DEFAULT_INTERVAL_S, Heartbeats
from aios.store.tables import idempotency, run_metadata, runs, step_events
from aios.store.writer import BatchWriter

if TYPE_CHECKING:
    from aios.security.arguments import ArgumentMasker

__all__ = ["IdempotencyRecord", "RunParties", "RunRecord", "RunStore", "StepRecord",
           "run_parties", "utcnow"]

log = logging.getLogger("aios.store")

#: Run and step states. A run left `running` by a process that died reads as `interrupted`.
TERMINAL = frozenset({"succeeded", "failed", "cancelled", "skipped"})


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class StepRecord:
    """The latest known state of one step of a run."""

    step_id: str
    action: str
    status: str
    attempt: int
    at: datetime
    duration_ms: float | None
    result: Any
    error: str | None


@dataclass(frozen=True)
class RunRecord:
    """A run as stored, with its steps and metadata when loaded with `get_run`."""

    id: str
    kind: str
    target: str
    status: str
    forensic: bool
    manifest_name: str
    manifest_path: str | None
    manifest_digest: str
    options: dict[str, Any]
    error: str | None
    pid: int | None
    host: str | None
    created_at: datetime
    finished_at: datetime | None
    steps: list[StepRecord] = field(default_factory=list)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    initiator: str | None = None
    resumed_by: tuple[str, ...] = ()
    heartbeat_at: datetime | None = None


@dataclass(frozen=True)
class IdempotencyRecord:
    """The guard row of one mutating execution."""

    key: str
    run_id: str
    step_id: str
    action: str
    status: str
    result: Any
    error: str | None


@dataclass(frozen=True)
class RunParties:
    """Who caused a run: none of them may approve the approval requests it files.

    Attributes:
        initiator: who started it (None for runs recorded before migration 0018).
        resumers: who resumed it since, in order.
    """

    initiator: str | None = None
    resumers: tuple[str, ...] = ()


async def run_parties(store: Store, run_id: str) -> RunParties:
    """The initiator and resumers of `run_id` (empty for an unknown run)."""
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(runs.c.initiator, runs.c.resumed_by).where(
            runs.c.id == run_id))).first()
    if row is None:
        return RunParties()
    return RunParties(row[0], tuple(str(name) for name in row[1] or ()))


#: A run in one of these states is held by the process its row names.
_ACTIVE = frozenset({"running", "pending"})


def _same(column: Any, value: Any) -> Any:
    """`column = value`, or `column IS NULL` for None (SQL's `= NULL` is never true)."""
    return column.is_(None) if value is None else column == value


def _held(run_id: str, status: str, pid: int | None, host: str | None,
          beat: str = "") -> str:
    """Why a resume of `run_id` is refused: who holds it and what to do."""
    if status not in _ACTIVE:
        return (f"it is {status} now; `aios runs show {run_id}` shows how it stands "
                "(resume it again if it stopped)")
    here = host == socket.gethostname()
    who = f"process {pid} on {'this host' if here else f'host {host}'}{beat}"
    return (f"run {run_id} is being executed by {who} (an `aios runs resume`, `aios agent "
            "run` or `aios serve`); nothing was written. Wait for it to stop (`aios runs "
            f"show {run_id}`), or stop that process (Ctrl-C records the run cancelled), then "
            "resume it again")


def _effective_status(status: str, pid: int | None, host: str | None) -> str:
    """`interrupted` for a run still marked active whose process on this host is gone."""
    if status in ("running", "pending") and pid and host == socket.gethostname():
        try:
            alive = psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
        except psutil.Error:
            alive = False
        if not alive:
            return "interrupted"
    return status


class RunStore:
    """Reads and writes runs. Hot-path writes are queued on a `BatchWriter`.

    Args:
        store: the opened store.
        writer: the group-commit writer (default: a new one).
        masker: masks the secrets and personal data in error texts before they are stored
            (they often repeat arguments); the engine masks its step errors with it too.
        heartbeat_s: seconds between two heartbeats of a run this store executes
            (`AIOS_RUN_HEARTBEAT_SECONDS`; see `aios.store.heartbeat`).
    """

    def __init__(self, store: Store, writer: BatchWriter | None = None,
                 masker: ArgumentMasker | None = None,
                 heartbeat_s: float = DEFAULT_INTERVAL_S):
        self.store = store
        self.writer = writer or BatchWriter(store)
        self._masker = masker
        self.heartbeats = Heartbeats(store, heartbeat_s)

    @property
    def masker(self) -> ArgumentMasker:
        """The masker of error texts (made on first use: `aios runs` never loads it)."""
        if self._masker is None:
            from aios.security.arguments import ArgumentMasker

            self._masker = ArgumentMasker()
        return self._masker

    # -- writes ---------------------------------------------------------------------------

    async def create_run(self, run_id: str, *, kind: str, target: str, forensic: bool,
                         manifest_name: str, manifest_path: str | None, manifest_digest: str,
                         options: dict[str, Any], initiator: str | None = None) -> None:
        """Insert the run record and commit it before anything of the run executes.

        `initiator` is who started the run: the requester of its approval requests.
        """
        async with self.store.engine.begin() as conn:
            await conn.execute(insert(runs).values(
                id=run_id, kind=kind, target=target, status="running", forensic=forensic,
                manifest_name=manifest_name, manifest_path=manifest_path,
                manifest_digest=manifest_digest, options=options, error=None,
                pid=os.getpid(), host=socket.gethostname(), created_at=utcnow(),
                initiator=initiator, resumed_by=[], heartbeat_at=utcnow(),
            ))

    async def reopen_run(self, run_id: str, *, resumer: str | None = None) -> None:
        """Claim a stopped run for this process and mark it running again (resume).

        The claim is one conditional UPDATE: it holds only if the run is still as it was read
        just before (status, process, host, finish time). Of two processes resuming one run
        at once, exactly one gets it; the other gets `ConflictError` before it has written
        anything. A run marked running by a live process of this host is not claimed at
        all, nor one whose heartbeat is fresh (this process, or another host, executes it:
        `aios.store.heartbeat`); one marked running on another host whose heartbeat is stale
        is taken over (a driver on a replaced machine must stay resumable), with a warning.
        `resumer` is recorded among the run's resumers (who may not approve its requests).

        Raises:
            NotFoundError: no such run.
            ConflictError: another process holds the run, or claimed it first.
        """
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(
                runs.c.status, runs.c.pid, runs.c.host, runs.c.finished_at,
                runs.c.heartbeat_at).where(runs.c.id == run_id))).first()
        if row is None:
            raise NotFoundError(f"no run with id {run_id!r}; `aios runs` lists recent runs")
        status, pid, host, finished_at, beat = row
        self._check_claim(run_id, status, pid, host, beat)
        values: dict[str, Any] = dict(status="running", pid=os.getpid(),
                                      host=socket.gethostname(), finished_at=None, error=None,
                                      heartbeat_at=utcnow())
        async with self.store.engine.begin() as conn:
            claimed = await conn.execute(update(runs).where(
                runs.c.id == run_id, runs.c.status == status, _same(runs.c.pid, pid),
                _same(runs.c.host, host), _same(runs.c.finished_at, finished_at),
                _same(runs.c.heartbeat_at, beat),
            ).values(**values))
            if claimed.rowcount != 1:
                now = (await conn.execute(select(runs.c.status, runs.c.pid, runs.c.host)
                                          .where(runs.c.id == run_id))).one()
                raise ConflictError(
                    f"run {run_id} was claimed by another process at the same moment; "
                    + _held(run_id, *now))
            if resumer is not None:
                # Read and extended in the transaction that claimed the run (its row is
                # this transaction's until it commits).
                before = (await conn.execute(select(runs.c.resumed_by).where(
                    runs.c.id == run_id))).scalar()
                known = list(before or [])
                if resumer not in known:
                    await conn.execute(update(runs).where(runs.c.id == run_id).values(
                        resumed_by=[*known, resumer]))

    def _check_claim(self, run_id: str, status: str, pid: int | None, host: str | None,
                     beat: datetime | None) -> None:
        """Refuse a claim of a run another executor holds (`reopen_run`); warn of a
        takeover."""
        if status not in _ACTIVE:
            return
        this_host = host == socket.gethostname()
        if this_host and pid != os.getpid():  # its process can be checked from here
            if _effective_status(status, pid, host) in _ACTIVE:
                raise ConflictError(_held(run_id, status, pid, host))
            return
        now = utcnow()
        age = self.heartbeats.age_s(beat, now)
        if self.heartbeats.fresh(beat, now):  # another task of this process, or another host
            raise ConflictError(_held(
                run_id, status, pid, host,
                f" (its heartbeat is {age:.0f}s old; a run is taken over once its heartbeat "
                f"is {self.heartbeats.stale_after_s:g}s old)"))
        if not this_host:
            log.warning("run %s was marked %s by process %s on host %s, whose heartbeat is "
                        "%s; taking it over", run_id, status, pid, host,
                        "missing" if age is None else f"{age:.0f}s old")

    def hold(self, run_id: str) -> None:
        """This process executes `run_id` from now on (a driver starting): its heartbeat
        runs until `release`."""
        self.heartbeats.start(run_id)

    def release(self, run_id: str) -> None:
        """This process no longer executes `run_id` (its driver returned or raised)."""
        self.heartbeats.stop(run_id)

    async def parties(self, run_id: str) -> RunParties:
        """Who started `run_id` and who resumed it (`run_parties`)."""
        return await run_parties(self.store, run_id)

    def step_event(self, run_id: str, step_id: str, action: str, status: str, *,
                   attempt: int = 1, duration_ms: float | None = None, result: Any = None,
                   error: str | None = None) -> None:
        """Queue a state change of a step (committed within one flush cycle)."""
        self.writer.put(step_events, {
            "run_id": run_id, "step_id": step_id, "action": action, "status": status,
            "attempt": attempt, "at": utcnow(), "duration_ms": duration_ms, "result": result,
            "error": error,
        })

    def publish(self, run_id: str, action: str, key: str, value: Any) -> None:
        """Queue one published metadata value."""
        self.writer.put(run_metadata, {"run_id": run_id, "action": action, "key": key,
                                       "value": value, "at": utcnow()})

    async def finish_run(self, run_id: str, status: str, error: str | None = None) -> None:
        """Record the run's final state, committed with the rows queued before it in one
        transaction (this process stops executing it: `release`).

        Raises:
            StoreError: the store refused the write.
        """
        await self.writer.commit(update(runs).where(runs.c.id == run_id).values(
            status=status, error=error, finished_at=utcnow(), heartbeat_at=None))
        self.heartbeats.stop(run_id)

    async def claim(self, key: str, *, run_id: str, step_id: str,
                    action: str) -> IdempotencyRecord | None:
        """Record that a mutating execution is starting, durably, unless `key` exists.

        Returns None when this caller claimed the key (it may execute), else the existing
        record (it must not execute again).
        """
        await self.writer.flush()  # everything before this step is on disk first
        try:
            async with self.store.engine.begin() as conn:
                await conn.execute(insert(idempotency).values(
                    key=key, run_id=run_id, step_id=step_id, action=action, status="started",
                    result=None, error=None, created_at=utcnow()))
        except IntegrityError:
            return await self.get_claim(key)
        return None

    async def settle(self, key: str, status: str, *, result: Any = None,
                     error: str | None = None) -> None:
        """Record the outcome of a claimed execution (its error text masked)."""
        error = await self.masker.atext(error)
        async with self.store.engine.begin() as conn:
            await conn.execute(update(idempotency).where(idempotency.c.key == key).values(
                status=status, result=result, error=error, finished_at=utcnow()))

    async def get_claim(self, key: str) -> IdempotencyRecord | None:
        """The idempotency record for `key`, if any."""
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(idempotency).where(
                idempotency.c.key == key))).mappings().first()
        if row is None:
            return None
        return IdempotencyRecord(key=row["key"], run_id=row["run_id"], step_id=row["step_id"],
                                 action=row["action"], status=row["status"],
                                 result=row["result"], error=row["error"])

    # -- reads ----------------------------------------------------------------------------

    def _run_record(self, row: Any, **extra: Any) -> RunRecord:
        return RunRecord(
            id=row["id"], kind=row["kind"], target=row["target"],
            status=_effective_status(row["status"], row["pid"], row["host"]),
            forensic=bool(row["forensic"]), manifest_name=row["manifest_name"],
            manifest_path=row["manifest_path"], manifest_digest=row["manifest_digest"],
            options=dict(row["options"] or {}), error=row["error"], pid=row["pid"],
            host=row["host"], created_at=row["created_at"],
            finished_at=row["finished_at"], initiator=row["initiator"],
            resumed_by=tuple(row["resumed_by"] or ()), heartbeat_at=row["heartbeat_at"],
            **extra)

    async def list_runs(self, limit: int = 20, status: str | None = None) -> list[RunRecord]:
        """The most recent runs first."""
        query = select(runs).order_by(runs.c.created_at.desc()).limit(limit)
        if status:
            query = query.where(runs.c.status == status)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [self._run_record(row) for row in rows]

    async def find_run_id(self, prefix: str) -> str:
        """Expand a unique prefix of a run id (as `git` does).

        Raises:
            NotFoundError: no run, or several, start with `prefix`.
        """
        async with self.store.engine.connect() as conn:
            ids = (await conn.execute(select(runs.c.id).where(
                runs.c.id.startswith(prefix, autoescape=True)).limit(3))).scalars().all()
        if len(ids) == 1:
            return str(ids[0])
        if not ids:
            raise NotFoundError(f"no run with id {prefix!r}; `aios runs` lists recent runs")
        raise NotFoundError(f"run id prefix {prefix!r} is ambiguous ({', '.join(ids)}, ...); "
                            "give more characters")

    async def get_run(self, run_id: str) -> RunRecord:
        """A run with its steps (latest state each, in order of first appearance)."""
        run_id = await self.find_run_id(run_id)
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(runs).where(runs.c.id == run_id))).mappings().one()
            events = (await conn.execute(select(step_events).where(
                step_events.c.run_id == run_id).order_by(step_events.c.id))).mappings().all()
            meta = (await conn.execute(select(run_metadata).where(
                run_metadata.c.run_id == run_id).order_by(run_metadata.c.id))).mappings().all()
        latest: dict[str, StepRecord] = {}
        for ev in events:
            latest[ev["step_id"]] = StepRecord(
                step_id=ev["step_id"], action=ev["action"], status=ev["status"],
                attempt=ev["attempt"], at=ev["at"],
                duration_ms=ev["duration_ms"], result=ev["result"], error=ev["error"])
        published: dict[str, dict[str, Any]] = {}
        for m in meta:
            published.setdefault(m["action"], {})[m["key"]] = m["value"]
        return self._run_record(row, steps=list(latest.values()), metadata=published)

    async def latest_metadata(self) -> dict[str, dict[str, Any]]:
        """Metadata of the most recent run that published any."""
        async with self.store.engine.connect() as conn:
            run_id = (await conn.execute(
                select(run_metadata.c.run_id).order_by(run_metadata.c.id.desc()).limit(1)
            )).scalar()
        if run_id is None:
            return {}
        return (await self.get_run(run_id)).metadata

    async def count_runs(self) -> int:
        """How many runs the store holds."""
        async with self.store.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(runs))).scalar()
                       or 0)
