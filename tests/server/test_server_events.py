"""Live events: the runtime's listener feeds per-client queues, streamed as server-sent
events by a real Uvicorn server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
from server_helpers import bearer

from aios.runtime.events import RunFinished, StepFinished
from aios.server.hub import EventHub


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs from the lines of a text/event-stream."""
    kind, data = "message", ""
    for line in lines:
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif not line.strip() and data:
            yield kind, json.loads(data)
            kind, data = "message", ""


def test_a_run_streams_its_events_in_order(live: str, tokens: dict[str, str]) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    with httpx.Client(base_url=live, timeout=30) as http, \
            http.stream("GET", "/api/events", headers=bearer(tokens["vic"])) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = _events(stream.iter_lines())
        assert next(events)[0] == "hello"
        started = http.post("/api/runs", json={"sequence": "quick"},
                            headers=bearer(tokens["alice"]))
        run_id = started.json()["id"]
        for kind, data in events:
            if data.get("run_id") == run_id:
                seen.append((kind, data))
            if kind == "run.finished" and data.get("run_id") == run_id:
                break
    kinds = [(k, d.get("step_id")) for k, d in seen]
    assert kinds == [("run.started", None), ("step.started", "one"), ("step.finished", "one"),
                     ("step.started", "two"), ("step.finished", "two"), ("run.finished", None)]
    assert seen[0][1]["steps"] == ["one", "two"]
    assert seen[2][1]["status"] == "succeeded" and seen[-1][1]["status"] == "succeeded"


def test_a_stream_can_follow_one_run_and_sees_approvals(live: str,
                                                        tokens: dict[str, str]) -> None:
    with httpx.Client(base_url=live, timeout=30) as http:
        run_id = http.post("/api/runs", json={"sequence": "deploy"},
                           headers=bearer(tokens["ada"])).json()["id"]
        deadline = time.monotonic() + 30
        while http.get(f"/api/runs/{run_id}", headers=bearer(tokens["vic"])).json()["status"] \
                != "waiting":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        request_id = http.get(f"/api/runs/{run_id}", headers=bearer(tokens["vic"])
                              ).json()["approvals"][0]["id"]
        with http.stream("GET", f"/api/events?run_id={run_id}",
                         headers=bearer(tokens["vic"])) as stream:
            events = _events(stream.iter_lines())
            assert next(events)[0] == "hello"
            http.post("/api/runs", json={"sequence": "quick"}, headers=bearer(tokens["alice"]))
            for name in ("alice", "bob"):
                http.post(f"/api/approvals/{request_id}/approve", json={},
                          headers=bearer(tokens[name]))
            kinds = []
            for kind, data in events:
                assert data.get("run_id") == run_id  # the other run's events are filtered out
                kinds.append(kind)
                if kind == "run.finished":
                    assert data["status"] == "succeeded"
                    break
    assert kinds[:3] == ["approval.decided", "approval.decided", "approval.approved"]
    assert "run.started" in kinds and kinds[-1] == "run.finished"


def test_the_stream_needs_credentials_and_accepts_a_session_cookie(
        live: str, tokens: dict[str, str]) -> None:
    with httpx.Client(base_url=live, timeout=30) as http:
        assert http.get("/api/events").status_code == 401
        http.cookies.set("aios_session", tokens["vic"])
        with http.stream("GET", "/api/events") as stream:
            assert stream.status_code == 200
            assert next(_events(stream.iter_lines()))[0] == "hello"


async def test_a_slow_subscriber_is_told_to_resync_instead_of_blocking() -> None:
    hub = EventHub(max_queue=3)
    with hub.subscribe() as queue:
        for i in range(5):
            hub.runtime_listener(StepFinished("r", f"s{i}", "a.b", "succeeded", 1.0))
        got = [queue.get_nowait() for _ in range(queue.qsize())]
    # The backlog (s0..s2) was dropped for a resync; what came after it is still delivered.
    assert [(m.kind, m.data.get("step_id")) for m in got if m is not None] == [
        ("resync", None), ("step.finished", "s4")]


async def test_events_published_from_another_thread_arrive() -> None:
    hub = EventHub()
    with hub.subscribe() as queue:
        thread = threading.Thread(target=hub.runtime_listener,
                                  args=(RunFinished("r1", "succeeded"),))
        thread.start()
        thread.join()
        message = await asyncio.wait_for(queue.get(), 5)
    assert message is not None and message.kind == "run.finished"
    assert message.data == {"run_id": "r1", "status": "succeeded", "error": None}


async def test_a_late_client_gets_what_it_missed_and_a_stale_one_is_told_to_resync() -> None:
    hub = EventHub(history=3)
    assert hub.since(0) == []
    for i in range(5):
        hub.runtime_listener(StepFinished("r", f"s{i}", "a.b", "succeeded", 1.0))
    assert hub.last_id == 5
    assert [m.data["step_id"] for m in hub.since(2)] == ["s2", "s3", "s4"]
    assert hub.since(5) == []
    assert [m.kind for m in hub.since(1)] == ["resync"]  # s1 is no longer kept
    assert [m.kind for m in hub.since(9)] == ["resync"]  # numbers from before a restart


def test_a_page_drawn_before_events_replays_them_on_connect(live: str,
                                                             tokens: dict[str, str]) -> None:
    with httpx.Client(base_url=live, timeout=30) as http:
        last = 0
        with http.stream("GET", "/api/events", headers=bearer(tokens["vic"])) as stream:
            last = next(_events(stream.iter_lines()))[1]["last_id"]
        run_id = http.post("/api/runs", json={"sequence": "quick"},
                           headers=bearer(tokens["alice"])).json()["id"]
        deadline = time.monotonic() + 30
        while http.get(f"/api/runs/{run_id}", headers=bearer(tokens["vic"])).json()["status"] \
                != "succeeded":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # Connecting only now, from where the page stopped: the whole run is replayed.
        with http.stream("GET", f"/api/events?after={last}&run_id={run_id}",
                         headers=bearer(tokens["vic"])) as stream:
            kinds = []
            for kind, _ in _events(stream.iter_lines()):
                kinds.append(kind)
                if kind == "run.finished":
                    break
    assert kinds[0] == "hello" and kinds[1] == "run.started" and len(kinds) == 7
