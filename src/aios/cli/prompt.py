"""`aios prompt "request"`: a natural-language request, planned by a model or the matcher.

With a model-driven agent in the manifest (or `--agent`), the agent loop plans and runs the
request, its mutating calls held to values the request states; otherwise (or `--no-model`,
or `--dry-run`) the embedding matcher maps clauses to actions and reads their arguments from
the clauses. Both show every argument with its source and refuse, naming the argument, a
mutating call whose required argument the request does not give (see `aios.routing.prompt`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, replace
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from aios.app import load_manifest, open_runtime
from aios.approvals.requests import ApprovalRequest
from aios.cli.agent import pending_requests, render_agent_end
from aios.cli.common import (
    EnvOpt,
    ForensicOpt,
    JsonOpt,
    ManifestOpt,
    Options,
    console,
    emit_json,
    resolve_options,
    run,
)
from aios.cli.exitcodes import FAILED, for_run
from aios.cli.render import run_to_json
from aios.embeddings import EmbeddingService
from aios.manifest.schema import Manifest
from aios.routing.prompt import (
    PlannedCall,
    agent_calls,
    choose_agent,
    matched_calls,
    model_driven,
)
from aios.runtime.engine import RunResult

__all__ = ["register"]


@dataclass
class _Outcome:
    mode: str  # "agent" or "match"
    calls: list[PlannedCall]
    plan: dict[str, Any] | None = None  # the matcher's plan
    agent: str | None = None
    runs: list[RunResult] = field(default_factory=list)
    requests: list[ApprovalRequest] = field(default_factory=list)


def _matcher_plan(manifest: Manifest, text: str, min_score: float) -> Any:
    from aios.routing.intent import IntentMatcher

    return IntentMatcher(manifest, EmbeddingService.open(), min_score=min_score).match(text)


async def _prompt(opts: Options, text: str, *, dry_run: bool, min_score: float,
                  agent: str | None, no_model: bool, stream: bool) -> _Outcome:
    manifest = load_manifest(opts.manifest, env=opts.env)
    plan = None
    if no_model or dry_run:
        chosen = None
    else:
        if len(model_driven(manifest)) > 1 and agent is None:
            plan = _matcher_plan(manifest, text, min_score)
        chosen = choose_agent(manifest, plan, agent)
    if chosen is None and plan is None:
        plan = _matcher_plan(manifest, text, min_score)
    calls = matched_calls(manifest, plan) if chosen is None and plan is not None else []
    if chosen is None and (dry_run or not calls):
        return _Outcome("match", calls, plan.as_dict() if plan is not None else None)
    async with open_runtime(manifest, settings=opts.settings(), env=opts.env,
                            manifest_path=str(opts.manifest) if opts.manifest else None
                            ) as runtime:
        if chosen is not None:
            result = await runtime.run_agent(chosen, text, grounded=True,
                                             on_text=_stream if stream else None)
            conversation = list(result.agent.conversation) if result.agent else []
            return _Outcome("agent", agent_calls(manifest, text, conversation), agent=chosen,
                            runs=[result],
                            requests=await pending_requests(runtime.runs.store, result))
        # Each call runs as a run of its own through the full pipeline: forensic mode, the
        # approval gate (a run may wait for a decision) and guardrails apply as for `aios exec`.
        runs: list[RunResult] = []
        for i, call in enumerate(calls):
            if call.refused is None:
                runs.append(await runtime.execute(call.action, call.run_args))
                step = next(iter(runs[-1].steps.values()), None)
                calls[i] = replace(call, status=step.status if step else runs[-1].status)
    assert plan is not None
    return _Outcome("match", calls, plan.as_dict(), runs=runs)


def _stream(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _render_calls(calls: list[PlannedCall], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("action", "arguments (source)", "outcome"):
        table.add_column(column, no_wrap=column == "action")
    for call in calls:
        args = "\n".join(f"{k}={_value(v.value)} ({v.source})" for k, v in call.args.items())
        outcome = "[red]refused[/] (below)" if call.refused else escape(call.status or "planned")
        table.add_row(call.action, escape(args) or "(none)", outcome)
    console().print(table)


def _render_clauses(plan: dict[str, Any], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("clause", "action", "score", "criticality", "mutates"):
        table.add_column(column, no_wrap=column == "action")
    for clause in plan["clauses"]:
        if clause["action"]:
            table.add_row(clause["clause"], clause["action"], f"{clause['score']:.2f}",
                          clause["criticality"], "yes" if clause["mutates"] else "no")
        else:
            closest = ", ".join(f"{a['action']} ({a['score']:.2f})"
                                for a in clause["alternatives"])
            table.add_row(clause["clause"], "[yellow]no action found[/]",
                          f"{clause['score']:.2f}", "", f"closest: {closest}")
    console().print(table)


def _json(outcome: _Outcome, dry_run: bool) -> dict[str, Any]:
    calls = [c.as_dict() for c in outcome.calls]
    if outcome.mode == "agent":
        return {"mode": "agent", "agent": outcome.agent, "dry_run": False, "calls": calls,
                "run": run_to_json(outcome.runs[0]),
                "requests": [r.id for r in outcome.requests]}
    return {**(outcome.plan or {}), "mode": "match", "dry_run": dry_run, "calls": calls,
            "runs": [{"run_id": r.run_id, "action": r.target, "status": r.status,
                      "error": r.error,
                      "steps": {k: {"status": s.status, "result": s.result, "error": s.error}
                                for k, s in r.steps.items()}} for r in outcome.runs]}


def _render(outcome: _Outcome, text: str, dry_run: bool) -> None:
    out = console()
    suffix = " (dry run)" if dry_run else ""
    if outcome.mode == "agent":
        out.print()
        _render_calls(outcome.calls, f"calls of agent {outcome.agent} for: {text}")
        render_agent_end(out, outcome.runs[0], outcome.requests)
        return
    assert outcome.plan is not None
    _render_clauses(outcome.plan, f"plan for: {text}{suffix}")
    if outcome.calls:
        _render_calls(outcome.calls, "arguments")
    for r in outcome.runs:
        style = "green" if r.ok else "red"
        step = next(iter(r.steps.values()), None)
        note = f" ({step.status})" if step and step.status != r.status else ""
        out.print(f"{r.target}: run {r.run_id[:12]} [{style}]{r.status}[/]{note}"
                  + (f": {escape(r.error)}" if r.error else ""))


def register(app: typer.Typer) -> None:
    """Add `aios prompt`."""

    @app.command("prompt")
    def prompt(
        ctx: typer.Context,
        text: str = typer.Argument(..., help='What to do, e.g. "check disks and containers".'),
        dry_run: bool = typer.Option(False, "--dry-run",
                                     help="Show the matcher's plan, run nothing (no model)."),
        min_score: float = typer.Option(0.35, "--min-score",
                                        help="Lowest score that counts as a match."),
        agent: str | None = typer.Option(None, "--agent",
                                         help="Plan with this agent's model (the loop)."),
        no_model: bool = typer.Option(False, "--no-model",
                                      help="Match clauses to actions; ask no model."),
        manifest: ManifestOpt = None, env: EnvOpt = None, forensic: ForensicOpt = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Run a natural-language request: a model-driven agent's loop plans it when the
        manifest has one, else clauses are matched to actions. Every argument shows its
        source; a change whose required argument the request lacks is refused."""
        opts = resolve_options(ctx, manifest, env, forensic, json_out)
        outcome = run(_prompt(opts, text, dry_run=dry_run, min_score=min_score, agent=agent,
                              no_model=no_model, stream=not opts.json))
        if opts.json:
            emit_json(_json(outcome, dry_run))
        else:
            _render(outcome, text, dry_run)
        if outcome.mode == "match" and outcome.plan is not None \
                and not outcome.plan["actions"]:
            console(opts.json).print("no clause matched a manifest action (closest ones are "
                                     "listed); rephrase, or lower --min-score")
            raise typer.Exit(1)
        codes = [for_run(r.status) for r in outcome.runs]
        refused = [c for c in outcome.calls if c.refused]
        for call in [] if opts.json else refused:
            console().print(f"[red]not run[/]: {escape(call.refused or '')}")
        if any(codes) or (refused and not dry_run):
            raise typer.Exit(FAILED)
