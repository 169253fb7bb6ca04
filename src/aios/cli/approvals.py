"""`aios approvals`, `aios audit`, `aios users`: the approval queue, the audit trail, approvers.

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
from aios.approvals.policy import duration_seconds
from aios.approvals.requests import DECIDABLE, STATUSES, ApprovalRequest
from aios.approvals.workflow import ApprovalService
from aios.auth.tokens import IssuedToken, TokenInfo, TokenStore
from aios.auth.users import Role, User, UserStore
from aios.cli.common import (
    JsonOpt,
    Options,
    console,
    emit_json,
    fail,
    fits,
    resolve_options,
    run,
)
from aios.errors import AiosError, ConfigError, ConflictError, NotFoundError
from aios.settings import Settings
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


def _lifetime(expires: str | None) -> float | None:
    if expires in (None, "never", "none"):
        return None
    try:
        return duration_seconds(expires, option="--expires")
    except AiosError as exc:
        fail(str(exc), exc.exit_code)


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


def _token_json(info: TokenInfo, secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": info.id, "user": info.user, "label": info.label,
                            "created_at": info.created_at.isoformat(),
                            "expires_at": info.expires_at.isoformat() if info.expires_at
                            else None,
                            "revoked_at": info.revoked_at.isoformat() if info.revoked_at
                            else None, "state": info.state(datetime.now(UTC))}
    if secret is not None:
        data["token"] = secret
    return data


# -- commands -----------------------------------------------------------------------------


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
            report = run(_with_store(opts.settings(), lambda s: AuditLog(s).verify()))
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
        """Write every record as JSON Lines, in sequence order."""
        opts = resolve_options(ctx, json_out=json_out)

        async def go(store: Store) -> int:
            if out is None:
                return await AuditLog(store).export(sys.stdout.write)
            with out.open("w", encoding="utf-8") as handle:
                return await AuditLog(store).export(handle.write)

        count = run(_with_store(opts.settings(), go))
        if out is not None:
            console(opts.json).print(f"wrote {count} audit records to {out}")


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


async def _with_store(settings: Settings, fn: Any) -> Any:
    async with open_store(settings) as store:
        return await fn(store)


async def _exists(store: Store, name: str) -> bool:
    try:
        await UserStore(store).get(name)
    except NotFoundError:
        return False
    return True


def _set_disabled(ctx: typer.Context, name: str, disabled: bool, json_out: bool) -> None:
    opts = resolve_options(ctx, json_out=json_out)
    user = run(_with_store(opts.settings(),
                           lambda s: UserStore(s).update(name, disabled=disabled)))
    if opts.json:
        emit_json({"name": user.name, "disabled": user.disabled})
    elif disabled:
        console().print(f"{escape(user.name)} is disabled: their tokens and dashboard sessions "
                        f"stop working now (`aios users enable {user.name}` undoes it)")
    else:
        console().print(f"{escape(user.name)} is enabled again")


def _users_commands(app: typer.Typer) -> None:
    users = typer.Typer(help="Approvers: users, roles and API tokens.", no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("add")
    def add(ctx: typer.Context, name: str = typer.Argument(..., help="The user name."),
            role: Role = typer.Option(Role.approver, "--role", help="viewer|approver|admin."),
            password: bool = typer.Option(
                False, "--password", help="Set a password (prompted) for REST sign-in."),
            json_out: JsonOpt = False) -> None:
        """Add a user (with --password: and their password, prompted twice, in one step)."""
        opts = resolve_options(ctx, json_out=json_out)
        if password and run(_with_store(opts.settings(), lambda s: _exists(s, name))):
            fail(f"user {name!r} exists; set their password with `aios users passwd {name}`",
                 ConflictError.exit_code)
        secret = (typer.prompt("password", hide_input=True, confirmation_prompt=True)
                  if password else None)
        user = run(_with_store(opts.settings(),
                               lambda s: UserStore(s).add(name, role, password=secret)))
        if opts.json:
            emit_json({"name": user.name, "role": user.role.value})
        else:
            console().print(f"added {user.role.value} {escape(user.name)}; give them a token: "
                            f"aios users token {user.name}")

    @users.command("link-slack")
    def link_slack(ctx: typer.Context, name: str = typer.Argument(..., help="The Ai:oS user."),
                   slack_id: str = typer.Argument(..., help="Their Slack member id (U...)."),
                   json_out: JsonOpt = False) -> None:
        """Let a Slack user decide approvals from Slack buttons as this Ai:oS user."""
        from aios.approvals.chat_users import SlackUsers

        opts = resolve_options(ctx, json_out=json_out)
        user = run(_with_store(opts.settings(), lambda s: SlackUsers(s).link(name, slack_id)))
        if opts.json:
            emit_json({"name": user.name, "slack_id": slack_id})
        else:
            console().print(f"Slack user {escape(slack_id)} now decides as "
                            f"{escape(user.name)} ({user.role.value})")

    @users.command("list")
    def list_users(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """List users and their roles."""
        opts = resolve_options(ctx, json_out=json_out)
        found = run(_with_store(opts.settings(), lambda s: UserStore(s).list()))
        if opts.json:
            emit_json([{"name": u.name, "role": u.role.value, "disabled": u.disabled,
                        "has_password": u.has_password} for u in found])
            return
        table = Table("name", "role", "password", "disabled", show_edge=False)
        for u in found:
            table.add_row(escape(u.name), u.role.value, "yes" if u.has_password else "no",
                          "yes" if u.disabled else "")
        console().print(table if found else "no users; add one: aios users add NAME "
                        "--role approver")

    @users.command("role")
    def set_role(ctx: typer.Context, name: str, role: Role, json_out: JsonOpt = False) -> None:
        """Change a user's role."""
        opts = resolve_options(ctx, json_out=json_out)
        user = run(_with_store(opts.settings(), lambda s: UserStore(s).update(name, role=role)))
        if opts.json:
            emit_json({"name": user.name, "role": user.role.value})
        else:
            console().print(f"{escape(user.name)} is now {user.role.value}")

    @users.command("passwd")
    def passwd(ctx: typer.Context, name: str = typer.Argument(..., help="The user."),
               json_out: JsonOpt = False) -> None:
        """Set or change a user's password (prompted twice); their tokens stay valid."""
        opts = resolve_options(ctx, json_out=json_out)
        run(_with_store(opts.settings(), lambda s: UserStore(s).get(name)))
        secret = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
        if not secret:
            fail("the password is empty; nothing changed", ConfigError.exit_code)
        user = run(_with_store(opts.settings(),
                               lambda s: UserStore(s).update(name, password=secret)))
        if opts.json:
            emit_json({"name": user.name, "has_password": user.has_password})
        else:
            console().print(f"password of {escape(user.name)} set; they sign in to the "
                            "dashboard with it")

    @users.command("disable")
    def disable(ctx: typer.Context, name: str = typer.Argument(..., help="The user."),
                json_out: JsonOpt = False) -> None:
        """Disable a user: their tokens and sessions stop working at once."""
        _set_disabled(ctx, name, True, json_out)

    @users.command("enable")
    def enable(ctx: typer.Context, name: str = typer.Argument(..., help="The user."),
               json_out: JsonOpt = False) -> None:
        """Enable a disabled user again (their unexpired tokens work again)."""
        _set_disabled(ctx, name, False, json_out)

    @users.command("delete")
    def delete(ctx: typer.Context, name: str = typer.Argument(..., help="The user."),
               json_out: JsonOpt = False) -> None:
        """Delete a user and their tokens; their past decisions stay in the audit trail."""
        opts = resolve_options(ctx, json_out=json_out)
        user = run(_with_store(opts.settings(), lambda s: UserStore(s).delete(name)))
        if opts.json:
            emit_json({"name": user.name, "deleted": True})
        else:
            console().print(f"deleted {escape(user.name)} and their tokens; their decisions "
                            "stay in the audit trail")

    @users.command("token")
    def token(ctx: typer.Context, name: str = typer.Argument(..., help="The user."),
              expires: str | None = typer.Option(
                  "30d", "--expires", help="Lifetime (30m, 12h, 30d); 'never' for none."),
              label: str = typer.Option("", "--label", help="What the token is for."),
              json_out: JsonOpt = False) -> None:
        """Create an API token for a user; it is printed once."""
        opts = resolve_options(ctx, json_out=json_out)
        lifetime = _lifetime(expires)
        issued: IssuedToken = run(_with_store(opts.settings(), lambda s: TokenStore(s).issue(
            name, expires_in=lifetime, label=label)))
        if opts.json:
            emit_json(_token_json(issued.info, issued.secret))
            return
        until = (f"until {issued.info.expires_at:%Y-%m-%d %H:%M} UTC" if issued.info.expires_at
                 else "until revoked")
        console(True).print(f"token {issued.info.id} for {escape(name)}, valid {until}; it is "
                            "shown once. Use it with --token or AIOS_TOKEN:")
        sys.stdout.write(issued.secret + "\n")

    @users.command("tokens")
    def tokens(ctx: typer.Context, name: str | None = typer.Argument(None, help="Only theirs."),
               json_out: JsonOpt = False) -> None:
        """List API tokens (never their secrets)."""
        opts = resolve_options(ctx, json_out=json_out)
        found = run(_with_store(opts.settings(), lambda s: TokenStore(s).list(name)))
        if opts.json:
            emit_json([_token_json(t) for t in found])
            return
        table = Table("id", "user", "label", "expires", "state", show_edge=False)
        now = datetime.now(UTC)
        for t in found:
            table.add_row(t.id, escape(t.user), escape(t.label),
                          f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "never",
                          t.state(now))
        console().print(table)

    @users.command("revoke")
    def revoke(ctx: typer.Context, token_id: str = typer.Argument(..., help="Token id."),
               json_out: JsonOpt = False) -> None:
        """Revoke an API token at once."""
        opts = resolve_options(ctx, json_out=json_out)
        info = run(_with_store(opts.settings(), lambda s: TokenStore(s).revoke(token_id)))
        if opts.json:
            emit_json(_token_json(info))
        else:
            console().print(f"token {info.id} of {escape(info.user)} revoked")


def register(app: typer.Typer) -> None:
    """Add the `approvals`, `audit` and `users` command groups to `app`."""
    _approvals_commands(app)
    _audit_commands(app)
    _users_commands(app)
