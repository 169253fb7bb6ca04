"""REST API of model-driven agents: start an agent run, read its conversation.

`POST /api/agents/{name}/runs` is `aios agent run NAME GOAL` in the server's runtime: the run
goes on in the background; a gated tool call suspends it (`waiting`) and the server resumes it
by itself once the approvals are decided. Starting needs the approver role, reading a viewer.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aios.errors import NotFoundError
from aios.server.auth import Approver, ServicesDep, Viewer
from aios.server.runs_api import RunOut, run_out
from aios.store.agent_turns import AgentTurnStore

__all__ = ["AgentRunOut", "StartAgentRun", "router"]

router = APIRouter(prefix="/api", tags=["agents"])


class StartAgentRun(BaseModel):
    """What the agent's model should achieve."""

    model_config = ConfigDict(extra="forbid")

    goal: str = Field(min_length=1, max_length=20_000, description="The user's goal.")


class AgentRunOut(RunOut):
    """An agent run with its conversation and how it ended (null while it goes on)."""

    end_reason: str | None = Field(description="final_answer | max_turns | budget | "
                                               "invalid_calls | repeated_call | guardrail | "
                                               "cancelled; null while running or waiting")
    answer: str | None
    conversation: list[dict[str, Any]] = Field(
        description="Every entry: messages, model turns with their tool calls, tool results "
                    "(status, content), the end.")


@router.post("/agents/{name}/runs", response_model=RunOut, status_code=202,
             summary="Start an agent run")
async def start_agent_run(name: str, body: StartAgentRun, services: ServicesDep,
                          user: Approver) -> RunOut:
    """Let agent `name`'s model pursue `goal` with its tools, as the token's user.

    Answers once the run is recorded (404: no such agent; 400: its model cannot call tools).
    """
    run_id = await services.worker.start_agent(requester=user.name, agent=name,
                                               goal=body.goal)
    return run_out(await services.runtime.runs.get_run(run_id),
                   services.worker.is_active(run_id))


@router.get("/agents/runs/{run_id}", response_model=AgentRunOut,
            summary="Show an agent run's conversation")
async def show_agent_run(run_id: str, services: ServicesDep, _user: Viewer) -> AgentRunOut:
    """An agent run by id or unique prefix, with its whole conversation."""
    runs = services.runtime.runs
    record = await runs.get_run(run_id)
    if record.kind != "agent":
        raise NotFoundError(f"run {record.id[:12]} is a {record.kind} run, not an agent run; "
                            "GET /api/runs/{id} shows it")
    entries = await AgentTurnStore(runs.store, runs.writer).entries(record.id)
    end = entries[-1].data if entries and entries[-1].kind == "end" else None
    return AgentRunOut(**run_out(record, services.worker.is_active(record.id)).model_dump(),
                       end_reason=end["reason"] if end else None,
                       answer=end.get("answer") if end else None,
                       conversation=[{"seq": e.seq, "kind": e.kind, **e.data}
                                     for e in entries])
