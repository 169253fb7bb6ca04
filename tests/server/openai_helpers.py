"""Helpers of the OpenAI-endpoint tests: a manifest on the scripted upstream, a live server."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from aios.server import create_app
from aios.settings import Settings

#: bob's keys may make 2 requests a minute, tim's use 30 tokens a minute; vic's budget is 5
#: tokens (any call exceeds it).
MANIFEST = """\
name: openai-endpoint-test
models:
  gpt-4o:
    provider: openai
    model: gpt-4o
    tier: medium
    base_url: "{upstream}/v1"
    api_key_env: TEST_OPENAI_KEY
    timeout: 10
    capabilities: {{tools: true, json_output: true}}
  cheap:
    provider: openai
    model: gpt-4o-mini
    tier: simple
    base_url: "{upstream}/v1"
    api_key_env: TEST_OPENAI_KEY
    timeout: 10
    capabilities: {{tools: true, json_output: true}}
budgets:
  users:
    vic: {{tokens: 5}}
endpoint:
  users:
    bob: {{rpm: 2}}
    tim: {{tpm: 30}}
"""


def write_manifest(directory: Path, upstream: str) -> Path:
    """The tests' manifest, its models on the scripted server at `upstream`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "manifest.yaml"
    path.write_text(MANIFEST.format(upstream=upstream))
    return path


@contextlib.contextmanager
def serve(settings: Settings, manifest: Path) -> Iterator[str]:
    """`aios serve`'s app on Uvicorn, 127.0.0.1, a free port, in a thread; its base URL."""
    app = create_app(settings, manifest=manifest, resume_interval=0, expiry_interval=0,
                     watch_interval=0)
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
