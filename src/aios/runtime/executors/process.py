"""Sync mutating handlers in a worker process, so a deadline (or Ctrl-C) can stop them.

A thread cannot be interrupted: a sync handler that timed out in a thread goes on and
changes the host after its step was recorded as over. A process can be killed. The local
executor therefore runs a *sync, mutating* handler in a child process (one per execution,
forked from a `forkserver` that has already imported Ai:oS, so a start costs milliseconds),
and kills it when the awaiting task is cancelled: at the action's deadline, or when the user
interrupts the run. Read-only and async handlers stay in the driver process (async ones are
cancelled; a read-only one that cannot be stopped is abandoned with an unknown outcome).

What crosses the process boundary is the same `WorkItem` / `WorkReply` the Ray executor
uses: the handler travels by reference, its arguments and result by pickle, and the metadata
it publishes comes back with the reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from aios.errors import HandlerError, WorkerLost
from aios.runtime.executors.work import WorkItem, WorkReply, execute_work_item
from aios.runtime.pipeline import handler_started, handler_starting

__all__ = ["WorkerProcesses"]

#: The first message a worker sends: it is up, the handler starts now.
_STARTED = "started"

#: Imported once by the fork server, so each forked worker starts with them loaded.
_PRELOAD = ["aios.runtime.executors.warm"]


def _child(conn: Connection, item: WorkItem, sys_path: list[str]) -> None:
    """The worker process: run the item, send the reply back, exit."""
    for entry in reversed(sys_path):  # the driver's import path, as it is now
        if entry not in sys.path:
            sys.path.insert(0, entry)
    conn.send(_STARTED)
    reply = execute_work_item(item)
    try:
        conn.send(reply)
    except Exception as exc:  # the result (or the error) does not pickle
        conn.send(WorkReply(error=HandlerError(
            f"{item.action}: its result could not be sent back from the worker process "
            f"({type(exc).__name__}: {exc}); return JSON-like data"), pid=reply.pid,
            host=reply.host))
    finally:
        conn.close()


class WorkerProcesses:
    """Starts one killable worker process per execution.

    Args:
        method: the multiprocessing start method (default: `forkserver` where available,
            else `spawn`; never `fork`, which is unsafe in a process running threads).
        start_timeout: seconds a worker process may take to come up (the first one starts
            the fork server). An action's deadline counts from when its handler starts.
    """

    def __init__(self, method: str | None = None, *, start_timeout: float = 120.0):
        methods = multiprocessing.get_all_start_methods()
        self.method = method or ("forkserver" if "forkserver" in methods else "spawn")
        self.start_timeout = start_timeout
        self._mp: Any = multiprocessing.get_context(self.method)
        self._lock = threading.Lock()
        self._prepared = False

    def _prepare(self) -> None:
        with self._lock:
            if not self._prepared and self.method == "forkserver":
                self._mp.set_forkserver_preload(_PRELOAD)
            self._prepared = True

    async def run(self, item: WorkItem) -> WorkReply:
        """Run `item` in a new worker process and return its reply.

        Cancelling the awaiting task kills the process at once (the handler is stopped,
        not abandoned).

        Raises:
            WorkerLost: the process died without replying.
        """
        self._prepare()
        handler_starting()  # a deadline waits while the process comes up (bounded below)
        receiver, sender = self._mp.Pipe(duplex=False)
        process = self._mp.Process(target=_child, args=(sender, item, list(sys.path)),
                                   name=f"aios {item.action}", daemon=True)
        try:
            process.start()
        finally:
            sender.close()  # the child holds the only write end: its death means EOF here
        try:
            async with asyncio.timeout(self.start_timeout):
                reply = await self._receive(receiver)
            if reply == _STARTED:  # the deadline counts from here, not from the process start
                handler_started()
                reply = await self._receive(receiver)
        except TimeoutError:
            process.kill()
            raise WorkerLost(f"{item.action}: its worker process did not start within "
                             f"{self.start_timeout:g} s (is the machine overloaded?); the "
                             "handler never ran", action=item.action) from None
        except BaseException:
            process.kill()
            raise
        finally:
            receiver.close()
            process.join(1)  # it has replied (or was killed): it is exiting
            if process.is_alive():  # something in it holds the exit up
                process.kill()
                process.join(1)
        if not isinstance(reply, WorkReply):
            raise WorkerLost(
                f"{item.action}: its worker process died (exit code {process.exitcode}) "
                "before replying; it mutates, so its outcome is unknown: check the host's "
                "state, then start a new run if it should run again (a script that starts "
                "runs must guard its entry point with `if __name__ == \"__main__\":`, since "
                "worker processes import the main module)", action=item.action)
        return reply

    @staticmethod
    async def _receive(receiver: Connection) -> Any:
        """The reply on `receiver`, or None on EOF; waits without blocking the event loop."""
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        fd = receiver.fileno()

        def ready() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(fd, ready)
        try:
            await readable
        finally:
            loop.remove_reader(fd)
        with contextlib.suppress(EOFError, OSError):
            return receiver.recv()
        return None
