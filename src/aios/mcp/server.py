"""`ActionServer`: the manifest's actions as MCP tools; every call is `Runtime.execute`.

A call that the approval policy gates does not hang the client. The runtime's approval gate
suspends the run at once; this server then waits for the decision up to `approval_wait`
seconds, sending progress notifications, and either resumes the run (the approved action
runs once) or answers that the call waits, with the request id. Calling again with the same
tool, arguments and caller finds that run (`mcp_calls`) and resumes it instead of starting
another, so the outcome is delivered and the action never runs twice.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import jsonschema
from mcp import types
from mcp.server.lowlevel import Server

from aios.approvals.requests import DECIDABLE
from aios.approvals.workflow import ApprovalService
from aios.errors import AiosError, NotFoundError
from aios.manifest.schema import Manifest
from aios.mcp.store import CallStore
from aios.mcp.tools import ServedTool, served_tools
from aios.runtime.engine import RunResult, Runtime, StepOutcome
from aios.store.engine import Store

__all__ = ["ActionServer", "Progress"]

log = logging.getLogger("aios.mcp.server")

#: Reports progress while a call waits: (seconds waited, seconds allowed, message).
Progress = Callable[[float, float, str], Awaitable[None]]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, default=str)


def _error(message: str, **data: Any) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)],
                                structuredContent=data or None, isError=True)


class ActionServer:
    """Serves actions as MCP tools through the whole pipeline.

    Args:
        manifest: the manifest whose actions are offered (with proxied tools, if any).
        store: where waiting calls and approval requests are kept.
        runtime_for: the runtime that runs calls on behalf of a caller (its approval
            requests name that caller, who therefore cannot approve them).
        agent: offer only this agent's actions.
        approval_wait: seconds a gated call waits for a decision before answering.
        progress_every: seconds between progress notifications while it waits.
        forensic: whether the runtime is read-only (shown in the gates).
    """

    def __init__(self, manifest: Manifest, store: Store, runtime_for: Callable[[str], Runtime],
                 *, agent: str | None = None, approval_wait: float = 30.0,
                 progress_every: float = 1.0, forensic: bool = False):
        if agent is not None and agent not in manifest.agents:
            raise NotFoundError(f"no agent {agent!r} in the manifest; known: "
                                f"{', '.join(sorted(manifest.agents)) or '(none)'}")
        self.manifest = manifest
        self.runtime_for = runtime_for
        self.approval_wait = max(0.0, approval_wait)
        self.progress_every = max(0.05, progress_every)
        self.tools: dict[str, ServedTool] = served_tools(
            manifest, agent=agent, approval_wait=self.approval_wait, forensic=forensic)
        self.calls = CallStore(store)
        self.approvals = ApprovalService(store)
        self._validators = {name: jsonschema.Draft202012Validator(t.tool.inputSchema)
                            for name, t in self.tools.items()}

    # -- the MCP server -------------------------------------------------------------------

    def mcp_server(self, requester_of: Callable[[Any], str], *,
                   name: str = "aios") -> Server[Any, Any]:
        """A low-level SDK server offering the tools; `requester_of(request_context)` names
        the caller of each call (the stdio user, or the bearer token's user over HTTP)."""
        server: Server[Any, Any] = Server(
            name, instructions=f"Actions of the Ai:oS manifest {self.manifest.name!r}. Gated "
            "calls answer with an approval request id when nobody decided in time; call "
            "again with the same arguments after the decision.")

        @server.list_tools()  # type: ignore[no-untyped-call,untyped-decorator]
        async def list_tools() -> list[types.Tool]:
            return [t.tool for t in self.tools.values()]

        @server.call_tool(validate_input=False)  # type: ignore[untyped-decorator]
        async def call_tool(tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
            ctx = server.request_context
            token = ctx.meta.progressToken if ctx.meta is not None else None
            progress: Progress | None = None
            if token is not None:
                async def progress(done: float, total: float, message: str) -> None:
                    await ctx.session.send_progress_notification(
                        token, done, total, message, related_request_id=str(ctx.request_id))
            return await self.call(tool, arguments, requester_of(ctx), progress)

        return server

    # -- calls ----------------------------------------------------------------------------

    async def call(self, tool: str, arguments: dict[str, Any] | None, requester: str,
                   progress: Progress | None = None) -> types.CallToolResult:
        """Run one tool call as `requester` and answer it (never raises for bad input)."""
        served = self.tools.get(tool)
        if served is None:
            known = ", ".join(sorted(self.tools)[:12]) or "(none)"
            return _error(f"unknown tool {tool!r}; this server offers: {known}")
        args = dict(arguments or {})
        problems = sorted(self._validators[tool].iter_errors(args), key=lambda e: list(e.path))
        if problems:
            detail = "; ".join(f"{'.'.join(str(p) for p in e.path) or '(arguments)'}: "
                               f"{e.message}" for e in problems)
            return _error(f"{tool}: invalid arguments: {detail} (tools/list shows the input "
                          "schema)", tool=tool)
        runtime = self.runtime_for(requester)
        key = CallStore.key(tool, args, requester)
        try:
            earlier = await self.calls.open_call(key)
            if earlier is not None:
                result = await self._continue(runtime, earlier.run_id)
                call_id: str | None = earlier.id
            else:
                result = await runtime.execute(served.action, args, run_id=uuid.uuid4().hex)
                call_id = None
            if result.status == "waiting":
                if call_id is None:
                    call_id = (await self.calls.record(key, tool=tool, requester=requester,
                                                       run_id=result.run_id)).id
                result = await self._wait(runtime, result, progress)
            if result.status == "waiting":
                return await self._waiting(served, result)
            if call_id is not None:
                await self.calls.delivered(call_id)
        except AiosError as exc:
            return _error(f"{tool}: {exc}", tool=tool)
        return self._outcome(served, result)

    async def _continue(self, runtime: Runtime, run_id: str) -> RunResult:
        """The earlier run of the same call: its recorded outcome, or resumed."""
        record = await runtime.runs.get_run(run_id)
        if record.status in ("succeeded", "failed", "cancelled"):
            steps = {s.step_id: StepOutcome(s.step_id, s.action, s.status, s.duration_ms or 0.0,
                                            s.result, s.error) for s in record.steps}
            return RunResult(record.id, record.target, record.status, steps, record.metadata,
                             record.error)
        return await runtime.resume(run_id)

    async def _pending(self, run_id: str) -> list[Any]:
        return await self.approvals.queue(statuses=DECIDABLE, run_id=run_id)

    async def _wait(self, runtime: Runtime, result: RunResult,
                    progress: Progress | None) -> RunResult:
        """Wait up to `approval_wait` for the run's requests, resuming when decided."""
        started = time.monotonic()
        while result.status == "waiting":
            pending = await self._pending(result.run_id)
            if pending:
                request = pending[0]
                waited = time.monotonic() - started
                remaining = self.approval_wait - waited
                if remaining <= 0:
                    return result
                if progress is not None:
                    await self._report(progress, waited, request)
                await self.approvals.wait(request.id, min(remaining, self.progress_every))
                continue
            result = await runtime.resume(result.run_id)  # decided: run (or refuse) it now
        return result

    async def _report(self, progress: Progress, waited: float, request: Any) -> None:
        need = request.required_approvals - len(request.approvers())
        try:
            await progress(round(waited, 3), self.approval_wait,
                           f"waiting for {need} approval{'s' if need != 1 else ''} of request "
                           f"{request.id} ({request.action})")
        except Exception:  # a client gone away does not stop the call
            log.debug("progress notification failed", exc_info=True)

    async def _waiting(self, served: ServedTool, result: RunResult) -> types.CallToolResult:
        pending = await self._pending(result.run_id)
        request_id = pending[0].id if pending else None
        text = (f"{served.action} waits for approval: request {request_id} "
                f"(`aios approvals approve {(request_id or '')[:12]}`). Nothing ran yet. Call "
                "this tool again with the same arguments once it is decided to get the outcome.")
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)],
            structuredContent={"status": "waiting", "request_id": request_id,
                               "run_id": result.run_id, "action": served.action},
            isError=False)

    def _outcome(self, served: ServedTool, result: RunResult) -> types.CallToolResult:
        step = next(iter(result.steps.values()), None)
        if result.status == "succeeded" and step is not None and step.status == "succeeded":
            value = step.result
            structured = value if isinstance(value, dict) else None
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=_text(value))],
                structuredContent=structured, isError=False)
        why = (step.error if step is not None and step.error else result.error) or result.status
        status = step.status if step is not None else result.status
        return _error(f"{served.action} {status}: {why}", status=status, run_id=result.run_id,
                      action=served.action)
