"""llama.cpp's own OpenAI-compatible server (`python -m llama_cpp.server`) serving the packaged
SmolLM2 model on a free loopback port, for tests that talk to a real server.

Ready when `/v1/models` answers (polled, no fixed sleep); terminated (killed if it does not
stop) on exit. OpenMP threads wait passively and two threads serve, so the server shares a
loaded machine's cores instead of spinning on them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aios.llm.providers import packaged_model_path

__all__ = ["STARTUP_S", "llama_server"]

#: How long the server may take to load the model and answer.
STARTUP_S = 180.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server(log_dir: Path, *extra: str, n_ctx: int = 2048) -> Iterator[str]:
    """The server's base URL (`http://127.0.0.1:PORT/v1`); `extra` are more server options.

    Raises:
        RuntimeError: the server exited, or did not answer within `STARTUP_S` (with the end
            of its log).
    """
    port = _free_port()
    # A file, not a pipe: llama.cpp logs a lot while loading and would block on a full pipe.
    log_path = log_dir / f"llama-server-{port}.log"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_model_path()),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
             "--n_threads", "2", "--n_threads_batch", "2", *extra],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}/v1"
        try:
            _wait_ready(process, base, log_path)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_ready(process: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while True:
        if process.poll() is not None:
            err = log_path.read_text(errors="replace")
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}: "
                               f"{err[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/models", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"llama_cpp.server did not answer within {STARTUP_S:g}s: "
                               f"{log_path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.25)  # between two polls of the condition
