"""The manifest's actions as OpenAI Agents SDK tools, driven by the SDK's own Runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aios.app import open_runtime
from aios.approvals import ApprovalService
from aios.integrations import agents_sdk_tools
from aios.manifest import Manifest
from aios.runtime import ActionContext, handler
from aios.settings import Settings

# A submodule, not `agents` itself: without the SDK, `agents` is this suite's own tests/agents
# folder (a namespace package on the test path), which would import and then fail.
pytest.importorskip("agents.run", reason="pip install 'aios[agents-sdk]'")
import agents  # the SDK, now known to be installed

RAN: list[str] = []


@handler("sdk.usage")
def usage(ctx: ActionContext) -> dict[str, Any]:
    RAN.append(f"usage {ctx.args['path']}")
    return {"used_pct": 91}


@handler("sdk.cleanup")
def cleanup(ctx: ActionContext) -> dict[str, Any]:
    RAN.append(f"cleanup {ctx.args['path']}")
    return {"freed_mb": 120}


PATH = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
MANIFEST = Manifest.model_validate({"agents": {"ops": {"actions": {
    "usage": {"handler": "sdk.usage", "description": "How full a disk is.", "inputs": PATH},
    "cleanup": {"handler": "sdk.cleanup", "description": "Delete temp files.",
                "mutates": True, "criticality": "high", "inputs": PATH}}}}})


def scripted_model(calls: list[tuple[str, dict[str, Any]]]) -> Any:
    """An SDK `Model` that makes `calls` one per turn, then answers; it keeps the inputs."""
    from agents.items import ModelResponse
    from agents.models.interface import Model
    from agents.usage import Usage
    from openai.types.responses import (
        ResponseFunctionToolCall,
        ResponseOutputMessage,
        ResponseOutputText,
    )

    class Scripted(Model):
        seen: list[Any] = []

        async def get_response(self, system_instructions: Any, input: Any, *args: Any,
                               **kw: Any) -> ModelResponse:
            self.seen.append(input)
            turn = len(self.seen) - 1
            if turn < len(calls):
                name, args = calls[turn]
                out: Any = ResponseFunctionToolCall(
                    id=f"f{turn}", call_id=f"c{turn}", name=name, arguments=json.dumps(args),
                    type="function_call", status="completed")
            else:
                out = ResponseOutputMessage(id="m", type="message", role="assistant",
                                            status="completed", content=[ResponseOutputText(
                                                text="done", type="output_text",
                                                annotations=[])])
            return ModelResponse(output=[out], usage=Usage(), response_id=None)

        def stream_response(self, *args: Any, **kw: Any) -> Any:
            raise NotImplementedError

    return Scripted()


def outputs(model: Any) -> list[str]:
    last = model.seen[-1]
    return [str(item["output"]) for item in last
            if isinstance(item, dict) and item.get("type") == "function_call_output"]


async def test_sdk_agents_call_gated_aios_actions(tmp_path: Path) -> None:
    RAN.clear()
    agents.set_trace_processors([])
    settings = Settings(home=tmp_path / "home", database_url=None)
    model = scripted_model([("ops__usage", {"path": "/var"}),
                            ("ops__cleanup", {"path": "/var/tmp"})])
    async with open_runtime(MANIFEST, settings=settings, handlers=[usage, cleanup]) as runtime:
        tools = agents_sdk_tools(runtime, ["ops.usage", "ops.cleanup"])
        assert [t.name for t in tools] == ["ops__usage", "ops__cleanup"]
        sdk_agent = agents.Agent(name="ops", instructions="Keep disks free.", model=model,
                                 tools=tools)
        result = await agents.Runner.run(sdk_agent, "free space on /var")
        queue = await ApprovalService(runtime.runs.store).queue()
    assert result.final_output == "done"
    assert RAN == ["usage /var"]  # the high-criticality cleanup waits for a person
    answers = outputs(model)
    assert json.loads(answers[0]) == {"used_pct": 91}
    assert [(r.action, r.current_args) for r in queue] == [("ops.cleanup",
                                                           {"path": "/var/tmp"})]
    assert answers[1].startswith(f"waiting for approval {queue[0].id}: not run")
