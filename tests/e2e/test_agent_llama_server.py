"""The agent loop against llama.cpp's own OpenAI-compatible server with the packaged 135M model.

`python -m llama_cpp.server` serves SmolLM2-135M on loopback; a manifest model of the `openai`
provider points at it with `tool_grammar: true`, so each reply is constrained by the server's
grammar (`response_format` with a JSON Schema) to one valid call of a tool or an answer. The
agent has two read-only tools, the second needing the first one's output: the test checks
that the loop, with the real server, ran both through the pipeline, the second with the value
the first returned, and ended on the model's final answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.llama_server import llama_server

from aios.app import load_manifest, open_runtime
from aios.runtime import ActionContext, handler
from aios.runtime.agent_loop import END_REASONS
from aios.settings import Settings

pytestmark = pytest.mark.slow

CITIES = {"alice": "Paris"}


@handler("tls.city")
def city(ctx: ActionContext) -> dict[str, Any]:
    return {"city": CITIES.get(str(ctx.args["person"]).strip().lower(), "unknown")}


@handler("tls.weather")
def weather(ctx: ActionContext) -> dict[str, Any]:
    place = str(ctx.args["city"])
    return {"city": place, "weather": "sunny" if place == "Paris" else "unknown city"}


HANDLERS = [city, weather]

MANIFEST = """\
name: llama-agent
models:
  box:
    provider: openai
    model: smollm2
    base_url: "{url}"
    context_window: 2048
    max_output_tokens: 48
    timeout: 600
    capabilities: {{tools: true}}
    prices: {{input: 0, output: 0}}
    params: {{tool_grammar: true, extra_body: {{temperature: 0}}}}
reliability:
  box: {{timeout_s: 600, retry: {{attempts: 1}}}}
agents:
  weather:
    model: box
    max_turns: 4
    instructions: You are a weather bot. Never guess; call a tool first.
{tool_choice}
    actions:
      home_city:
        handler: tls.city
        description: The city a person lives in.
        inputs: {{type: object, properties: {{person: {{type: string}}}}, required: [person]}}
      forecast:
        handler: tls.weather
        description: The weather in a city.
        inputs: {{type: object, properties: {{city: {{type: string}}}}, required: [city]}}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("uvicorn", reason="pip install 'aios[llama-server]'")
    try:
        with llama_server(tmp_path_factory.mktemp("llama-agent"), n_ctx=1024) as base:
            yield base
    except RuntimeError as exc:
        pytest.fail(str(exc))


async def test_the_135m_model_completes_a_two_tool_task_under_the_grammar(
        server: str, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(MANIFEST.format(url=server,
                                    tool_choice="    tool_choice: [home_city, forecast, none]"))
    loaded = load_manifest(path, handlers=HANDLERS)
    async with open_runtime(loaded, settings=settings, handlers=HANDLERS) as runtime:
        result = await runtime.run_agent("weather", "What is the weather where Alice lives?")
    agent = result.agent
    assert agent is not None
    conversation = json.dumps(agent.conversation, indent=1)
    tools = [e for e in agent.conversation if e["kind"] == "tool"]
    # Every call the model made was valid (the grammar): none was refused.
    assert all(e["status"] == "succeeded" for e in tools), conversation
    ran = [(e["action"], e["args"]) for e in tools]
    assert ran[:2] == [("weather.home_city", {"person": "Alice"}),
                       ("weather.forecast", {"city": "Paris"})], conversation
    assert json.loads(tools[1]["content"]) == {"city": "Paris", "weather": "sunny"}
    assert agent.end_reason == "final_answer" and result.status == "succeeded", conversation
    assert agent.answer is not None


async def test_left_to_choose_the_135m_model_makes_only_valid_calls(
        server: str, settings: Settings, tmp_path: Path) -> None:
    # Without a plan in `tool_choice`, the grammar still makes every call valid; the choices
    # are the model's own (at temperature 0 it calls both tools right, then calls the second
    # again instead of answering, and the loop ends the run on `repeated_call`).
    path = tmp_path / "agent.yaml"
    path.write_text(MANIFEST.format(url=server, tool_choice=""))
    loaded = load_manifest(path, handlers=HANDLERS)
    async with open_runtime(loaded, settings=settings, handlers=HANDLERS) as runtime:
        result = await runtime.run_agent("weather", "What is the weather where Alice lives?")
    agent = result.agent
    assert agent is not None and agent.end_reason in END_REASONS
    conversation = json.dumps(agent.conversation, indent=1)
    tools = [e for e in agent.conversation if e["kind"] == "tool"]
    assert all(e["status"] in ("succeeded", "repeated") for e in tools), conversation
