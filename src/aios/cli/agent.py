"""`aios agent run AGENT "goal"`: a model chooses the actions; every call passes the gates."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from aios.app import load_manifest, open_runtime
from aios.approvals import ApprovalService
from aios.approvals.requests import ApprovalRequest
from aios.cli.common import (
    EnvOpt,
    ForensicOpt,
    JsonOpt,
    ManifestOpt,
    console,
    emit_json,
    resolve_options,
    run,
)
from aios.cli.exitcodes import for_run
from aios.cli.render import run_to_json
from aios.runtime.engine import RunResult
from aios.runtime.events import StepFinished, StepStarted
from aios.store.engine import Store

__all__ = ["pending_requests", "register", "render_agent_end"]


async def pending_requests(store: Store, result: RunResult) -> list[ApprovalRequest]:
    """The undecided approval requests of a waiting run (none for other runs)."""
    if result.status != "waiting":
        return []
    return await ApprovalService(store).queue(run_id=result.run_id)


def render_agent_end(out: Console, result: RunResult, requests: list[ApprovalRequest], *,
                     show_answer: bool = False) -> None:
    """How an agent run stands: why it ended (or which requests it waits for).

    `show_answer` prints the final answer too (when it was not streamed already).
    """
    agent = result.agent
    reason = agent.end_reason if agent is not None else None
    if show_answer and agent is not None and agent.answer:
        out.print(agent.answer, markup=False)
    style = {"succeeded": "green", "waiting": "yellow"}.get(result.status, "red")
    out.print(f"run [bold]{result.run_id}[/] [{style}]{result.status}[/]"
              + (f" (end: {reason})" if reason else ""), markup=True)
    if result.error and result.status != "waiting":
        out.print(escape(result.error), markup=False)
    if result.status == "waiting":
        for request in requests:
            out.print(f"  approval request {request.id}  {request.action}  "
                      f"{request.status}", markup=False)
        out.print("decide with `aios approvals approve ID` (or reject), then "
                  f"`aios runs resume {result.run_id[:12]}`", markup=False)


def _progress(out: Console) -> Any:
    def listener(event: Any) -> None:
        if isinstance(event, StepStarted):
            out.print(f"  -> {event.action} ({event.step_id})", markup=False)
        elif isinstance(event, StepFinished):
            out.print(f"  <- {event.action}: {event.status}"
                      + (f" ({event.error})" if event.error else ""), markup=False)

    return listener


def _stream(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add the `agent` command group to `app`."""
    agent_app = typer.Typer(help="Model-driven agents: the model chooses the actions, the "
                            "pipeline gates every call.", no_args_is_help=True)
    app.add_typer(agent_app, name="agent")

    @agent_app.command("run")
    def run_agent(ctx: typer.Context,
                  agent: str = typer.Argument(..., help="The agent, as named in the manifest."),
                  goal: str = typer.Argument(..., help="What the agent should achieve."),
                  manifest: ManifestOpt = None, env: EnvOpt = None,
                  forensic: ForensicOpt = False, json_out: JsonOpt = False) -> None:
        """Run the agent's model on GOAL with its tools, as one durable run.

        The answer streams to the terminal; a tool call that needs approval suspends the
        run (`waiting`): decide it, then `aios runs resume RUN`.
        """
        opts = resolve_options(ctx, manifest, env, forensic, json_out)
        out = console(opts.json)

        async def go() -> tuple[RunResult, list[ApprovalRequest]]:
            loaded = load_manifest(opts.manifest, env=opts.env)
            async with open_runtime(
                    loaded, settings=opts.settings(), env=opts.env,
                    listeners=[] if opts.json else [_progress(out)],
                    manifest_path=str(opts.manifest) if opts.manifest else None) as runtime:
                result = await runtime.run_agent(agent, goal,
                                                 on_text=None if opts.json else _stream)
                return result, await pending_requests(runtime.runs.store, result)

        result, requests = run(go())
        if opts.json:
            emit_json({**run_to_json(result),
                       "requests": [r.id for r in requests]})
        else:
            out.print()
            render_agent_end(out, result, requests)
        code = for_run(result.status)  # the same codes as `aios run` (waiting: 0)
        if code:
            raise typer.Exit(code)
