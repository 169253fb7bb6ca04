"""`Upstream`: one connection to an upstream MCP server (stdio or streamable HTTP).

The SDK's transports and sessions are task-scoped context managers, so each connection is
owned by a task of its own, which opens it, holds it until asked to close, and closes it;
calls from any task go through the session it publishes. A connection that broke (the
process exited, it answered something that is not JSON-RPC) is dropped and reopened on the
next call. Every failure becomes an Ai:oS error naming the server and what to check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import Mapping
from datetime import timedelta
from typing import IO, Any, TextIO, cast

import httpx
from mcp import ClientSession, McpError, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.session import RequestResponder

from aios.errors import ActionTimeout, ConfigError, HandlerError
from aios.mcp.config import McpServerSpec

__all__ = ["Upstream"]

log = logging.getLogger("aios.mcp.upstream")

_TIMEOUT_MARK = "timed out"


def _tail(handle: IO[str] | None, limit: int = 600) -> str:
    if handle is None:
        return ""
    try:
        handle.flush()
        handle.seek(0)
        text = handle.read().strip()
    except (OSError, ValueError):
        return ""
    return f"; its stderr ends: {text[-limit:]!r}" if text else ""


class Upstream:
    """A connection to the upstream server `name`, opened on first use.

    Args:
        name: the server's name in `mcp_servers:`.
        spec: how to reach it.
        environ: where `headers` values are read from (the process environment).
    """

    def __init__(self, name: str, spec: McpServerSpec, environ: Mapping[str, str]):
        self.name = name
        self.spec = spec
        self.environ = environ
        self._session: ClientSession | None = None
        self._owner: asyncio.Task[None] | None = None
        self._close = asyncio.Event()
        self._broken: asyncio.Event = asyncio.Event()
        self._problem: str | None = None
        self._stderr: IO[str] | None = None
        self._lock = asyncio.Lock()
        self._generation = 0  # connections opened so far
        self._listed_generation = 0
        self._tools_changed = False
        self._calls: set[asyncio.Task[Any]] = set()  # tasks waiting for an answer
        self._aborted: set[asyncio.Task[Any]] = set()  # of those, cancelled by a breakage

    # -- connecting -----------------------------------------------------------------------

    def _where(self) -> str:
        if self.spec.command is not None:
            return f"`{' '.join([self.spec.command, *self.spec.args])}`"
        return str(self.spec.url)

    def needs_relisting(self) -> bool:
        """True when the tools were not listed on this connection, or it said they changed."""
        return self._tools_changed or self._generation != self._listed_generation

    def listed(self) -> None:
        """The tools were just listed (and vetted) on the current connection."""
        self._listed_generation = self._generation
        self._tools_changed = False

    async def _on_message(self, message: RequestResponder[Any, Any] | Any) -> None:
        if isinstance(message, types.ServerNotification) and isinstance(
                message.root, types.ToolListChangedNotification):
            self._tools_changed = True
        if isinstance(message, Exception):  # a line that is not a JSON-RPC message
            self._problem = f"answered something that is not JSON-RPC ({message})"[:500]
            self._broken.set()
            for task in list(self._calls):  # their answers may never come: fail them now
                self._aborted.add(task)
                task.cancel()

    async def _own(self, ready: asyncio.Future[ClientSession]) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                if self.spec.command is not None:
                    assert self._stderr is not None
                    params = StdioServerParameters(
                        command=self.spec.command, args=list(self.spec.args),
                        env=dict(self.spec.env), cwd=self.spec.cwd)
                    read, write = await stack.enter_async_context(
                        stdio_client(params, errlog=cast(TextIO, self._stderr)))
                else:
                    try:
                        headers = self.spec.header_values(self.environ)
                    except KeyError as exc:
                        raise ConfigError(
                            f"mcp_servers.{self.name}.headers: environment variable "
                            f"{exc.args[0]} is not set; export it before starting") from None
                    client = await stack.enter_async_context(httpx.AsyncClient(
                        headers=headers, timeout=httpx.Timeout(self.spec.timeout,
                                                               read=self.spec.timeout * 10)))
                    read, write, _ = await stack.enter_async_context(
                        streamable_http_client(str(self.spec.url), http_client=client))
                # No session-wide read timeout: `initialize` has `start_timeout`, each call
                # and listing its own limit.
                session = await stack.enter_async_context(ClientSession(
                    read, write, message_handler=self._on_message))
                await session.initialize()
                ready.set_result(session)
                await self._close.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            elif not isinstance(exc, asyncio.CancelledError):
                log.debug("upstream %s closed: %r", self.name, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise

    async def session(self) -> ClientSession:
        """The open session, connecting first when there is none.

        Raises:
            ConfigError: the server does not start, or does not answer `initialize` within
                its `timeout`; the message names the command or URL and what it printed.
        """
        async with self._lock:
            if self._session is not None and not self._broken.is_set():
                return self._session
            await self._drop()
            self._close = asyncio.Event()
            self._broken = asyncio.Event()
            self._problem = None
            if self.spec.command is not None:  # kept after the process exits, for errors
                self._stderr = tempfile.TemporaryFile(  # noqa: SIM115 - closed by _drop
                    "w+", encoding="utf-8", errors="replace")
            ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
            # Read by `session` unless it gave up first; then nobody must be told.
            ready.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._owner = asyncio.create_task(self._own(ready), name=f"mcp upstream {self.name}")
            try:
                async with asyncio.timeout(self.spec.start_timeout):
                    self._session = await asyncio.shield(ready)
                self._generation += 1
            except TimeoutError:
                detail = _tail(self._stderr)
                await self._drop()
                raise ConfigError(
                    f"MCP server {self.name} ({self._where()}) did not answer `initialize` "
                    f"within {self.spec.start_timeout:g} s{detail}; check the command, or "
                    f"raise mcp_servers.{self.name}.start_timeout") from None
            except ConfigError:
                await self._drop()
                raise
            except BaseException as exc:
                detail = _tail(self._stderr)
                await self._drop()
                if isinstance(exc, asyncio.CancelledError):
                    raise
                raise ConfigError(
                    f"MCP server {self.name} ({self._where()}) did not start: "
                    f"{self._describe(exc)}{detail}; check mcp_servers.{self.name} in the "
                    "manifest") from exc
            return self._session

    @staticmethod
    def _describe(exc: BaseException) -> str:
        if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            return Upstream._describe(exc.exceptions[0])
        if isinstance(exc, FileNotFoundError):
            return f"program not found ({exc.filename or exc})"
        if isinstance(exc, McpError):
            return f"{exc.error.message} (the process exited?)"
        if isinstance(exc, httpx.HTTPStatusError):
            return f"HTTP {exc.response.status_code} from {exc.request.url}"
        return f"{type(exc).__name__}: {exc}"

    async def _drop(self) -> None:
        self._session = None
        owner, self._owner = self._owner, None
        if owner is not None and not owner.done():
            self._close.set()
            try:
                async with asyncio.timeout(5):
                    await asyncio.shield(owner)
            except (TimeoutError, Exception):
                owner.cancel()
                with contextlib.suppress(BaseException):
                    await owner
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    async def aclose(self) -> None:
        """Close the connection (the stdio process is terminated)."""
        async with self._lock:
            await self._drop()

    # -- using it -------------------------------------------------------------------------

    async def list_tools(self) -> list[types.Tool]:
        """Every tool the server lists (all pages).

        Raises:
            ConfigError: it cannot be reached, or the listing fails or is malformed.
        """
        session = await self.session()
        tools: list[types.Tool] = []
        cursor: str | None = None
        try:
            while True:
                page = await self._race(session.send_request(
                    types.ClientRequest(types.ListToolsRequest(
                        params=types.PaginatedRequestParams(cursor=cursor) if cursor else None)),
                    types.ListToolsResult,
                    request_read_timeout_seconds=timedelta(seconds=self.spec.timeout)))
                tools.extend(page.tools)
                cursor = page.nextCursor
                if not cursor:
                    return tools
        except (HandlerError, ActionTimeout) as exc:
            raise ConfigError(f"MCP server {self.name}: tools/list failed: {exc}") from exc

    async def call(self, tool: str, arguments: dict[str, Any],
                   limit: float | None = None) -> types.CallToolResult:
        """Call `tool` upstream.

        Raises:
            ActionTimeout: no answer within `limit` seconds (default: the server's timeout).
            HandlerError: the server died, answered something malformed, or failed.
        """
        session = await self.session()
        seconds = limit or self.spec.timeout
        result: types.CallToolResult = await self._race(session.call_tool(
            tool, arguments, read_timeout_seconds=timedelta(seconds=seconds)), what=tool)
        return result

    async def _race(self, request: Any, what: str = "tools/list") -> Any:
        """Await `request` in this task; it is cancelled when the connection breaks meanwhile
        (`_on_message`), which fails the call at once instead of at its time limit."""
        task = asyncio.current_task()
        assert task is not None
        self._calls.add(task)
        try:
            return await request
        except asyncio.CancelledError:
            if task not in self._aborted:
                raise
            task.uncancel()
            raise HandlerError(f"MCP server {self.name} {self._problem} during {what}; the "
                               "connection is reopened on the next call") from None
        except McpError as exc:
            message = exc.error.message
            if _TIMEOUT_MARK in message.lower():
                raise ActionTimeout(f"MCP server {self.name} did not answer {what} in time "
                                    f"({message}); raise mcp_servers.{self.name}.timeout "
                                    "if it needs longer") from exc
            self._broken.set()
            self._problem = self._problem or "closed the connection"
            raise HandlerError(f"MCP server {self.name} failed during {what}: {message}"
                               f"{_tail(self._stderr)}") from exc
        except (OSError, httpx.HTTPError) as exc:
            self._broken.set()
            raise HandlerError(f"MCP server {self.name} failed during {what}: "
                               f"{type(exc).__name__}: {exc}") from exc
        finally:
            self._calls.discard(task)
            self._aborted.discard(task)


def default_environ() -> Mapping[str, str]:
    """The process environment (where `headers` values are read from)."""
    return os.environ
