"""The `openai` provider against a REAL OpenAI-compatible server: llama.cpp's own
(`python -m llama_cpp.server`) serving the packaged SmolLM2 model, through the gateway."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from aios.llm import ModelPrices, ModelSpec, build_gateway
from aios.llm.providers import packaged_model_path

pytestmark = pytest.mark.slow

_STARTUP_S = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server's base URL (`http://127.0.0.1:PORT/v1`), killed at the end of the session."""
    pytest.importorskip("uvicorn", reason="pip install 'aios[llama-server]'")
    port = _free_port()
    # A file, not a pipe: llama.cpp logs a lot while loading and would block on a full pipe.
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_model_path()),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + _STARTUP_S
        while True:
            if process.poll() is not None:
                err = log_path.read_text(errors="replace")
                pytest.fail(f"llama_cpp.server exited with {process.returncode}: {err[-2000:]}")
            try:
                with urllib.request.urlopen(base + "/models", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not answer within {_STARTUP_S:g}s")
            time.sleep(0.25)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


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
