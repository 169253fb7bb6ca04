"""Group-commit writer: rows queued by the hot path, committed in batches by one task.

Why: committing each state change on its own costs a round trip to the database per step.
Rows queued here are committed in order, in batches, within one flush cycle; `flush()` is the
durability barrier: when it returns, every row queued before it is committed. The runtime calls
it before anything with an outside effect (a mutating action) and at the end of a run, so a
crash can lose at most the last instants of read-only progress, never the record that a
mutating action started.

A row put with `within_s` (the cost ledger's) does not wake the writer: it waits for the next
row put without it, a `flush()`, or `within_s` seconds, whichever comes first, so a server
answering many short calls commits their rows in a few transactions instead of one each (a
commit is work on the event loop and the database's thread, in the way of the next request).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy import Executable, Table, insert
from sqlalchemy.exc import SQLAlchemyError

from aios.errors import StoreError
from aios.store.engine import Store, database_error

__all__ = ["BatchWriter"]

_FIX = ("Free disk space or make the database writable (AIOS_HOME, AIOS_DATABASE_URL), then "
        "resume the runs this stopped: `aios runs resume RUN_ID`")


class BatchWriter:
    """Queues inserts and commits them in order, in batches.

    Attributes:
        rows_written: rows committed so far.
        batches: transactions committed so far.
    """

    def __init__(self, store: Store, *, linger_s: float = 0.002, max_batch: int = 2000):
        self._store = store
        # Waiting a moment after the first queued row lets a busy run fill one transaction
        # with many rows instead of committing each; a flush() cuts the wait short.
        self._linger_s = linger_s
        self._max_batch = max_batch
        self._urgent = asyncio.Event()
        self._pending: list[tuple[Table, dict[str, Any]]] = []
        self._statements: list[Executable] = []  # run after the next batch's inserts
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._committing = False
        self._inserts: dict[Table, Any] = {}
        self._due: asyncio.TimerHandle | None = None  # when rows put with `within_s` are due
        self.rows_written = 0
        self.batches = 0

    def put(self, table: Table, row: dict[str, Any], *, within_s: float | None = None) -> None:
        """Queue one row for `table`; it is committed within one flush cycle, or with
        `within_s`: with the next batch, at a `flush()`, or `within_s` seconds from now at the
        latest (rows stay in the order they were put either way)."""
        if self._failure is not None:
            raise self._stopped() from self._failure
        self._pending.append((table, row))
        self._ensure_running()
        if within_s is None:
            self._wake.set()
        elif self._due is None:
            self._due = asyncio.get_running_loop().call_later(within_s, self._wake.set)

    async def flush(self) -> None:
        """Return once every row queued so far is committed.

        Raises:
            StoreError: the store refused the batch (disk full, server gone ...).
        """
        if self._failure is not None:
            raise self._stopped() from self._failure
        if not self._pending and not self._busy():
            return
        await self._commit_now()

    async def commit(self, statement: Executable) -> None:
        """Run `statement` in the transaction that commits every row queued so far (after
        their inserts), and return once it is committed: a flush and a write of one's own in
        one round trip (the end of a run: its last rows and its final state).

        Raises:
            StoreError: the store refused the batch or the statement; the writer then
                accepts no more writes, as after any refused batch.
        """
        if self._failure is not None:
            raise self._stopped() from self._failure
        self._statements.append(statement)
        await self._commit_now()

    async def _commit_now(self) -> None:
        """Wake the writer for an immediate batch and wait until it has committed."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._ensure_running()
        self._urgent.set()
        self._wake.set()
        await waiter

    async def close(self) -> None:
        """Flush and stop the writer task."""
        try:
            await self.flush()
        finally:
            if self._due is not None:
                self._due.cancel()
                self._due = None
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
                self._task = None

    def _insert(self, table: Table) -> Any:
        """The INSERT statement of `table`, built once (SQLAlchemy caches its compiled form
        by statement; rebuilding it per batch costs a cache-key walk each time)."""
        statement = self._inserts.get(table)
        if statement is None:
            statement = self._inserts[table] = insert(table)
        return statement

    def _stopped(self) -> StoreError:
        assert self._failure is not None
        return StoreError(f"the store stopped accepting writes after a refused write: "
                          f"{database_error(self._failure)}. {_FIX}")

    def _busy(self) -> bool:
        # A batch taken off the queue but not yet committed counts: flush must wait for it.
        return bool(self._waiters) or self._committing

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(),
                                                                 name="aios-store-writer")

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._linger_s > 0 and not self._waiters and len(self._pending) < self._max_batch:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._linger_s):
                        await self._urgent.wait()
            self._urgent.clear()
            if self._due is not None:  # the rows it was for go in this batch
                self._due.cancel()
                self._due = None
            batch, self._pending = self._pending, []
            statements, self._statements = self._statements, []
            waiters, self._waiters = self._waiters, []
            self._committing = bool(batch or statements)
            try:
                if batch or statements:
                    await self._commit(batch, statements)
            except (SQLAlchemyError, OSError) as exc:
                self._committing = False
                self._failure = exc
                error = StoreError(f"the store refused a write: {database_error(exc)}. "
                                   f"{_FIX}")
                # Flushes that arrived while this batch was being committed wait too: no
                # later batch will ever answer them.
                waiters, self._waiters = waiters + self._waiters, []
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(error)
                return
            self._committing = False
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def _commit(self, batch: list[tuple[Table, dict[str, Any]]],
                      statements: list[Executable]) -> None:
        # The rows of one table go in one executemany, in the order they were queued (their
        # ids follow it); the batch is one transaction, so the order between tables is not
        # observable (no table references another), and an agent turn's rows (step events,
        # conversation entries, the LLM call) cost one statement per table, not one per run
        # of consecutive rows.
        by_table: dict[Table, list[dict[str, Any]]] = {}
        for table, row in batch:
            by_table.setdefault(table, []).append(row)
        async with self._store.engine.begin() as conn:
            for table, rows in by_table.items():
                await conn.execute(self._insert(table), rows)
            for statement in statements:
                await conn.execute(statement)
        self.rows_written += len(batch)
        self.batches += 1
