"""`create_app(on_started=...)`: called once start-up is done, before the first request
(`aios serve` freezes what start-up made for the garbage collector there)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from aios.server import create_app
from aios.settings import Settings


def test_on_started_runs_once_after_start_up(settings: Settings, manifest_path: Path,
                                             tokens: dict[str, str]) -> None:
    seen: list[bool] = []
    app = create_app(settings, manifest=manifest_path, expiry_interval=0, resume_interval=0,
                     watch_interval=0,
                     on_started=lambda: seen.append(hasattr(app.state, "services")))
    assert seen == []  # not at construction
    with TestClient(app) as client:
        assert seen == [True]  # the services were ready when it ran
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/runs", headers={
            "Authorization": f"Bearer {tokens['ada']}"}).status_code == 200
    assert seen == [True]
