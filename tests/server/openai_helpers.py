"""Helpers of the OpenAI-endpoint tests: a manifest on the scripted upstream, a live server."""

from __future__ import annotations

from pathlib import Path

from tests.support.endpoint import serve

__all__ = ["MANIFEST", "serve", "write_manifest"]

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
