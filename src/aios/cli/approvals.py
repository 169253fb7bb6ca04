"""`aios approvals`, `aios audit`: the approval queue and the audit trail.

Deciding needs an API token (`--token` or AIOS_TOKEN): the decision is recorded under the
token's user, never under a name given on the command line. Managing users works with the
store's own credentials, like `createuser` on a database server: whoever can write the store
administers it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aios.app import open_store
from aios.approvals.audit import AuditLog, AuditRecord, VerifyReport, verify_records
from aios.approvals.channels.deliveries import FAILED, Delivery, DeliveryLog
from aios.approvals.requests import DECIDABLE, STATUSES, ApprovalRequest
from aios.approvals.workflow import ApprovalService
from aios.auth.tokens import TokenStore
from aios.auth.users import User
from aios.cli.common import (
    JsonOpt,
    Options,
    console,
    emit_json,
    fail,
    fits,
    resolve_options,
    run,
    with_store,
)
from aios.errors import ConfigError
from aios.store.engine import Store

__all__ = ["register"]

TokenOpt = Annotated[str | None, typer.Option(
    "--token", envvar="AIOS_TOKEN", show_envvar=True,
    help="Your API token (`aios users token NAME` creates one).")]

_STYLE = {"pending": "yellow", "escalated": "magenta", "approved": "green",
          "executed": "green", "rejected": "red", "expired": "red", "withdrawn": "bright_black"}


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _age(when: datetime) -> str:
    return _span(max(0, int((datetime.now(UTC) - when).total_seconds())))


def _until(when: datetime | None) -> str:
    if when is None:
        return "-"
    seconds = int((when - datetime.now(UTC)).total_seconds())
    return "passed" if seconds <= 0 else f"in {_span(seconds)}"


def _parse_json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{option} is not valid JSON ({exc.msg} at column {exc.colno}); "
             f"example: {option} '{{\"pid\": 1234}}'", ConfigError.exit_code)
    if not isinstance(value, dict):
        fail(f"{option} must be a JSON object, for example {option} '{{\"pid\": 1234}}'",
             ConfigError.exit_code)
    return value


async def _authenticate(store: Store, token: str | None) -> User:
    return await TokenStore(store).authenticate(token)


# -- rendering ----------------------------------------------------------------------------


#: Queue columns: (header, header in a narrow terminal or None to leave it out there).
_QUEUE_COLUMNS = (("criticality", "crit"), ("approvals", "votes"), ("group", "group"),
                  ("deadline", "due"), ("age", None), ("requester", None), ("status", "status"))


def _queue_table(requests: Sequence[ApprovalRequest], *, compact: bool) -> Table:
    """The queue; `compact` (narrow terminals) shows 8-character ids (`approvals show` and
    `approve` take prefixes) and leaves age and requester to `aios approvals show`."""
    table = Table(show_edge=False, pad_edge=False,
                  box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD)
    table.add_column("id", no_wrap=True)
    table.add_column("action", overflow="fold", min_width=12)
    shown = [(name, short if compact and short else name) for name, short in _QUEUE_COLUMNS
             if short is not None or not compact]
    for _, header in shown:
        table.add_column(header, overflow="fold")  # values wrap, never cut
    for r in requests:
        cells = {"criticality": r.criticality,
                 "approvals": f"{len(r.approvers())}/{r.required_approvals}",
                 "group": r.group.group,
                 "deadline": _until(r.deadline) if r.decidable else "-",
                 "age": _age(r.created_at), "requester": escape(r.requester),
                 "status": f"[{_STYLE.get(r.status, '')}]{r.status}[/]"}
        table.add_row(r.id[:8] if compact else r.id[:12], escape(r.action),
                      *(cells[name] for name, _ in shown))
    return table


def _render_queue(out: Console, requests: Sequence[ApprovalRequest]) -> None:
    if not requests:
        out.print("no approval requests waiting")
        return
    table = _queue_table(requests, compact=False)
    if not fits(out, table):
        table = _queue_table(requests, compact=True)
    out.print(table)


def _render_request(out: Console, r: ApprovalRequest, trail: Sequence[AuditRecord]) -> None:
    out.print(f"[bold]request {r.id}[/]  [{_STYLE.get(r.status, '')}]{r.status}[/] "
              f"(version {r.version})")
    rows = [("action", r.action), ("run / step", f"{r.run_id} / {r.step_id}"),
            ("criticality", f"{r.criticality} (priority {r.priority})"),
            ("requester", r.requester), ("reason", r.reason or "-"),
            ("risks", "; ".join(r.risks) or "-"),
            ("confidence", "-" if r.confidence is None else f"{r.confidence:.2f}"),
            ("approvals", f"{len(r.approvers())}/{r.required_approvals} "
                          f"({', '.join(r.approvers()) or 'none yet'})"),
            ("group", f"{r.group.group} (stage {r.stage + 1} of {len(r.route)})"),
            ("deadline", r.deadline.isoformat() if r.deadline else "none"),
            ("arguments", json.dumps(r.args, sort_keys=True))]
    if r.approved_args is not None:
        rows.append(("edited to", json.dumps(r.approved_args, sort_keys=True)))
    if r.preview is not None:
        shown = (r.preview.get("error") or
                 json.dumps(r.preview.get("output"), sort_keys=True, default=str))
        rows.append(("preview", f"{shown} (by {r.preview.get('handler')}, hash "
                                f"{(r.preview_hash or '')[:16]})"))
    if r.outcome is not None:
        rows.append(("outcome", json.dumps(r.outcome, sort_keys=True)))
    for key, value in rows:
        out.print(f"  [bold]{key:<12}[/] {escape(str(value))}")
    _render_effective(out, r)
    out.print("  [bold]lineage[/]")
    for step in r.lineage():
        by = f" by {step['by']}" if step.get("by") else ""
        out.print(f"    {step['stage']:<9} {step['args_hash'][:16]}{escape(by)}")
    if r.decisions:
        out.print("  [bold]decisions[/]")
        for d in r.decisions:
            note = f": {d.reason}" if d.reason else ""
            out.print(f"    {d.at:%Y-%m-%d %H:%M:%S} {escape(d.decider)} {d.decision}"
                      f"{' (edited)' if d.edited else ''}{escape(note)}")
    if trail:
        out.print("  [bold]audit[/]")
        for rec in trail:
            out.print(f"    #{rec.seq} {rec.at} {rec.kind} by {escape(rec.actor)}")


def _render_effective(out: Console, r: ApprovalRequest) -> None:
    """What will run: each effective argument, schema defaults marked `(default)`."""
    rows = r.effective.rows()
    defaults = sum(1 for *_, default in rows if default)
    note = f"{defaults} from the action's defaults" if defaults else "no defaults added"
    out.print(f"  [bold]will run with[/] ({note})")
    if not rows:
        out.print("    (no arguments)")
    for path, value, default in rows:
        mark = "  [yellow](default)[/]" if default else ""
        out.print(f"    {escape(path)} = {escape(json.dumps(value, sort_keys=True))}{mark}",
                  soft_wrap=True)


def _render_deliveries(out: Console, sent: Sequence[Delivery]) -> None:
    """Each delivery attempt to the manifest's channels; failures in red."""
    if not sent:
        out.print("  [bold]deliveries[/] none (no channel configured, or none wanted it)")
        return
    failed = sum(1 for d in sent if d.status == FAILED)
    out.print(f"  [bold]deliveries[/] ({len(sent)} attempts, {failed} given up)")
    for d in sent:
        style = {"sent": "green", "failed": "red", "retrying": "yellow"}.get(d.status, "")
        target = f" -> {d.target}" if d.target else ""
        out.print(f"    {d.at:%Y-%m-%d %H:%M:%S} {d.event:<9} {escape(d.channel)}"
                  f"{escape(target)} #{d.attempt} [{style}]{d.status}[/] {escape(d.detail)}",
                  soft_wrap=True)


def _approvals_commands(app: typer.Typer) -> None:
    approvals = typer.Typer(help="The approval queue: list, show, approve, reject.",
                            no_args_is_help=True)
    app.add_typer(approvals, name="approvals")

    @approvals.command("list")
    def list_requests(
            ctx: typer.Context,
            status: list[str] | None = typer.Option(
                None, "--status", "-s", help=f"Only these states ({', '.join(STATUSES)})."),
            all_: bool = typer.Option(False, "--all", "-a", help="Every state."),
            run_id: str | None = typer.Option(None, "--run", help="Only this run's requests."),
            limit: int = typer.Option(50, "--limit", "-n", min=1),
            json_out: JsonOpt = False) -> None:
        """The queue: critical first, then oldest. Passed deadlines are applied first."""
        opts = resolve_options(ctx, json_out=json_out)
        statuses = None if all_ else (status or list(DECIDABLE))

        async def go() -> list[ApprovalRequest]:
            async with open_store(opts.settings()) as store:
                service = ApprovalService(store)
                await service.expire_due()
                return await service.queue(statuses=statuses, run_id=run_id, limit=limit)

        found = run(go())
        if opts.json:
            emit_json([r.to_json() for r in found])
        else:
            _render_queue(console(), found)

    @approvals.command("show")
    def show(ctx: typer.Context, request_id: str = typer.Argument(..., help="Id or prefix."),
             json_out: JsonOpt = False) -> None:
        """One request: arguments, reason, risks, decisions, lineage and audit records."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go() -> tuple[ApprovalRequest, list[AuditRecord], list[Delivery]]:
            async with open_store(opts.settings()) as store:
                service = ApprovalService(store)
                req = await service.get(request_id)
                await service.expire_due(ids=[req.id])
                req = await service.get(req.id)
                trail = [rec async for rec in service.audit.records(request_id=req.id)]
                sent = await DeliveryLog(service.requests, service.audit).for_request(req.id)
                return req, trail, sent

        req, trail, sent = run(go())
        if opts.json:
            emit_json({**req.to_json(), "audit": [t.to_json() for t in trail],
                       "deliveries": [d.to_json() for d in sent]})
        else:
            _render_request(console(), req, trail)
            _render_deliveries(console(), sent)

    @approvals.command("approve")
    def approve(ctx: typer.Context, request_id: str = typer.Argument(..., help="Id or prefix."),
                edit_args: str | None = typer.Option(
                    None, "--edit-args", help="Approve with these arguments instead (JSON)."),
                comment: str | None = typer.Option(None, "--comment", help="A note."),
                version: int | None = typer.Option(
                    None, "--version", help="Fail if the request changed since this version."),
                token: TokenOpt = None, json_out: JsonOpt = False) -> None:
        """Approve a request as the user of your token."""
        opts = resolve_options(ctx, json_out=json_out)
        edited = _parse_json_object(edit_args, "--edit-args") if edit_args else None
        _decide(opts, request_id, token, lambda s, u: s.approve(
            request_id, u, edited_args=edited, comment=comment, version=version))

    @approvals.command("reject")
    def reject(ctx: typer.Context, request_id: str = typer.Argument(..., help="Id or prefix."),
               reason: str = typer.Option(..., "--reason", "-r", help="Why (required)."),
               version: int | None = typer.Option(
                   None, "--version", help="Fail if the request changed since this version."),
               token: TokenOpt = None, json_out: JsonOpt = False) -> None:
        """Reject a request as the user of your token; the reason is required."""
        opts = resolve_options(ctx, json_out=json_out)
        _decide(opts, request_id, token,
                lambda s, u: s.reject(request_id, u, reason=reason, version=version))


def _decide(opts: Options, request_id: str, token: str | None, act: Any) -> None:
    async def go() -> tuple[User, ApprovalRequest]:
        async with open_store(opts.settings()) as store:
            user = await _authenticate(store, token)
            service = ApprovalService(store)
            await service.expire_due()
            return user, await act(service, user)

    user, req = run(go())
    if opts.json:
        emit_json(req.to_json())
        return
    out = console()
    done = f"{len(req.approvers())}/{req.required_approvals} approvals"
    out.print(f"request {req.id[:12]} ({req.action}) is [{_STYLE.get(req.status, '')}]"
              f"{req.status}[/] after {escape(user.name)}'s decision ({done})", soft_wrap=True)
    if req.status == "approved":
        out.print(f"resume its run: aios runs resume {req.run_id[:12]}")


def _audit_commands(app: typer.Typer) -> None:
    audit = typer.Typer(help="The hash-chained audit trail: verify, export.",
                        no_args_is_help=True)
    app.add_typer(audit, name="audit")

    @audit.command("verify")
    def verify(ctx: typer.Context,
               file: Path | None = typer.Option(
                   None, "--file", "-f", help="Verify an export (JSON Lines) instead."),
               json_out: JsonOpt = False) -> None:
        """Recompute the chain; exit 1 and name the first broken link if any."""
        opts = resolve_options(ctx, json_out=json_out)
        if file is not None:
            report = _verify_file(file)
        else:
            report = run(with_store(opts.settings(), lambda s: AuditLog(s).verify()))
        if opts.json:
            emit_json({"ok": report.ok, "records": report.records,
                       "broken_seq": report.broken_seq, "problem": report.problem,
                       "message": str(report)})
        else:
            style = "green" if report.ok else "bold red"
            console().print(f"[{style}]{escape(str(report))}[/]", soft_wrap=True)
        if not report.ok:
            raise typer.Exit(1)

    @audit.command("export")
    def export(ctx: typer.Context,
               out: Path | None = typer.Option(None, "--out", "-o",
                                               help="Write here (default: stdout)."),
               json_out: JsonOpt = False) -> None:
        """Write every record as JSON Lines, in sequence order (with --json and no --out:
        one JSON array of the records)."""
        opts = resolve_options(ctx, json_out=json_out)
        lines: list[str] = []

        async def go(store: Store) -> int:
            if out is None:
                return await AuditLog(store).export(
                    lines.append if opts.json else sys.stdout.write)
            with out.open("w", encoding="utf-8") as handle:
                return await AuditLog(store).export(handle.write)

        count = run(with_store(opts.settings(), go))
        if out is None:
            if opts.json:
                emit_json([json.loads(line) for line in lines])
        elif opts.json:
            emit_json({"records": count, "file": str(out)})
        else:
            console().print(f"wrote {count} audit records to {out}")


def _verify_file(path: Path) -> VerifyReport:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}") from exc
    records = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                return VerifyReport(False, len(records), None,
                                    f"{path}:{number} is not valid JSON")
    return verify_records(records)


def register(app: typer.Typer) -> None:
    """Add the `approvals` and `audit` command groups to `app` (`users`: aios.cli.users)."""
    _approvals_commands(app)
    _audit_commands(app)
