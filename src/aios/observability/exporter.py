"""The store span exporter: finished spans become rows of the `spans` table, one batch per
transaction.

It talks to the database through its own connection, never through the runtime's async
engine: it runs on the span processor's worker thread, and an engine bound to the runtime's
event loop must not be used from another thread. SQLite is written with the standard
library driver (synchronous: no extra thread, nothing left running at interpreter exit);
PostgreSQL with asyncpg on a private event loop owned by the exporter.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from itertools import chain
from typing import Any, Protocol

import orjson
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aios.errors import ConfigError, StoreError
from aios.observability.table import spans
from aios.registry import Registry
from aios.store.engine import database_error, normalise_url, redact_url

__all__ = ["COLUMNS", "StoreSpanExporter", "span_kind_of", "span_to_row"]

log = logging.getLogger("aios.observability")

#: Attributes filling the token columns, in column order.
_TOKEN_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
               "gen_ai.usage.cache_read.input_tokens",
               "gen_ai.usage.cache_creation.input_tokens",
               "gen_ai.usage.reasoning.output_tokens")
#: Attributes of the usage columns; a span with none of them (most spans) gets `_NO_USAGE`.
_USAGE_KEYS = frozenset((*_TOKEN_KEYS, "aios.cost_usd"))
_NO_USAGE = (0, 0, 0, 0, 0, 0.0)
#: What any sink's database may raise; a sink adds its driver's own (`_Sink.errors`).
_DATABASE_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, sqlite3.Error, OSError)
_STATUS = {StatusCode.UNSET: "unset", StatusCode.OK: "ok", StatusCode.ERROR: "error"}
_KINDS = {kind: kind.name.lower() for kind in SpanKind}


def _default(value: Any) -> str:
    return str(value)


def _dumps(value: Any) -> str:
    # orjson: the JSON encoding is most of the cost of a row, and it runs for every span.
    return orjson.dumps(value, default=_default).decode()


def span_kind_of(attributes: Mapping[str, Any]) -> str:
    """What a span stands for: the `aios.kind` Ai:oS spans carry, `llm` for any span following
    the GenAI conventions (third-party instrumentation too), else `other`."""
    kind = attributes.get("aios.kind")
    if isinstance(kind, str):
        return kind
    if "gen_ai.operation.name" in attributes:
        return "llm"
    return "other"


def _error_of(span: ReadableSpan) -> str | None:
    for ev in span.events:
        if ev.name == "exception" and ev.attributes:
            kind = ev.attributes.get("exception.type", "")
            message = ev.attributes.get("exception.message", "")
            return f"{kind}: {message}" if message else str(kind)
    if span.status.status_code is StatusCode.ERROR:
        return span.status.description or "error"
    return None


#: The columns of a row, in the order `span_to_row` returns them.
COLUMNS = ("trace_id", "span_id", "parent_id", "name", "kind", "span_kind", "start_ns",
           "end_ns", "duration_ms", "status", "attributes", "events", "run_id", "agent",
           "action", "model", "provider", "input_tokens", "output_tokens", "cache_read_tokens",
           "cache_write_tokens", "reasoning_tokens", "cost_usd", "error")


def span_to_row(span: ReadableSpan) -> tuple[Any, ...]:
    """One finished span as a row of the `spans` table (values in `COLUMNS` order)."""
    ctx = span.context
    assert ctx is not None  # a span ended by the SDK always has its context
    attrs: dict[str, Any] = span.attributes.copy() if span.attributes else {}  # type: ignore[attr-defined]
    get = attrs.get
    start = span.start_time or 0
    end = span.end_time or start
    parent = span.parent
    events = span.events
    status = span.status.status_code
    if _USAGE_KEYS.isdisjoint(attrs):
        usage: tuple[Any, ...] = _NO_USAGE
    else:
        usage = (*(int(get(key) or 0) for key in _TOKEN_KEYS), float(get("aios.cost_usd") or 0.0))
    return (
        format(ctx.trace_id, "032x"),
        format(ctx.span_id, "016x"),
        format(parent.span_id, "016x") if parent is not None else None,
        span.name[:300],
        span_kind_of(attrs),
        _KINDS[span.kind],
        start,
        end,
        (end - start) / 1e6,
        _STATUS[status],
        _dumps(attrs),
        _dumps([{"name": ev.name, "time_ns": ev.timestamp,
                 "attributes": dict(ev.attributes or {})} for ev in events]) if events else "[]",
        get("aios.run_id"),
        get("aios.agent"),
        get("aios.action"),
        get("aios.model") or get("gen_ai.request.model"),
        get("gen_ai.provider.name") or get("gen_ai.system"),
        *usage,
        _error_of(span) if events or status is StatusCode.ERROR else None,
    )


class _Sink(Protocol):
    """A database connection that inserts span rows, one transaction per call."""

    #: The driver's own exceptions, beyond SQLAlchemy's and sqlite3's.
    errors: tuple[type[BaseException], ...]

    def insert(self, rows: list[tuple[Any, ...]]) -> None: ...

    def close(self) -> None: ...


#: Sink classes by database dialect.
_SINKS: Registry[Callable[[URL], _Sink]] = Registry("span store dialect")
_sink = _SINKS.register


@_sink("sqlite")
class _SqliteSink:
    """The standard library driver: the fastest way to SQLite, and no thread of its own.

    Rows go in as multi-row `INSERT ... VALUES (...), (...)` statements of up to `_CHUNK`
    rows, not `executemany`. The driver releases the GIL only inside `sqlite3_step`, which
    `executemany` calls once per row: under a busy producer thread the writer then waits up
    to the interpreter's switch interval (5 ms) to get the GIL back, once per row, and falls
    a whole run behind. One statement per chunk releases it once per chunk, so SQLite does
    the inserting on the other core while spans are still being made (`bench/tracing.py`).
    """

    _CHUNK = 1024  # rows per statement; 24 columns: 24,576 parameters
    errors: tuple[type[BaseException], ...] = ()  # sqlite3.Error: in _DATABASE_ERRORS

    def __init__(self, url: URL):
        database = url.database or ""
        uri = str(url.query.get("uri", "")).lower() in ("true", "1")
        if uri:  # sqlite:///file:/path/aios.db?mode=ro&uri=true
            params = "&".join(f"{k}={v}" for k, v in url.query.items() if k != "uri")
            database = f"{database}?{params}" if params else database
        # Opened on the worker thread, closed by `shutdown` on another: one user at a time.
        # The timeout waits out the runtime's own transactions on the same file.
        self._conn = sqlite3.connect(database, uri=uri, timeout=15.0, check_same_thread=False,
                                     isolation_level=None)
        self._conn.execute("PRAGMA synchronous=NORMAL")
        # Older SQLite builds allow 999 parameters per statement.
        limit = self._conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self._chunk = max(1, min(self._CHUNK, limit // len(COLUMNS)))
        self._sql: dict[int, str] = {}

    def _statement(self, rows: int) -> str:
        """The INSERT for `rows` rows (the same string object each time, so the driver's
        statement cache finds it without rehashing)."""
        sql = self._sql.get(rows)
        if sql is None:
            values = ", ".join([f"({', '.join('?' * len(COLUMNS))})"] * rows)
            sql = self._sql[rows] = f"INSERT INTO spans ({', '.join(COLUMNS)}) VALUES {values}"
        return sql

    def _chunks(self, count: int) -> list[int]:
        """Statement sizes covering `count` rows: full chunks, then powers of two, so that
        batches of any size reuse a few prepared statements."""
        sizes = [self._chunk] * (count // self._chunk)
        rest = count % self._chunk
        bit = 1 << rest.bit_length()
        while rest:
            bit >>= 1
            if rest & bit:
                sizes.append(bit)
                rest -= bit
        return sizes

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            start = 0
            for size in self._chunks(len(rows)):
                chunk = rows[start:start + size]
                conn.execute(self._statement(size), list(chain.from_iterable(chunk)))
                start += size
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already (disk full)
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._conn.close()


@_sink("postgresql")
class _AsyncSink:
    """PostgreSQL through asyncpg, run on a private event loop.

    A batch goes in as one `COPY` (asyncpg's `copy_records_to_table`, binary protocol): a
    single statement, so it is stored whole or not at all, and about three times the rate
    of SQLAlchemy's multi-row INSERTs (`bench/tracing.py --postgres URL`).
    """

    def __init__(self, url: URL):
        import asyncpg  # the postgres extra; present whenever this URL could be opened

        self.errors: tuple[type[BaseException], ...] = (asyncpg.PostgresError,
                                                        asyncpg.InterfaceError)
        self._runner = asyncio.Runner()
        self._engine: AsyncEngine = create_async_engine(url, pool_size=1, max_overflow=0)

    @staticmethod
    def _off_loop(work: Callable[[], None]) -> None:
        """Run `work` here, or on a helper thread when this thread runs an event loop (the
        private loop cannot run inside another one)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the normal case: the processor's worker thread
            work()
            return
        failure: list[BaseException] = []

        def target() -> None:
            try:
                work()
            except BaseException as exc:
                failure.append(exc)

        thread = threading.Thread(target=target, name="aios-span-store")
        thread.start()
        thread.join()
        if failure:
            raise failure[0]

    async def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        async with self._engine.connect() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                spans.name, records=rows, columns=list(COLUMNS))

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        self._off_loop(lambda: self._runner.run(self._insert(rows)))

    def close(self) -> None:
        def close() -> None:
            self._runner.run(self._engine.dispose())
            self._runner.close()

        self._off_loop(close)


class StoreSpanExporter(SpanExporter):
    """Writes finished spans to the store's `spans` table.

    The table must exist: open the store once with `Store.open(url)` (it migrates) first.
    `export` may be called from any thread without a running event loop; the processor's
    worker thread does.

    Args:
        url: the store URL (`Store.url`, `Settings.store_url()`).

    Raises:
        ConfigError: the URL names a database the span store cannot write to.
    """

    def __init__(self, url: str):
        self.url = normalise_url(url)
        self._shown = redact_url(self.url)
        try:
            parsed = make_url(self.url)
        except ArgumentError as exc:
            raise ConfigError(f"span store URL {self._shown!r} is malformed: {exc}") from exc
        backend = parsed.get_backend_name()
        if backend not in _SINKS:
            raise ConfigError(f"the span store supports {', '.join(_SINKS.names())}; "
                              f"{self._shown!r} is none of them (set AIOS_DATABASE_URL)")
        factory = _SINKS[backend]
        if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
            raise ConfigError("the span store needs an SQLite file: in-memory SQLite is private "
                              "to one connection; set AIOS_HOME or AIOS_DATABASE_URL")
        self._factory = factory
        self._parsed = parsed
        self._sink: _Sink | None = None
        self.rows_written = 0

    def write(self, batch: Sequence[ReadableSpan]) -> None:
        """Insert `batch` in one transaction.

        Raises:
            StoreError: the database refused the write (disk full, read-only, server gone).
        """
        if not batch:
            return
        rows = [span_to_row(span) for span in batch]
        try:
            if self._sink is None:
                self._sink = self._factory(self._parsed)
        except _DATABASE_ERRORS as exc:
            raise self._refused(len(rows), exc) from exc
        try:
            self._sink.insert(rows)
        except (*_DATABASE_ERRORS, *self._sink.errors) as exc:
            raise self._refused(len(rows), exc) from exc
        self.rows_written += len(rows)

    def _refused(self, count: int, exc: BaseException) -> StoreError:
        return StoreError(
            f"the span store at {self._shown} refused a write of {count} spans: "
            f"{database_error(exc)}. Free disk space or make the database writable "
            "(AIOS_HOME, AIOS_DATABASE_URL), then run again")

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """SpanExporter interface: `write`, with failures logged instead of raised."""
        try:
            self.write(spans)
        except StoreError as exc:
            log.error("%s", exc)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Close the exporter's connection."""
        if self._sink is not None:
            sink, self._sink = self._sink, None
            try:
                sink.close()
            except (*_DATABASE_ERRORS, *sink.errors) as exc:
                log.warning("closing the span store connection failed: %s", exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here: every `export` is committed before it returns."""
        return True
