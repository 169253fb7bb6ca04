"""Grammar-constrained tool calls of the packaged 135M model (llama-cpp-python), for real.

What is checked is the form, never the judgement: every reply parses, names one of the
tools and fits its arguments' schema. Which tool the 135M model picks is close to chance.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import jsonschema
import pytest

from aios.llm import LLMRequest, model_infos
from aios.llm.providers import LocalProvider

pytestmark = pytest.mark.slow

PATH = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
TOOLS = (
    {"type": "function", "function": {"name": "ops__usage", "description": "How full a disk is.",
                                      "parameters": PATH}},
    {"type": "function", "function": {"name": "ops__uptime",
                                      "description": "How long the host has been up.",
                                      "parameters": {"type": "object", "properties": {}}}},
)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalProvider]:
    yield LocalProvider(model_infos({})["local"])


@pytest.mark.parametrize("prompt", ["How full is the disk at /var?", "Is the host up?"])
async def test_every_reply_of_the_135m_model_is_a_valid_call_or_an_answer(
        local: LocalProvider, prompt: str) -> None:
    response = await local.complete(LLMRequest.of(prompt, tools=TOOLS, max_tokens=80,
                                                  temperature=0), local.model)
    if not response.tool_calls:
        assert response.text  # an answer
        return
    (call,) = response.tool_calls
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
    assert call.name in schemas and response.finish_reason == "tool_calls"
    jsonschema.validate(json.loads(call.arguments), schemas[call.name])
