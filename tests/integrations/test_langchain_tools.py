"""The manifest's actions as LangChain tools, with the real langchain-core.

A read-only action runs; a high-criticality change files an approval request and returns
"waiting for approval <id>" (it does not run, and does not raise); arguments that do not fit
the action's schema come back as the tool's answer. The same runs and audit records as
`aios exec` are written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aios.app import open_runtime
from aios.approvals import ApprovalService
from aios.approvals.audit import AuditLog
from aios.integrations import gated_tools, langchain_tools
from aios.manifest import Manifest
from aios.runtime import ActionContext, handler
from aios.settings import Settings

pytest.importorskip("langchain_core.tools", reason="pip install 'aios[langchain]'")
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

RAN: list[str] = []


@handler("lc.usage")
def usage(ctx: ActionContext) -> dict[str, Any]:
    RAN.append(f"usage {ctx.args['path']}")
    return {"used_pct": 91}


@handler("lc.cleanup")
def cleanup(ctx: ActionContext) -> dict[str, Any]:
    RAN.append(f"cleanup {ctx.args['path']}")
    return {"freed_mb": 120}


PATH = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
MANIFEST = Manifest.model_validate({"agents": {"ops": {"actions": {
    "usage": {"handler": "lc.usage", "description": "How full a disk is.", "inputs": PATH},
    "cleanup": {"handler": "lc.cleanup", "description": "Delete temp files.",
                "mutates": True, "criticality": "high", "inputs": PATH}}}}})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=None)


async def test_a_langchain_tool_loop_calls_gated_aios_actions(settings: Settings) -> None:
    RAN.clear()
    model = GenericFakeChatModel(messages=iter([
        AIMessage("", tool_calls=[
            {"name": "ops__usage", "args": {"path": "/var"}, "id": "c1", "type": "tool_call"},
            {"name": "ops__cleanup", "args": {"path": "/var/tmp"}, "id": "c2",
             "type": "tool_call"}]),
        AIMessage("Checked /var; the cleanup waits for approval.")]))
    async with open_runtime(MANIFEST, settings=settings, handlers=[usage, cleanup]) as runtime:
        tools = {t.name: t for t in langchain_tools(runtime, ["ops.usage", "ops.cleanup"])}
        # The loop every LangChain tool-calling agent runs: model, tools, model.
        messages: list[Any] = [HumanMessage("free space on /var")]
        while True:
            reply = await model.ainvoke(messages)
            messages.append(reply)
            if not reply.tool_calls:
                break
            for tool_call in reply.tool_calls:
                messages.append(await tools[tool_call["name"]].ainvoke(tool_call))
        store = runtime.runs.store
        queue = await ApprovalService(store).queue()
        audit = [r.kind async for r in AuditLog(store).records()]
        runs = await runtime.runs.list_runs()
    assert RAN == ["usage /var"]  # the high-criticality cleanup did not run
    read, gated = [m for m in messages if isinstance(m, ToolMessage)]
    assert json.loads(read.content) == {"used_pct": 91}
    assert read.artifact["status"] == "succeeded" and read.artifact["result"] == {
        "used_pct": 91}
    (request,) = queue
    assert (request.action, request.current_args) == ("ops.cleanup", {"path": "/var/tmp"})
    assert gated.content.startswith(f"waiting for approval {request.id}: not run")
    assert gated.artifact["status"] == "waiting" and gated.artifact["requests"] == [request.id]
    assert gated.artifact["run_id"] == request.run_id
    assert {r.target for r in runs} == {"ops.usage", "ops.cleanup"}  # a durable run each
    assert any("request" in kind for kind in audit), audit  # the same audit trail
    assert messages[-1].content.startswith("Checked /var")


async def test_arguments_that_do_not_fit_are_answered_and_nothing_runs(
        settings: Settings) -> None:
    RAN.clear()
    async with open_runtime(MANIFEST, settings=settings, handlers=[usage, cleanup]) as runtime:
        (tool,) = langchain_tools(runtime, ["ops.usage"])
        answer = await tool.ainvoke({"path": 5})
        missing = await tool.ainvoke({})
        runs = await runtime.runs.list_runs()
    assert "do not fit its schema" in answer and "path: 5 is not of type 'string'" in answer
    assert "'path' is a required property" in missing
    assert RAN == [] and runs == []


async def test_the_tools_share_one_spec_with_the_agent_loop(settings: Settings) -> None:
    async with open_runtime(MANIFEST, settings=settings, handlers=[usage, cleanup]) as runtime:
        specs = gated_tools(runtime, ["ops.usage", "ops.cleanup"])
        tools = langchain_tools(runtime, ["ops.usage", "ops.cleanup"])
    for spec, tool in zip(specs, tools, strict=True):
        # What LangChain's bind_tools sends a model is the loop's own definition.
        assert convert_to_openai_tool(tool) == {"type": "function", "function": {
            "name": spec.name, "description": spec.description,
            "parameters": spec.parameters}}
    assert "criticality high" in specs[1].description


async def test_an_unknown_action_is_refused_with_the_known_ones(settings: Settings) -> None:
    from aios.errors import NotFoundError

    async with open_runtime(MANIFEST, settings=settings, handlers=[usage, cleanup]) as runtime:
        with pytest.raises(NotFoundError, match=r"ops\.usage"):
            langchain_tools(runtime, ["ops.nuke"])
