"""Agent loop: per-turn overhead of Ai:oS's durable loop next to the OpenAI Agents SDK's Runner.

Run: .venv/bin/python bench/agent_loop.py [--runs 20] [--turns 10]
(the SDK side needs `pip install 'aios[bench]'`, i.e. openai-agents; without it only the
Ai:oS side is measured)

Both sides drive the same instant model: on each turn it asks for one tool call (`noop`, with
the turn number as argument) until the last turn, where it answers in text. The tool does
nothing. So what is measured is the loop itself:

- Ai:oS: `Runtime.run_agent` on the runtime `aios.app.open_runtime` assembles: each turn goes
  through the gateway (guardrails scan the conversation, tracing, reliability, the cost
  ledger), each tool call is a step through the whole pipeline (spans, guardrails, forensic,
  approvals, reliability, idempotency, timeout), and every model turn and tool result is
  committed to a SQLite store before the loop goes on (durable: a resume replays it).
- Agents SDK: `Runner.run` with a `Model` subclass and a `function_tool`; its tracing on with
  no exporter (spans are built, nothing is sent); its state lives in memory.

Prints, per turn, the wall time (median run / turns) and the process CPU time of each side and
their ratios, with the load average: on a shared machine the wall time of the durable side
follows the disk's commit latency, the CPU time much less so.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

from aios.app import open_runtime
from aios.llm.providers.registry import ProviderBase, register_provider
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo, ToolCall, Usage
from aios.manifest import Manifest
from aios.runtime import ActionContext, handler
from aios.settings import Settings

# This script's folder is first on sys.path, and bench/mcp.py would shadow the `mcp` package
# the Agents SDK imports.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]


@handler("bench.noop")
async def noop(ctx: ActionContext) -> None:
    return None


@register_provider("bench_instant")
class InstantProvider(ProviderBase):
    """Answers at once: a `noop` call per turn, then a text answer on turn `turns`."""

    default_tools: ClassVar[bool] = True
    default_model: ClassVar[str | None] = "instant"
    turns: ClassVar[int] = 10

    async def complete(self, request: LLMRequest, model: ModelInfo) -> LLMResponse:
        taken = sum(1 for m in request.messages if m.role == "assistant")
        usage = Usage(input_tokens=10, output_tokens=5)
        if taken + 1 >= self.turns:
            return LLMResponse("done", model.name, self.name, usage, finish_reason="stop")
        call = ToolCall(f"call_{taken}", "bench__noop", f'{{"i": {taken}}}')
        return LLMResponse("", model.name, self.name, usage, tool_calls=(call,),
                           finish_reason="tool_calls")

    async def stream(self, request: LLMRequest, model: ModelInfo) -> Any:
        raise NotImplementedError


#: What each run asks for (the same on both sides).
GOAL = "do nothing, many times"


def bench_manifest(turns: int, guardrails: bool = True) -> Manifest:
    return Manifest.model_validate({
        "guardrails": {"enabled": guardrails},
        "models": {"instant": {"provider": "bench_instant", "capabilities": {"tools": True},
                               "prices": {"input": 0, "output": 0}}},
        "agents": {"bench": {"model": "instant", "max_turns": turns + 1, "actions": {
            "noop": {"handler": "bench.noop", "description": "Do nothing.",
                     "inputs": {"type": "object", "properties": {"i": {"type": "integer"}}}}}}},
    })


async def aios_runs(runs: int, turns: int, guardrails: bool = True
                    ) -> tuple[list[float], float]:
    InstantProvider.turns = turns
    times: list[float] = []
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), database_url=None)
        async with open_runtime(bench_manifest(turns, guardrails), settings=settings,
                                handlers=[noop]) as runtime:
            # The warm-up asks for the measured goal: the injection classifier loads its
            # weights the first time a text needs it (0.1 s of CPU, once per process), which
            # is no per-turn overhead (the SDK side warms up the same way).
            await runtime.run_agent("bench", GOAL)
            cpu = time.process_time()
            for _ in range(runs):
                started = time.perf_counter()
                result = await runtime.run_agent("bench", GOAL)
                times.append(time.perf_counter() - started)
                assert result.ok and result.agent is not None and result.agent.turns == turns
            cpu = time.process_time() - cpu
    return times, cpu


async def sdk_runs(runs: int, turns: int) -> tuple[list[float], float] | None:
    try:
        from agents.items import ModelResponse
        from agents.models.interface import Model
        from agents.usage import Usage as SdkUsage
        from openai.types.responses import (
            ResponseFunctionToolCall,
            ResponseOutputMessage,
            ResponseOutputText,
        )

        from agents import Agent, Runner, function_tool, set_trace_processors
    except ImportError as exc:
        print(f"cannot import the OpenAI Agents SDK: {exc}", file=sys.stderr)
        return None
    set_trace_processors([])  # traces and spans are built; nothing is exported

    class InstantModel(Model):
        async def get_response(self, system_instructions: Any, input: Any,
                               model_settings: Any, tools: Any, output_schema: Any,
                               handoffs: Any, tracing: Any, **kw: Any) -> ModelResponse:
            items = input if isinstance(input, list) else []
            taken = sum(1 for i in items if (i.get("type") if isinstance(i, dict)
                                             else getattr(i, "type", None)) == "function_call")
            usage = SdkUsage(requests=1, input_tokens=10, output_tokens=5, total_tokens=15)
            if taken + 1 >= turns:
                out: Any = ResponseOutputMessage(
                    id="m", type="message", role="assistant", status="completed",
                    content=[ResponseOutputText(text="done", type="output_text",
                                                annotations=[])])
            else:
                out = ResponseFunctionToolCall(id=f"f{taken}", call_id=f"call_{taken}",
                                               name="noop", arguments=f'{{"i": {taken}}}',
                                               type="function_call", status="completed")
            return ModelResponse(output=[out], usage=usage, response_id=None)

        def stream_response(self, *args: Any, **kw: Any) -> Any:
            raise NotImplementedError

    @function_tool
    async def sdk_noop(i: int) -> None:
        """Do nothing."""
        return None

    sdk_noop.name = "noop"
    agent = Agent(name="bench", instructions="Do nothing.", model=InstantModel(),
                  tools=[sdk_noop])
    await Runner.run(agent, GOAL, max_turns=turns + 1)
    times: list[float] = []
    cpu = time.process_time()
    for _ in range(runs):
        started = time.perf_counter()
        result = await Runner.run(agent, GOAL, max_turns=turns + 1)
        times.append(time.perf_counter() - started)
        assert result.final_output == "done"
    return times, time.process_time() - cpu


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="agent runs per side")
    parser.add_argument("--turns", type=int, default=10, help="model turns per run")
    parser.add_argument("--no-guardrails", action="store_true",
                        help="turn the guardrails off on the Ai:oS side (to see their share)")
    args = parser.parse_args()
    # The SDK's import turns INFO logging on; per-call log lines would be measured, not the loop.
    logging.getLogger("aios").setLevel(logging.WARNING)
    load = os.getloadavg()
    ours, our_cpu = await aios_runs(args.runs, args.turns, not args.no_guardrails)
    sdk = await sdk_runs(args.runs, args.turns)
    turns = args.runs * args.turns
    per_turn = statistics.median(ours) / args.turns * 1000
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.runs} runs of "
          f"{args.turns} turns ({args.turns - 1} tool calls) each side; wall = median run / "
          "turns, CPU = process time / turns")
    print(f"Ai:oS agent loop (gateway + pipeline + durable SQLite record + spans"
          f"{'' if not args.no_guardrails else ', guardrails OFF'}): "
          f"{per_turn:.2f} ms wall, {our_cpu / turns * 1000:.2f} ms CPU per turn")
    if sdk is None:
        print("OpenAI Agents SDK not installed (pip install 'aios[bench]'): no baseline")
        return 0
    theirs, their_cpu = sdk
    sdk_turn = statistics.median(theirs) / args.turns * 1000
    print(f"OpenAI Agents SDK Runner (in memory, tracing on, no exporter): "
          f"{sdk_turn:.2f} ms wall, {their_cpu / turns * 1000:.2f} ms CPU per turn")
    print(f"ratio Ai:oS / Agents SDK per turn: {per_turn / sdk_turn:.2f}x wall, "
          f"{our_cpu / their_cpu:.2f}x CPU")
    return 0

if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
