"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against
`aios serve` in a subprocess: log in, start a run and watch it appear live, open its trace,
approve the critical step as two different approvers, see the run finish.

Screenshots are kept under test-artifacts/browser/ (not committed).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

HERE = Path(__file__).parent
ARTIFACTS = HERE.parents[1] / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
AIOS = [sys.executable, "-m", "aios.cli"]

MANIFEST = """\
name: browser-e2e
description: two quick read-only checks, one critical change, a report
env:
  MARKER: {marker}
agents:
  e2e:
    description: end-to-end helpers
    actions:
      note: {{handler: "e2e_handlers:note", description: "Look at the host (read-only)."}}
      mutate:
        handler: "e2e_handlers:mutate"
        description: "Write the marker file."
        mutates: true
        criticality: critical
sequences:
  release:
    description: check, change (two approvers), report
    steps:
      - {{id: check, action: e2e.note}}
      - {{id: inventory, action: e2e.note}}
      - {{id: change, action: e2e.mutate, depends_on: [check, inventory]}}
      - {{id: report, action: e2e.note, depends_on: [change]}}
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is absent: install Debian's chromium "
                              "(`apt-get install -y chromium`; .ci/run does)"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "AIOS_HOME": str(home), "PYTHONPATH": str(HERE)}
    env.pop("AIOS_DATABASE_URL", None)
    return env


def _add_user(home: Path, name: str, role: str) -> None:
    password = f"{name}-pw"
    proc = subprocess.run([*AIOS, "users", "add", name, "--role", role, "--password"],
                          input=f"{password}\n{password}\n", capture_output=True, text=True,
                          env=_env(home), timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, object]]:
    """`aios serve` on a free port of 127.0.0.1 with a temporary home and the test manifest."""
    home = tmp_path / "home"
    marker = tmp_path / "marker.txt"
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(MANIFEST.format(marker=marker))
    for name, role in (("ada", "admin"), ("alice", "approver"), ("bob", "approver")):
        _add_user(home, name, role)
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / "server.log").open("w")
    proc = subprocess.Popen([*AIOS, "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--manifest", str(manifest), "--log-level", "warning"],
                            env=_env(home), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, (ARTIFACTS / "server.log").read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "aios serve did not answer /healthz in 60 s"
        time.sleep(0.2)
    try:
        yield {"url": url, "marker": marker}
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def _log_in(page: Page, url: str, name: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#name", name)
    page.fill("#password", f"{name}-pw")
    page.click("#login-submit")
    page.wait_for_selector("#current-user")
    assert page.inner_text("#current-user") == name


def test_a_run_is_started_watched_approved_twice_and_finishes(
        server: dict[str, object]) -> None:
    url = str(server["url"])
    marker = Path(str(server["marker"]))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            viewport = {"width": 1360, "height": 900}
            # Alice watches the overview; the run must appear there without a reload.
            watcher = browser.new_context(viewport=viewport).new_page()
            _log_in(watcher, url, "alice")
            watcher.evaluate("window.__loadedOnce = true")
            expect(watcher.locator("#live")).to_have_class("live on")

            # Ada starts the release sequence from her overview.
            admin = browser.new_context(viewport=viewport)
            operator = admin.new_page()
            _log_in(operator, url, "ada")
            operator.select_option("#sequence", "release")
            operator.click("#start-sequence-submit")
            operator.wait_for_url(f"{url}/runs/*")
            run_id = operator.url.rsplit("/", 1)[1]
            expect(operator.locator("#run-status")).to_have_text("waiting")
            expect(operator.locator("#dag-change")).to_have_class("dag-node st-waiting")
            expect(operator.locator("#dag-check")).to_have_class("dag-node st-succeeded")
            # The waiting run links its approval request (live, never "(root not stored)").
            expect(operator.locator("#requests-body a.mono").first).to_be_visible()
            assert "(root not stored)" not in operator.content()
            operator.screenshot(path=str(ARTIFACTS / "run-waiting.png"), full_page=True)

            # At 390 px (a phone) no page is wider than the screen.
            phone = browser.new_context(viewport={"width": 390, "height": 844})
            small = phone.new_page()
            _log_in(small, url, "ada")
            for path in ("/", f"/runs/{run_id}", "/runs", "/approvals", "/traces", "/redteam",
                         "/evals"):
                small.goto(url + path)
                width = small.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, f"{path} is {width} px wide at 390 px"
            # An admin can start a red-team run from the red-team page.
            small.goto(url + "/redteam")
            expect(small.locator("#start-redteam button")).to_be_visible()
            small.screenshot(path=str(ARTIFACTS / "redteam-390.png"), full_page=True)
            phone.close()

            row = watcher.locator(f"#run-{run_id}")
            expect(row).to_be_visible()
            expect(row.locator(".badge")).to_have_text("waiting")
            assert watcher.evaluate("window.__loadedOnce") is True  # updated live, no reload
            watcher.screenshot(path=str(ARTIFACTS / "overview-live.png"), full_page=True)

            # The run's trace, as a waterfall.
            traces = admin.new_page()
            deadline = time.monotonic() + 30
            while True:  # spans reach the store in batches, a moment after they end
                traces.goto(f"{url}/traces?run_id={run_id}")
                if traces.locator("table.grid a.mono").count() or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            traces.locator("table.grid a.mono").first.click()
            traces.wait_for_selector("svg.waterfall")
            assert traces.locator("g.wf-action").count() >= 2
            traces.screenshot(path=str(ARTIFACTS / "trace.png"), full_page=True)

            # Two different approvers approve the critical action.
            watcher.goto(f"{url}/approvals")
            watcher.locator("#pending-body a.mono").first.click()
            expect(watcher.locator("#approval-count")).to_have_text("0 / 2")
            watcher.screenshot(path=str(ARTIFACTS / "approval.png"), full_page=True)
            watcher.click("#approve")
            expect(watcher.locator(".notice")).to_contain_text("approved (1 of 2)")
            assert marker.exists() is False
            request_url = watcher.url.split("?")[0]
            watcher.click("#logout")
            watcher.wait_for_url(f"{url}/login")
            _log_in(watcher, url, "bob")
            watcher.goto(request_url)
            watcher.click("#approve")
            expect(watcher.locator(".notice")).to_contain_text("status approved")

            # Ada's run page, still open, follows the resumed run to its end.
            expect(operator.locator("#run-status")).to_have_text("succeeded", timeout=30_000)
            expect(operator.locator("#dag-report")).to_have_class("dag-node st-succeeded")
            operator.reload()
            operator.screenshot(path=str(ARTIFACTS / "run-succeeded.png"), full_page=True)
            dashboard = admin.new_page()
            dashboard.goto(f"{url}/")
            dashboard.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert marker.read_text().splitlines() == [f"{run_id} change"]

