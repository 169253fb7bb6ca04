"""The OpenAI-compatible endpoint in front of a REAL upstream: llama.cpp's OpenAI-compatible
server (`python -m llama_cpp.server`) serving the packaged SmolLM2-135M model.

The model is weak (it answers, not well): these tests check the plumbing with real output,
real usage figures from the server, and the attribution in `aios metrics`, not the answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai import OpenAI
from openai_helpers import serve
from server_helpers import add_people, wait_for
from tests.llm.test_llm_llama_server import llama_server  # noqa: F401  (a fixture)
from typer.testing import CliRunner

from aios.cli.main import app as cli
from aios.settings import Settings

pytestmark = pytest.mark.slow

MANIFEST = """\
models:
  box: {{provider: openai, model: smollm2, base_url: "{base}", context_window: 2048,
        prices: {{input: 1.0, output: 2.0}}, timeout: 120}}
routing:
  cache: {{enabled: false}}
"""


def test_endpoint_in_front_of_llama_cpp_server(llama_server: str, tmp_path: Path) -> None:  # noqa: F811
    settings = Settings(home=tmp_path / "home", database_url=None)
    keys = add_people(settings)
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(MANIFEST.format(base=llama_server))
    with serve(settings, manifest) as url:
        client = OpenAI(base_url=url + "/v1", api_key=keys["alice"], max_retries=0)
        answer = client.chat.completions.create(
            model="box", max_tokens=24, temperature=0,
            messages=[{"role": "user", "content": "Name a colour."}])
        assert answer.model == "box"
        assert answer.choices[0].message.content
        assert answer.usage is not None and answer.usage.completion_tokens > 0
        assert (answer.usage.model_extra or {})["aios_counted"] is False  # the server counted

        chunks = list(client.chat.completions.create(
            model="auto", max_tokens=24, temperature=0, stream=True,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "Name an animal."}]))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        usage = chunks[-1].usage
        assert usage is not None and usage.completion_tokens > 0

    def alice() -> dict[str, object] | None:
        result = CliRunner().invoke(cli, ["metrics", "--json"],
                                    env={"AIOS_HOME": str(settings.home)})
        assert result.exit_code == 0, result.output
        found = [g for g in json.loads(result.stdout)["by"]["user"] if g["key"] == "alice"]
        return found[0] if found and found[0]["llm_calls"] == 2 else None

    row = wait_for(alice, what="alice's two calls in aios metrics")
    assert row["cost_usd"] > 0  # type: ignore[operator]
