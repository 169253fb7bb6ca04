"""`aios users`: approvers, their roles, passwords, Slack links and API tokens.

Managing users works with the store's own credentials, like `createuser` on a database
server: whoever can write the store administers it.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from aios.approvals.policy import duration_seconds
from aios.auth.tokens import IssuedToken, TokenInfo, TokenStore
from aios.auth.users import Role, UserStore
from aios.cli.common import (
    JsonOpt,
    console,
    emit_json,
    fail,
    resolve_options,
    run,
    with_store,
)
from aios.errors import AiosError, ConfigError, ConflictError, NotFoundError
from aios.store.engine import Store

__all__ = ["register"]


def _lifetime(expires: str | None) -> float | None:
    if expires in (None, "never", "none"):
        return None
    try:
        return duration_seconds(expires, option="--expires")
    except AiosError as exc:
        fail(str(exc), exc.exit_code)


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


async def _exists(store: Store, name: str) -> bool:
    try:
        await UserStore(store).get(name)
    except NotFoundError:
        return False
    return True


def _set_disabled(ctx: typer.Context, name: str, disabled: bool, json_out: bool) -> None:
    opts = resolve_options(ctx, json_out=json_out)
    user = run(with_store(opts.settings(),
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
        if password and run(with_store(opts.settings(), lambda s: _exists(s, name))):
            fail(f"user {name!r} exists; set their password with `aios users passwd {name}`",
                 ConflictError.exit_code)
        secret = (typer.prompt("password", hide_input=True, confirmation_prompt=True,
                                err=True)
                  if password else None)
        user = run(with_store(opts.settings(),
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
        user = run(with_store(opts.settings(), lambda s: SlackUsers(s).link(name, slack_id)))
        if opts.json:
            emit_json({"name": user.name, "slack_id": slack_id})
        else:
            console().print(f"Slack user {escape(slack_id)} now decides as "
                            f"{escape(user.name)} ({user.role.value})")

    @users.command("list")
    def list_users(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """List users and their roles."""
        opts = resolve_options(ctx, json_out=json_out)
        found = run(with_store(opts.settings(), lambda s: UserStore(s).list()))
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
        user = run(with_store(opts.settings(), lambda s: UserStore(s).update(name, role=role)))
        if opts.json:
            emit_json({"name": user.name, "role": user.role.value})
        else:
            console().print(f"{escape(user.name)} is now {user.role.value}")

    @users.command("passwd")
    def passwd(ctx: typer.Context, name: str = typer.Argument(..., help="The user."),
               json_out: JsonOpt = False) -> None:
        """Set or change a user's password (prompted twice); their tokens stay valid."""
        opts = resolve_options(ctx, json_out=json_out)
        run(with_store(opts.settings(), lambda s: UserStore(s).get(name)))
        secret = typer.prompt("new password", hide_input=True, confirmation_prompt=True,
                              err=True)
        if not secret:
            fail("the password is empty; nothing changed", ConfigError.exit_code)
        user = run(with_store(opts.settings(),
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
        user = run(with_store(opts.settings(), lambda s: UserStore(s).delete(name)))
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
        issued: IssuedToken = run(with_store(opts.settings(), lambda s: TokenStore(s).issue(
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
        found = run(with_store(opts.settings(), lambda s: TokenStore(s).list(name)))
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
        info = run(with_store(opts.settings(), lambda s: TokenStore(s).revoke(token_id)))
        if opts.json:
            emit_json(_token_json(info))
        else:
            console().print(f"token {info.id} of {escape(info.user)} revoked")



def register(app: typer.Typer) -> None:
    """Add the `users` command group to `app`."""
    _users_commands(app)
