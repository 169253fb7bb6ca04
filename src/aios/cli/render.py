"""Rich rendering for runs: live progress, summaries, reports. No logic lives here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from aios.cli.common import fits
from aios.runtime.events import RunStarted, StepFinished, StepStarted

if TYPE_CHECKING:
    from aios.runtime.engine import RunResult
    from aios.store.run_usage import AgentEnd, RunUsage
    from aios.store.runs import RunRecord

__all__ = ["LiveProgress", "render_report", "render_run", "render_runs", "run_to_json",
           "status_text"]

_STYLE = {"succeeded": "green", "failed": "red", "skipped": "yellow", "cancelled": "magenta",
          "running": "cyan", "pending": "dim", "interrupted": "red"}


def status_text(status: str) -> Text:
    """A status word in its colour."""
    return Text(status, style=_STYLE.get(status, ""))


def _short(value: Any, limit: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LiveProgress:
    """A run listener that shows each step's state live (a context manager around the run)."""

    def __init__(self, console: Console, title: str):
        self.console = console
        self.title = title
        self.steps: dict[str, dict[str, Any]] = {}
        self.live = Live(self._table(), console=console, refresh_per_second=8, transient=False)

    def __enter__(self) -> LiveProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.update(self._table())
        self.live.__exit__(None, None, None)
        if not self.console.is_terminal:
            # Rich ends the last frame with a newline only on a terminal; without one, the
            # next line printed (`run ID succeeded`) would be glued to the table's border.
            self.console.line()

    def __call__(self, event: object) -> None:
        if isinstance(event, RunStarted):
            for sid in event.steps:
                self.steps.setdefault(sid, {"status": "pending", "ms": None, "note": ""})
        elif isinstance(event, StepStarted):
            self.steps[event.step_id] = {"status": "running", "ms": None, "note": ""}
        elif isinstance(event, StepFinished):
            self.steps[event.step_id] = {"status": event.status, "ms": event.duration_ms,
                                         "note": event.error or ""}
        self.live.update(self._table())

    def _table(self) -> Table:
        table = Table(title=self.title, title_justify="left", expand=False)
        table.add_column("step")
        table.add_column("status")
        table.add_column("ms", justify="right")
        table.add_column("note", overflow="fold", max_width=70)
        for sid, info in self.steps.items():
            ms = f"{info['ms']:.1f}" if info["ms"] is not None else ""
            table.add_row(sid, status_text(info["status"]), ms, _short(info["note"]))
        return table


def run_to_json(result: RunResult) -> dict[str, Any]:
    """A run result as plain JSON data."""
    return {
        "run_id": result.run_id,
        "target": result.target,
        "status": result.status,
        "error": result.error,
        "steps": [
            {"step": o.step_id, "action": o.action, "status": o.status,
             "duration_ms": round(o.duration_ms, 3), "result": o.result, "error": o.error}
            for o in result.steps.values()
        ],
        "metadata": result.metadata,
        **({"agent": result.agent.to_json()} if result.agent is not None else {}),
    }


def record_to_json(record: RunRecord) -> dict[str, Any]:
    """A stored run as plain JSON data."""
    return {
        "run_id": record.id, "kind": record.kind, "target": record.target,
        "status": record.status, "forensic": record.forensic, "error": record.error,
        "created_at": record.created_at.isoformat(),
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "manifest": record.manifest_path or record.manifest_name,
        "initiator": record.initiator, "resumed_by": list(record.resumed_by),
        "heartbeat": {"at": record.heartbeat_at.isoformat() if record.heartbeat_at else None,
                      "host": record.host, "pid": record.pid},
        "steps": [{"step": s.step_id, "action": s.action, "status": s.status,
                   "attempt": s.attempt, "duration_ms": s.duration_ms, "result": s.result,
                   "error": s.error} for s in record.steps],
        "metadata": record.metadata,
    }


def _plain(value: Any) -> str:
    """Nested highlights as `key value, key value` text instead of JSON punctuation."""
    if isinstance(value, Mapping):
        parts = []
        for key, inner in value.items():
            label = str(key).rpartition(".")[2]
            if isinstance(inner, Mapping) and label in inner:
                parts.append(_plain(inner))  # "containers=0", not "containers containers=0"
            else:
                parts.append(f"{label} {_plain(inner)}" if isinstance(inner, Mapping)
                             else f"{label}={_plain(inner)}")
        return ", ".join(parts)
    if isinstance(value, list):
        more = ", …" if len(value) > 6 else ""
        return "[" + ", ".join(_plain(v) for v in value[:6]) + more + "]"
    return str(value)


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else ""


def render_runs(console: Console, records: list[RunRecord]) -> None:
    """The `aios runs` table."""
    table = Table(title="runs (newest first)", title_justify="left")
    for col in ("id", "target", "status", "started", "finished", "error"):
        table.add_column(col, overflow="fold")
    for r in records:
        table.add_row(r.id[:12], r.target, status_text(r.status), _when(r.created_at),
                      _when(r.finished_at), _short(r.error or "", 50))
    console.print(table)


def _heartbeat(record: RunRecord) -> str:
    """Which process executes (or last executed) the run, and its last heartbeat."""
    who = f"process {record.pid or '?'} on {escape(record.host or '?')}"
    if record.heartbeat_at is None:  # a finished run's heartbeat is cleared
        return f"executed by {who}; no heartbeat (not executing)"
    age = (datetime.now(UTC) - record.heartbeat_at).total_seconds()
    return f"executed by {who}; last heartbeat {_when(record.heartbeat_at)} ({age:.0f} s ago)"


def _usage(usage: RunUsage) -> str:
    """`LLM: 2 calls, 120 in + 40 out tokens, $0.00012` (the figures `--json` has)."""
    if not usage.llm_calls:
        return "LLM: no calls"
    from aios.llm.pricing import usd_text  # only for runs that called a model

    calls = f"{usage.llm_calls} call{'s' if usage.llm_calls != 1 else ''}"
    return (f"LLM: {calls}, {usage.input_tokens} in + {usage.output_tokens} out tokens, "
            f"{usd_text(usage.cost_usd)}")


def render_run(console: Console, record: RunRecord, usage: RunUsage | None = None,
               end: AgentEnd | None = None) -> None:
    """The `aios runs show` view: the run, its LLM usage, an agent run's end and answer, and
    each step's latest state."""
    console.print(f"run [bold]{record.id}[/]  {escape(record.kind)} [bold]"
                  f"{escape(record.target)}[/]  ", status_text(record.status))
    console.print(f"started {_when(record.created_at)}  finished {_when(record.finished_at)}"
                  f"  forensic={record.forensic}")
    console.print(_heartbeat(record))
    if usage is not None:
        console.print(_usage(usage), markup=False)
    if record.error:
        console.print(f"[red]{escape(record.error)}[/]")
    if end is not None:
        console.print(f"end: {end.end_reason or 'not yet (the run has not ended)'}",
                      markup=False)
        if end.answer:
            console.print("answer:", markup=False)
            console.print(end.answer, markup=False)
    table = Table(title_justify="left")
    table.add_column("step", no_wrap=True)
    for col in ("status", "attempt", "ms"):
        table.add_column(col, no_wrap=True)
    table.add_column("result / error", overflow="fold")
    details = []
    for s in record.steps:
        detail = s.error if s.error else s.result
        details.append((s.step_id, detail))
        table.add_row(s.step_id, status_text(s.status), str(s.attempt),
                      f"{s.duration_ms:.1f}" if s.duration_ms is not None else "",
                      _short(detail, 80) if detail is not None else "")
    if fits(console, table):
        console.print(table)
        return
    # Too narrow for a results column: the steps, then each result on lines of its own
    # (not squeezed into a 20-character column, names never split).
    table.columns.pop()  # a column holds its own cells: the other columns are unchanged
    console.print(table)
    for step_id, detail in details:
        if detail is not None:
            console.print(f"[bold]{escape(step_id)}[/]: {escape(_short(detail, 400))}")


def render_report(console: Console, result: RunResult) -> None:
    """The host report at the end of a boot: the summary's findings, else the metadata."""
    report = _find_report(result.metadata)
    if not report:
        console.print(f"run {result.run_id[:12]} {result.status}")
        return
    findings = report.get("findings") or []
    table = Table(title="host report", title_justify="left")
    table.add_column("severity")
    table.add_column("finding", overflow="fold")
    for item in findings:
        if isinstance(item, Mapping):
            table.add_row(str(item.get("severity", "")), escape(str(item.get("message", item))))
        else:
            table.add_row("", escape(str(item)))
    parts: list[Any] = [table]
    highlights = report.get("highlights") or report.get("agents")
    if isinstance(highlights, Mapping):
        hl = Table(title="highlights", title_justify="left")
        hl.add_column("agent")
        hl.add_column("summary", overflow="fold")
        for agent, summary in highlights.items():
            hl.add_row(agent, escape(_plain(summary)))
        parts.insert(0, hl)
    narrative = report.get("narrative")
    if narrative:
        parts.append(Text(f"\n{narrative}"))
    elif report.get("narrative_error"):
        parts.append(Text(f"\nnarrative omitted: {_short(report['narrative_error'], 160)}",
                          style="dim"))
    console.print(Group(*parts))


def _find_report(metadata: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any] | None:
    for values in metadata.values():
        report = values.get("report")
        if isinstance(report, Mapping):
            return report
    return None
