"""The composition root: the gateway and runtime `aios.app` builds have every layer wired."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.scripted_llm import Reply, ScriptedLLMServer

from aios.app import load_manifest, open_gateway, open_store
from aios.settings import Settings


def manifest_for(tmp_path: Path, primary: str, backup: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(f"""
models:
  primary: {{provider: openai, model: p, base_url: "{primary}/v1", api_key_env: TEST_KEY,
            prices: {{input: 1.0, output: 1.0}}}}
  backup: {{provider: openai, model: b, base_url: "{backup}/v1", api_key_env: TEST_KEY,
           prices: {{input: 1.0, output: 1.0}}}}
reliability:
  primary: {{retry: {{attempts: 2, initial_backoff_s: 0.01, max_backoff_s: 0.01}},
            fallback: [backup]}}
""")
    return path


async def test_a_failing_model_falls_back_through_the_wired_gateway(
        tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_KEY", "sk-test")
    with ScriptedLLMServer() as down, ScriptedLLMServer() as up:
        down.default = Reply.error(503, "down for maintenance")
        up.default = Reply.ok("from the backup", usage=(5, 3))
        manifest = load_manifest(manifest_for(tmp_path, down.url, up.url))
        async with open_store(settings) as store, \
                open_gateway(manifest, store=store, settings=settings) as gateway:
            reply = await gateway.complete("hello there", model="primary", cache=False)
    assert reply.text == "from the backup"
    assert reply.model == "backup"
    assert len(down.requests) == 2, "the primary was retried once before falling back"
    assert len(up.requests) == 1
