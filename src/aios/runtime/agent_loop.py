"""The agent loop: a model decides which actions to take; every call passes the gates.

One run of kind `agent` is one conversation::

    system + user goal
    → model turn (the gateway, with the agent's actions as native tools)
    → each tool call: checked (known tool, JSON object, fits `inputs`), then executed as a
      STEP OF THIS RUN through the whole pipeline (guardrails, forensic mode, approvals with
      the agent's autonomy, reliability, idempotency, timeout)
    → the results go back to the model → ... until a final answer (or a bound).

Everything the model and the tools said is appended to the run's conversation (`agent_turns`)
and committed before anything outlives the process (a mutating call's idempotency claim, an
approval request, the run's end), so the run is durable: a gated call suspends
the run (`waiting`, nothing held in memory); `Runtime.resume` rebuilds the conversation from
the store and continues where it stopped: recorded model turns and finished tool results are
replayed, never re-executed; an approved call runs once, with the approved arguments (the
approval and idempotency layers see the same run, step and arguments as before); a rejected
call's rejection and reason become its tool result. A model turn that was in flight when the
process died, or whose record was not committed yet, is simply asked again; a read-only call
whose result was not committed runs again (it has no side effect to repeat).

The loop ends, and records which, on: `final_answer`, `max_turns`, `budget` (the agent's
`budget:` spent, or the gateway's BudgetExceeded), `invalid_calls` (too many calls in a row
that named no tool or whose arguments did not fit), `repeated_call` (the same call with the
same arguments asked for again after it ran twice), `guardrail` (a guardrail refused the
conversation a model turn would have sent, e.g. injection found in a tool result),
`cancelled`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aios.errors import BudgetExceeded, ConfigError, GuardrailTripped, NotFoundError
from aios.llm.types import LLMRequest, LLMResponse, Message, ToolCall
from aios.manifest.schema import Agent, Step
from aios.runtime.agent_tools import CheckedCall, Refusal, ToolSet
from aios.runtime.conversation import Conversation
from aios.runtime.engine import RunResult, Runtime, StepOutcome, register_run_kind
from aios.runtime.events import AgentTurnRecorded, RunStarted
from aios.store.agent_turns import AgentTurnStore, TurnEntry
from aios.store.runs import RunRecord

__all__ = ["END_REASONS", "MAX_INVALID_IN_A_ROW", "MAX_REPEATS", "AgentLoop", "AgentOutcome"]

#: Why an agent run ended; `waiting` runs have not ended.
END_REASONS = ("final_answer", "max_turns", "budget", "invalid_calls", "repeated_call",
               "guardrail", "cancelled")
#: Refused calls (unknown tool, bad arguments) in a row before the run ends.
MAX_INVALID_IN_A_ROW = 3
#: Times the same call (action and arguments) may run in one conversation.
MAX_REPEATS = 2
#: A tool result longer than this is cut before the model sees it.
MAX_RESULT_CHARS = 16_000

_TIERS = ("simple", "medium", "complex")


@dataclass(frozen=True)
class AgentOutcome:
    """How an agent run stands: its answer, why it ended, and the whole conversation.

    Attributes:
        end_reason: one of `END_REASONS`, or None while the run waits for approvals.
        answer: the model's final answer, when it gave one.
        turns: model turns taken.
        tool_calls: tool calls the model made (refused ones included).
        waiting: step ids of tool calls that wait for approval.
        conversation: the stored entries, `{"seq", "kind", ...data}` each.
    """

    end_reason: str | None
    answer: str | None
    turns: int
    tool_calls: int
    waiting: tuple[str, ...] = ()
    conversation: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    def to_json(self) -> dict[str, Any]:
        """As `--json` prints it."""
        return {"end_reason": self.end_reason, "answer": self.answer, "turns": self.turns,
                "tool_calls": self.tool_calls, "waiting": list(self.waiting),
                "conversation": list(self.conversation)}


def _result_text(outcome: StepOutcome) -> tuple[str, str]:
    """(status, what the model reads) for a finished step."""
    if outcome.status == "succeeded":
        text = json.dumps(outcome.result, default=str, ensure_ascii=False)
        status = "succeeded"
    elif outcome.status == "skipped":
        status, text = "skipped", f"not run: {outcome.error}"
    elif (outcome.error or "").startswith("ApprovalDenied:"):
        status = "rejected"
        text = f"rejected: {(outcome.error or '').removeprefix('ApprovalDenied: ')}"
    else:
        status, text = outcome.status, f"error: {outcome.error}"
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + f" ... ({len(text) - MAX_RESULT_CHARS} chars cut)"
    return status, text


def _call_key(action: str, args: dict[str, Any]) -> str:
    return json.dumps([action, args], sort_keys=True, default=str)


class AgentLoop:
    """One agent run: its conversation, and the loop that continues it.

    Build it with `start` (a new run) or let `Runtime.resume` call `resume`.
    """

    def __init__(self, runtime: Runtime, run_id: str, agent: str, spec: Agent, tools: ToolSet,
                 entries: list[TurnEntry], metadata: dict[str, dict[str, Any]],
                 on_text: Callable[[str], None] | None = None):
        self.runtime = runtime
        self.run_id = run_id
        self.agent = agent
        self.spec = spec
        self.tools = tools
        self.conv = Conversation(entries)
        self.metadata = metadata
        self.on_text = on_text
        self.turns_store = AgentTurnStore(runtime.runs.store, runtime.runs.writer)
        self._publish = runtime._publisher(run_id, metadata)
        self._waiting: list[str] = []

    # -- building ---------------------------------------------------------------------------

    @staticmethod
    def _prepare(runtime: Runtime, agent: str, request: str | None = None
                 ) -> tuple[Agent, ToolSet]:
        """The agent and its tools; with `request`, tools held to it (`GroundedToolSet`)."""
        spec = runtime.manifest.agents.get(agent)
        if spec is None:
            known = ", ".join(sorted(runtime.manifest.agents)) or "(none)"
            raise NotFoundError(f"no agent {agent!r} in the manifest; known: {known}")
        if runtime.llm is None:
            raise ConfigError("the agent loop needs a model gateway (Runtime(llm=...)); "
                              "`aios.open_runtime` builds one from the manifest's `models:`")
        actions = runtime.manifest.agent_tools(agent)
        if request is not None:
            from aios.runtime.grounded_tools import GroundedToolSet

            return spec, GroundedToolSet(runtime.manifest, actions, request)
        return spec, ToolSet(runtime.manifest, actions)

    @classmethod
    async def start(cls, runtime: Runtime, agent: str, goal: str, *, run_id: str | None = None,
                    on_text: Callable[[str], None] | None = None,
                    grounded: bool = False) -> RunResult:
        """Start a new agent run toward `goal` and drive it as far as it goes.

        `grounded` holds mutating calls to values `goal` states (`aios prompt`; see
        `GroundedToolSet`); it is kept in the run's options, so a resume holds them too.

        Raises:
            NotFoundError: no such agent.
            ConfigError: empty goal, no gateway, or a model that cannot call tools
                (checked before the run is created).
        """
        if not goal.strip():
            raise ConfigError("the goal is empty; say what the agent should do, for example "
                              "aios agent run ops \"free disk space on /var\"")
        spec, tools = cls._prepare(runtime, agent, goal if grounded else None)
        run_id = run_id or uuid.uuid4().hex
        messages = cls._opening(agent, spec, goal)
        probe = cls(runtime, run_id, agent, spec, tools, [], {})
        await probe._check_model(messages)
        # Masked (the goal may hold a secret): refused here without a key to seal it.
        options = await runtime.keeper.options(
            {"env": runtime.env, "goal": goal, **({"grounded": True} if grounded else {})},
            target=agent)
        await runtime.runs.create_run(
            run_id, kind="agent", target=agent, forensic=runtime.forensic,
            manifest_name=runtime.manifest.name, manifest_path=runtime.manifest_path,
            manifest_digest=runtime._digest, options=options)
        loop = cls(runtime, run_id, agent, spec, tools, [], {}, on_text)
        for message in messages:
            loop._append("message", message)
        return await loop._drive(resumed=False)

    @classmethod
    async def resume(cls, runtime: Runtime, record: RunRecord,
                     on_text: Callable[[str], None] | None = None) -> RunResult:
        """Continue a stopped agent run (the resumer of run kind `agent`).

        Raises:
            ConflictError: another process is continuing the run (nothing was written).
            ConfigError: its real values are sealed and the key is missing or wrong.
        """
        stored = await AgentTurnStore(runtime.runs.store, runtime.runs.writer).entries(
            record.id)
        # A grounded run checks arguments against the real request (stored masked, sealed).
        grounded = (runtime.keeper.restore(record.options, run_id=record.id).get("goal")
                    if record.options.get("grounded") else None)
        spec, tools = cls._prepare(runtime, record.target, grounded)
        loop = cls(runtime, record.id, record.target, spec, tools, stored,
                   {k: dict(v) for k, v in record.metadata.items()}, on_text)
        ended = loop.conv.end()
        if ended is not None and ended["reason"] != "cancelled":
            return loop._result(record.status, record.error)  # as stored: masked
        # Stored masked; the model and the tools need the real values back.
        loop.conv = Conversation(TurnEntry(e.seq, e.kind,
                                           runtime.keeper.open_entry(e.data, run_id=record.id))
                                 for e in stored)
        # The claim holds only if the run is as `record` shows it, and `record` was read
        # before these entries: so they are the whole conversation, and no other process
        # appends to it until this one stops.
        await runtime.runs.reopen_run(record.id, resumer=runtime.actor)
        if not loop.conv.entries:  # killed before the goal was committed: it is in the options
            goal = runtime.keeper.restore(record.options, run_id=record.id).get("goal", "")
            for message in cls._opening(record.target, spec, goal):
                loop._append("message", message)
        return await loop._drive(resumed=True)

    @staticmethod
    def _opening(agent: str, spec: Agent, goal: str) -> list[dict[str, Any]]:
        """The conversation's first entries: the instructions and the user's goal."""
        if spec.instructions:
            system = spec.instructions
        else:
            role = f" ({spec.description})" if spec.description else ""
            system = (f"You are the {agent} agent{role}. Use the tools to reach the user's "
                      "goal; when it is reached, answer in plain text without calling a tool.")
        return [{"role": "system", "content": system}, {"role": "user", "content": goal}]

    def _request(self, messages: list[Message] | None = None) -> LLMRequest:
        model = self.spec.model
        choices = self.tools.tool_choices(self.spec.tool_choice, self.agent)  # each checked
        turn = len(self.conv.models) if messages is None and choices else 0
        return LLMRequest(
            messages=tuple(messages if messages is not None else self.conv.messages()),
            model=None if model in (None, "auto") or model in _TIERS else model,
            tier=model if model in _TIERS else None, tools=self.tools.definitions(),
            tool_choice=choices[turn] if turn < len(choices) else None,
            run_id=self.run_id, agent=self.agent, cache=False)

    async def _check_model(self, messages: list[dict[str, Any]]) -> None:
        """A model without tool support is refused before the run exists."""
        plan = getattr(self.runtime.llm, "plan", None)
        if plan is None or not self.tools.by_tool:
            return
        request = self._request([Message(m["role"], m["content"]) for m in messages])
        try:
            await plan(request)
        except ConfigError as exc:
            raise ConfigError(f"agent {self.agent!r} cannot run: {exc} (agents.{self.agent}."
                              "model names the model; its `capabilities: {tools: true}` "
                              "must hold)") from None

    # -- the conversation -------------------------------------------------------------------

    def _append(self, kind: str, data: dict[str, Any]) -> TurnEntry:
        """Queue an entry; `runs.writer.flush()` makes it durable (see `AgentTurnStore`)."""
        seq = self.conv.next_seq()
        entry = TurnEntry(seq, kind, data)
        self.conv.add(entry)
        self.turns_store.put(self.run_id, seq, kind, self.runtime.keeper.entry(data))
        self.runtime._emit(AgentTurnRecorded(self.run_id, seq, kind))  # live dashboards
        return entry

    # -- driving ----------------------------------------------------------------------------

    async def _drive(self, *, resumed: bool) -> RunResult:
        self.runtime._emit(RunStarted(self.run_id, self.agent, (), resumed, kind="agent"))
        self.runtime.runs.hold(self.run_id)
        try:
            try:
                status, error = await self._loop()
            except asyncio.CancelledError:
                await asyncio.shield(self._cancelled())
                raise
            except Exception as exc:  # a model or store failure: resumable, nothing to undo
                status, error = "failed", f"{type(exc).__name__}: {exc}"
            await self.runtime._finish(self.run_id, status, error)
        finally:  # however it ended, this process no longer executes the run
            self.runtime.runs.release(self.run_id)
        return self._result(status, error)

    async def _cancelled(self) -> None:
        self._append("end", {"reason": "cancelled", "answer": None})
        await self.runtime._finish(self.run_id, "cancelled", "cancelled by the user")

    async def _end(self, reason: str, *, answer: str | None = None,
                   detail: str | None = None) -> tuple[str, str | None]:
        self._append("end", {"reason": reason, "answer": answer, "detail": detail})
        if reason == "final_answer":
            return "succeeded", None
        return "failed", f"agent run ended: {reason}" + (f" ({detail})" if detail else "")

    async def _loop(self) -> tuple[str, str | None]:
        while True:
            pending = self.conv.pending()
            if pending is not None:
                stop = await self._run_calls(*pending)
                if stop is not None:
                    return await self._end(stop[0], detail=stop[1])
                if self._waiting:
                    return "waiting", (f"{len(self._waiting)} tool call(s) wait for approval: "
                                       f"{', '.join(self._waiting)}")
                continue
            models = self.conv.models
            if models and not models[-1].data["tool_calls"]:
                return await self._end("final_answer", answer=models[-1].data["text"])
            if len(models) >= self.spec.max_turns:
                return await self._end("max_turns",
                                       detail=f"{self.spec.max_turns} model turns taken")
            over = self._over_budget()
            if over:
                return await self._end("budget", detail=over)
            try:
                response = await self._model_turn()
            except BudgetExceeded as exc:
                return await self._end("budget", detail=str(exc))
            except GuardrailTripped as exc:  # asking again would send the same conversation
                return await self._end("guardrail", detail=str(exc))
            await self._record_turn(len(models) + 1, response)

    def _over_budget(self) -> str | None:
        limit = self.spec.budget
        if limit is None:
            return None
        tokens, usd = self.conv.tokens, self.conv.usd
        if limit.tokens is not None and tokens >= limit.tokens:
            return f"{tokens} of {limit.tokens} tokens spent (agents.{self.agent}.budget)"
        if limit.usd is not None and usd >= limit.usd:
            return f"${usd:.4f} of ${limit.usd:g} spent (agents.{self.agent}.budget)"
        return None

    async def _model_turn(self) -> LLMResponse:
        llm = self.runtime.llm
        request = self._request()
        streaming = self.on_text is not None and hasattr(llm, "stream")
        if not streaming:
            response: LLMResponse = await llm.complete(request)
            return response
        final: LLMResponse | None = None
        async for chunk in llm.stream(request):
            if chunk.text and self.on_text is not None:
                self.on_text(chunk.text)
            if chunk.response is not None:
                final = chunk.response
        if final is None:
            raise ConfigError("the gateway's stream ended without a final response")
        return final

    async def _record_turn(self, turn: int, response: LLMResponse) -> None:
        calls: list[dict[str, Any]] = []
        for i, c in enumerate(response.tool_calls):
            # A missing or repeated id would make two calls' results indistinguishable.
            unique = c.id and all(c.id != other["id"] for other in calls)
            calls.append({"id": c.id if unique else f"call_{turn}_{i}", "name": c.name,
                          "arguments": c.arguments})
        self._append("model", {
            "turn": turn, "text": response.text, "tool_calls": calls, "model": response.model,
            "finish_reason": response.finish_reason,
            "tokens": response.usage.total_tokens, "cost_usd": response.cost_usd})
        # Not committed here: the calls' first lasting effect commits it (a mutating call's
        # idempotency claim, an approval request: `ActionContext.checkpoint`), so a resume
        # replays these very calls (same steps, same arguments) wherever approvals and
        # idempotency keys matter. A read-only call may run before the commit: after a kill
        # it runs again, or the model is asked this turn again (see `AgentTurnStore`).

    async def _run_calls(self, turn: int, calls: list[tuple[int, ToolCall]]
                         ) -> tuple[str, str] | None:
        """Run one turn's unanswered calls concurrently; a bound that ends the run, if hit."""
        self._waiting = []
        stop: tuple[str, str] | None = None
        runnable: list[tuple[int, CheckedCall]] = []
        for index, call in calls:
            checked = self.tools.check(call)
            if isinstance(checked, Refusal):
                self._append("tool", {"turn": turn, "call_id": call.id, "tool": call.name,
                                            "status": checked.status,
                                            "content": checked.message})
                continue
            key = _call_key(checked.action, checked.args)
            if self.conv.runs_of(key) >= MAX_REPEATS:
                self._append("tool", {
                    "turn": turn, "call_id": call.id, "tool": call.name,
                    "action": checked.action, "status": "repeated",
                    "content": f"{checked.action} already ran {MAX_REPEATS} times with these "
                               "arguments; not run again"})
                stop = ("repeated_call", f"{checked.action} asked for again with the same "
                        f"arguments after {MAX_REPEATS} runs")
                continue
            runnable.append((index, checked))
        if len(runnable) == 1:  # the usual turn: no task to create and schedule
            await self._execute(turn, *runnable[0])
        else:
            await asyncio.gather(*(self._execute(turn, index, checked)
                                   for index, checked in runnable))
        if stop is None and self.conv.refused_in_a_row >= MAX_INVALID_IN_A_ROW:
            stop = ("invalid_calls", f"{MAX_INVALID_IN_A_ROW} tool calls in a row named no "
                    "tool or had arguments that do not fit")
        return stop

    async def _execute(self, turn: int, index: int, checked: CheckedCall) -> None:
        step_id = f"t{turn}.{index}:{checked.action}"
        step = Step.model_validate({"action": checked.action, "id": step_id,
                                    "with": checked.args})
        # `checked` passed `ToolSet.check` (the same schema, the same `params`): not again.
        outcome = await self.runtime._run_step(self.run_id, step, self._publish, self.metadata,
                                               autonomy=self.spec.autonomy, checked=True)
        if outcome.status == "waiting":
            self._waiting.append(step_id)
            return
        status, text = _result_text(outcome)
        self._append("tool", {
            "turn": turn, "call_id": checked.call.id, "tool": checked.call.name,
            "action": checked.action, "step_id": step_id, "args": checked.args,
            "key": _call_key(checked.action, checked.args), "status": status,
            "content": text})

    # -- the result ---------------------------------------------------------------------------

    def _result(self, status: str, error: str | None) -> RunResult:
        ended = self.conv.end()
        models = self.conv.models
        steps: dict[str, StepOutcome] = {}
        for data in self.conv.steps():
            steps[data["step_id"]] = StepOutcome(
                data["step_id"], data["action"], data["status"],
                result=data["content"] if data["status"] == "succeeded" else None,
                error=None if data["status"] == "succeeded" else data["content"])
        for step_id in self._waiting:
            steps[step_id] = StepOutcome(step_id, step_id.partition(":")[2], "waiting")
        outcome = AgentOutcome(
            end_reason=ended["reason"] if ended else None,
            answer=ended.get("answer") if ended else None, turns=len(models),
            tool_calls=sum(len(e.data["tool_calls"]) for e in models),
            waiting=tuple(self._waiting),
            conversation=tuple({"seq": e.seq, "kind": e.kind, **e.data}
                               for e in self.conv.entries))
        return RunResult(self.run_id, self.agent, status, steps, self.metadata, error,
                         agent=outcome)


@register_run_kind("agent")
async def _resume_agent(runtime: Runtime, record: RunRecord) -> RunResult:
    return await AgentLoop.resume(runtime, record)
