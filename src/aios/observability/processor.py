"""The store span processor: hands finished spans to a worker thread that writes them in
batches, with back-pressure instead of loss.

Why not the SDK's `BatchSpanProcessor`: when its queue is full it drops spans silently, and
the store is the system of record for traces, metrics and costs. Here a full queue makes the
producer wait (briefly: the worker drains tens of thousands of spans a second); only a queue
that stays full past `block_timeout_s` drops, and every drop is counted in `dropped`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Protocol

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from aios.errors import StoreError

__all__ = ["SpanWriter", "StoreSpanProcessor"]

log = logging.getLogger("aios.observability")


class SpanWriter(Protocol):
    """Writes one batch of spans in one transaction, raising `StoreError` when it cannot."""

    def write(self, batch: list[ReadableSpan]) -> None: ...

    def shutdown(self) -> None: ...


class StoreSpanProcessor(SpanProcessor):
    """Batches finished spans to `writer` on a background thread.

    Args:
        writer: usually a `StoreSpanExporter`.
        max_queue: spans waiting to be written before producers are made to wait.
        max_batch: spans per transaction, at most.
        interval_s: how long a partial batch may wait before it is written.
        block_timeout_s: how long a producer waits for room before its span is dropped.

    Attributes:
        dropped: spans not written: the queue stayed full, or the store had failed.
        written: spans written so far.
        failure: the store error that stopped the processor, if one did.
    """

    def __init__(self, writer: SpanWriter, *, max_queue: int = 100_000, max_batch: int = 4096,
                 interval_s: float = 0.5, block_timeout_s: float = 30.0):
        self._writer = writer
        self._max_queue = max_queue
        self._max_batch = max_batch
        self._interval_s = interval_s
        self._block_timeout_s = block_timeout_s
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[ReadableSpan] = []
        self._queued = 0  # spans ever accepted; `_done` catches up with it
        self._done = 0  # spans written or discarded
        self._flush_wanted = False
        self._stopping = False
        self._closed = False
        self._drop_reported = False
        self.dropped = 0
        self.written = 0
        self.failure: StoreError | None = None
        self._thread = threading.Thread(target=self._work, name="aios-span-writer",
                                        daemon=True)
        self._thread.start()

    # -- SpanProcessor ----------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do when a span starts."""

    def on_end(self, span: ReadableSpan) -> None:
        """Queue `span`; wait for room when the queue is full."""
        with self._cond:
            if self.failure is not None or self._closed:
                self.dropped += 1
                return
            if len(self._queue) >= self._max_queue and not self._wait_for_room():
                self.dropped += 1
                self._report_drop()
                return
            self._queue.append(span)
            self._queued += 1
            if len(self._queue) == self._max_batch:
                self._cond.notify_all()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Write every span queued so far; False if that took longer than the timeout."""
        deadline = time.monotonic() + timeout_millis / 1000
        with self._cond:
            target = self._queued
            self._flush_wanted = True
            self._cond.notify_all()
            while self._done < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(remaining)
        return True

    def shutdown(self) -> None:
        """Write what is queued, then stop the worker, which closes the writer (idempotent)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._stopping = True
            self._cond.notify_all()
        self._thread.join()

    # -- Ai:oS ------------------------------------------------------------------------------

    def check(self) -> None:
        """Raise the store error that stopped the processor, if one did.

        Raises:
            StoreError: the span store refused a write; spans are no longer recorded.
        """
        if self.failure is not None:
            raise self.failure

    async def flush(self, timeout_s: float = 30.0) -> None:
        """Await `force_flush` without blocking the event loop.

        Raises:
            StoreError: the store refused a write, or the flush timed out.
        """
        done = await asyncio.to_thread(self.force_flush, int(timeout_s * 1000))
        self.check()
        if not done:
            raise StoreError(f"spans were not written within {timeout_s:g}s; the store is "
                             "too slow or locked by another process")

    @property
    def queued(self) -> int:
        """Spans waiting to be written."""
        return len(self._queue)

    # -- worker -----------------------------------------------------------------------------

    def _wait_for_room(self) -> bool:
        """Called with the lock held: wake the worker and wait until the queue has room."""
        deadline = time.monotonic() + self._block_timeout_s
        self._cond.notify_all()
        while len(self._queue) >= self._max_queue and self.failure is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._cond.wait(remaining)
        return self.failure is None

    def _report_drop(self) -> None:
        if not self._drop_reported:
            self._drop_reported = True
            log.warning("the span store fell behind for %.0fs; spans are being dropped "
                        "(count in StoreSpanProcessor.dropped)", self._block_timeout_s)

    def _take(self) -> tuple[list[ReadableSpan], bool]:
        """Wait for a batch; returns it and whether the worker should stop afterwards."""
        with self._cond:
            deadline = time.monotonic() + self._interval_s
            while (len(self._queue) < self._max_batch and not self._flush_wanted
                   and not self._stopping):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch = self._queue[:self._max_batch]
            del self._queue[:self._max_batch]
            if not self._queue:
                self._flush_wanted = False
            stop = self._stopping and not self._queue
            return batch, stop

    def _work(self) -> None:
        try:
            while True:
                batch, stop = self._take()
                if batch:
                    self._write(batch)
                if stop:
                    return
        finally:
            # The writer's connection was opened on this thread: close it here too.
            try:
                self._writer.shutdown()
            except Exception:
                log.exception("closing the span writer failed")

    def _write(self, batch: list[ReadableSpan]) -> None:
        try:
            self._writer.write(batch)
        except StoreError as exc:
            self._fail(exc, len(batch))
            return
        except Exception as exc:  # a writer bug must not kill the worker silently
            self._fail(StoreError(f"writing spans failed: {type(exc).__name__}: {exc}"),
                       len(batch))
            return
        with self._cond:
            self.written += len(batch)
            self._done += len(batch)
            self._cond.notify_all()

    def _fail(self, error: StoreError, lost: int) -> None:
        with self._cond:
            first = self.failure is None
            if first:
                self.failure = error
            # Nothing more can be written: discard what waits, so flushes and producers
            # return instead of waiting on a worker that will not write again.
            lost += len(self._queue)
            self._queue.clear()
            self.dropped += lost
            self._done = self._queued
            self._cond.notify_all()
        if first:
            log.error("%s; tracing to the store stopped, %d spans lost", error, lost)
