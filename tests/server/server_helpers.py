"""Helpers of the server tests: a manifest on disk, users with tokens, polling."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from aios.auth import Role, TokenStore, UserStore
from aios.settings import Settings
from aios.store import Store

T = TypeVar("T")

MANIFEST = """\
name: server-test
env:
  MARKER: {marker}
  FLAKY: {flaky}
  SLOW_SECONDS: "30"
agents:
  demo:
    description: helpers of the server tests
    actions:
      probe: {{handler: "srv_handlers:probe", description: "Look at something."}}
      write:
        handler: "srv_handlers:write"
        description: "Append a line to the marker file."
        mutates: true
        criticality: critical
        inputs:
          type: object
          properties: {{note: {{type: string}}}}
          additionalProperties: false
      slow: {{handler: "srv_handlers:slow", timeout: null}}
      flaky: {{handler: "srv_handlers:flaky"}}
sequences:
  deploy:
    description: two checks, the critical change, a verification
    steps:
      - {{id: check, action: demo.probe}}
      - {{id: inventory, action: demo.probe}}
      - {{id: change, action: demo.write, depends_on: [check, inventory], with: {{note: planned}}}}
      - {{id: verify, action: demo.probe, depends_on: [change]}}
  quick:
    steps:
      - {{id: one, action: demo.probe}}
      - {{id: two, action: demo.probe}}
  hold:
    steps:
      - {{id: wait, action: demo.slow}}
  shaky:
    steps:
      - {{id: first, action: demo.probe}}
      - {{id: shaky, action: demo.flaky}}
  guarded:
    description: a check that can fail, then the critical change
    steps:
      - {{id: gate, action: demo.flaky}}
      - {{id: change, action: demo.write, depends_on: [gate], with: {{note: guarded}}}}
"""

#: name -> role; every user's password is "<name>-pw".
PEOPLE = {"ada": Role.admin, "alice": Role.approver, "bob": Role.approver, "vic": Role.viewer}


def write_manifest(directory: Path) -> Path:
    """The tests' manifest; its marker file is `directory/marker.txt`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "manifest.yaml"
    path.write_text(MANIFEST.format(marker=directory / "marker.txt",
                                    flaky=directory / "flaky"))
    return path


def add_people(settings: Settings) -> dict[str, str]:
    """Create PEOPLE in the store; returns name -> API token."""

    async def go() -> dict[str, str]:
        store = await Store.open(settings.store_url())
        try:
            tokens: dict[str, str] = {}
            for name, role in PEOPLE.items():
                await UserStore(store).add(name, role, password=f"{name}-pw")
                tokens[name] = (await TokenStore(store).issue(name, expires_in=3600)).secret
            return tokens
        finally:
            await store.close()

    return asyncio.run(go())


def login(client: Any, name: str) -> str:
    """Log `name` in to the dashboard of a TestClient; the CSRF token of the session."""
    client.cookies.clear()
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post("/login", data={"name": name, "password": f"{name}-pw",
                                       "csrf": token.group(1)}, follow_redirects=False)
    assert done.status_code == 303
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert csrf is not None
    return csrf.group(1)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of `token`."""
    return {"Authorization": f"Bearer {token}"}


def wait_for(probe: Callable[[], T | None], *, timeout: float = 30.0, every: float = 0.05,
             what: str = "the condition") -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}; last value {last!r}")
