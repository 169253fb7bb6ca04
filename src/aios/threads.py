"""Blocking work in a daemon thread that a cancellation can walk away from.

`asyncio.to_thread` runs work on the loop's default executor, whose threads are joined when
the loop shuts down and again at interpreter exit: a cancelled command still waits for every
blocking call it started (a handler past its deadline, a local model generating). A daemon
thread is never joined: cancelling the await returns at once, and the process can exit.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

__all__ = ["ThreadAbandoned", "exit_process", "in_daemon_thread", "running", "start_daemon"]

T = TypeVar("T")

#: Daemon threads started here that are still running. Process-wide by nature (threads are):
#: at exit, `exit_process` must know whether abandoned work still runs.
_RUNNING: set[threading.Thread] = set()
_RUNNING_LOCK = threading.Lock()


def start_daemon(target: Callable[[], None], *, name: str) -> threading.Thread:
    """Start `target` in a daemon thread that `running()` and `exit_process` know about."""

    def tracked() -> None:
        try:
            target()
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(threading.current_thread())

    thread = threading.Thread(target=tracked, daemon=True, name=name)
    with _RUNNING_LOCK:
        _RUNNING.add(thread)
    thread.start()
    return thread


def running() -> list[threading.Thread]:
    """The daemon threads started here that have not finished (abandoned work, at exit)."""
    with _RUNNING_LOCK:
        return [thread for thread in _RUNNING if thread.is_alive()]


def exit_process(code: int) -> NoReturn:
    """Exit with `code`; when abandoned work still runs, skip the interpreter's teardown.

    A thread left running in native code (llama.cpp generating) can crash while the
    interpreter and the native libraries tear down around it (static destructors, freed
    models): the process would die of SIGSEGV instead of exiting with `code`. With such a
    thread alive, the standard streams are flushed and the process ends at once
    (`os._exit`); everything durable was committed before (the store closes first).
    """
    if running():
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    raise SystemExit(code)


class ThreadAbandoned(asyncio.CancelledError):
    """The await was cancelled while the blocking call ran; it goes on in its thread.

    It is a cancellation: everything above treats it as one.

    Attributes:
        late: completes when the call finally returns or raises.
    """

    def __init__(self, late: concurrent.futures.Future[Any]):
        super().__init__("the blocking call could not be stopped and runs on in its thread")
        self.late = late


async def in_daemon_thread(fn: Callable[..., T], *args: Any, name: str | None = None) -> T:
    """`fn(*args)` in a new daemon thread, with the caller's context variables (as
    `asyncio.to_thread`: spans and logging context carry over).

    Raises:
        ThreadAbandoned: cancelled while `fn` was running (it goes on running; a caller that
            can tell `fn` to stop, a flag it checks, should do so).
    """
    late: concurrent.futures.Future[T] = concurrent.futures.Future()
    context = contextvars.copy_context()

    def target() -> None:
        if not late.set_running_or_notify_cancel():
            return  # cancelled before it started: nothing ran
        try:
            value = context.run(fn, *args)
        except BaseException as exc:  # handed to the awaiting side, whatever it is
            late.set_exception(exc)
        else:
            late.set_result(value)

    start_daemon(target, name=name or str(getattr(fn, "__name__", "aios-blocking")))
    try:
        return await asyncio.wrap_future(late)
    except asyncio.CancelledError as exc:
        if late.done():  # it never started, or it had just finished
            raise
        raise ThreadAbandoned(late) from exc
