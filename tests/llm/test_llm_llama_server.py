"""The `openai` provider against a REAL OpenAI-compatible server: llama.cpp's own
(`python -m llama_cpp.server`) serving the packaged SmolLM2 model, through the gateway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.llama_server import llama_server as serve

from aios.llm import ModelPrices, ModelSpec, build_gateway

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server's base URL (`http://127.0.0.1:PORT/v1`), stopped at the end of the session."""
    pytest.importorskip("uvicorn", reason="pip install 'aios[llama-server]'")
    try:
        with serve(tmp_path_factory.mktemp("llama-server")) as base:
            yield base
    except RuntimeError as exc:
        pytest.fail(str(exc))


def server_model(base: str) -> dict[str, ModelSpec]:
    return {"box": ModelSpec(provider="openai", model="smollm2", base_url=base,
                             context_window=2048, prices=ModelPrices(input=0, output=0),
                             timeout=120)}


async def test_complete_through_the_gateway(llama_server):
    gateway = build_gateway(server_model(llama_server), env={})  # a local server needs no key
    try:
        response = await gateway.complete("What is 2+2?", max_tokens=40, temperature=0)
    finally:
        await gateway.aclose()
    assert "4" in response.text
    assert response.model == "box" and response.provider == "openai"
    assert response.usage.input_tokens == 37  # reported by the server, not counted
    assert not response.usage.counted and response.cost_usd == 0.0


async def test_stream_through_the_gateway_counts_usage_the_server_omits(llama_server):
    gateway = build_gateway(server_model(llama_server), env={})
    try:
        chunks = [c async for c in gateway.stream("Name three colours.", max_tokens=20,
                                                  temperature=0)]
    finally:
        await gateway.aclose()
    texts = [c.text for c in chunks if c.text]
    assert len(texts) >= 3
    final = chunks[-1].response
    assert final is not None and final.text == "".join(texts)
    # llama.cpp's server ignores stream_options.include_usage: the gateway counted.
    assert final.usage.counted and final.usage.output_tokens > 0
