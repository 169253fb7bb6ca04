"""Helpers of the OpenAI-endpoint tests: a manifest on the scripted upstream, a live server."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.endpoint import serve

from aios.settings import Settings

__all__ = ["MANIFEST", "REDIS_URL", "redis_settings", "serve", "write_manifest"]

REDIS_URL = os.environ.get("AIOS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@contextlib.contextmanager
def redis_settings(tmp_path: Path) -> Iterator[tuple[Settings, Any, str]]:
    """Settings whose rate limits live in the machine's Redis under a fresh prefix, a Redis
    client and the prefix; the prefix's keys are deleted afterwards (skips without Redis)."""
    import redis

    probe = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        probe.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL} (set AIOS_TEST_REDIS_URL)")
    prefix = f"aios-test-{uuid.uuid4().hex}"
    try:
        yield (Settings(home=tmp_path / "home", database_url=None, redis_url=REDIS_URL,
                        redis_prefix=prefix), probe, prefix)
    finally:
        for key in probe.scan_iter(f"{prefix}:*"):
            probe.delete(key)
        probe.close()

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
