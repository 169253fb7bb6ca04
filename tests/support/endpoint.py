"""`aios serve`'s app on Uvicorn in a thread (127.0.0.1, a free port), for tests and benches."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["serve"]


@contextlib.contextmanager
def serve(settings: object, manifest: Path) -> Iterator[str]:
    """The app for `settings` (an `aios.settings.Settings`) and `manifest`; its base URL."""
    import uvicorn

    from aios.server import create_app

    app = create_app(settings, manifest=manifest, resume_interval=0,  # type: ignore[arg-type]
                     expiry_interval=0, watch_interval=0)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
