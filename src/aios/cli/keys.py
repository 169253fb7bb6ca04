"""`aios keys`: API keys of the OpenAI-compatible endpoint, with their own limits and budget.

A key is an API token (the same table as `aios users token`, which keeps working) with an
optional policy: requests and tokens per minute that replace the manifest's `endpoint:`
values for the key, a dollar budget (over the key's lifetime by default, or per UTC day or
month), and the models it may name. `aios keys list` shows what each key has spent, read
from the cost ledger.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import cast

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from aios.app import open_store
from aios.approvals.policy import duration_seconds
from aios.auth.keys import BUDGET_PERIODS, KeyPolicy, Period, parse_models
from aios.auth.keyspend import KeyUsage, key_usage
from aios.auth.tokens import IssuedToken, TokenInfo, TokenStore
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
from aios.errors import AiosError, ConfigError
from aios.llm.ledger import KeySpend
from aios.settings import Settings

__all__ = ["register"]


def _lifetime(expires: str) -> float | None:
    if expires in ("never", "none"):
        return None
    return duration_seconds(expires, option="--expires")


def _check_models(opts: Options, models: tuple[str, ...] | None) -> None:
    """With --manifest given: every name must be one of its models, a tier, or `auto`."""
    if models is None or opts.manifest is None:
        return
    from aios.app import load_manifest
    from aios.llm.config import TIERS
    from aios.server.openai_api import AUTO

    manifest = load_manifest(opts.manifest, env=opts.env, import_handlers=False)
    known = [*sorted(manifest.models), *TIERS, AUTO]
    unknown = [name for name in models if name not in known]
    if unknown:
        raise ConfigError(f"--models: {', '.join(unknown)} is not a model of "
                          f"{opts.manifest}, a tier or auto; known: {', '.join(known)}")


async def _create(settings: Settings, user: str, lifetime: float | None, name: str,
                  policy: KeyPolicy) -> IssuedToken:
    async with open_store(settings) as store:
        return await TokenStore(store).issue(user, expires_in=lifetime, label=name,
                                             policy=policy)


async def _list(settings: Settings, user: str | None) -> list[KeyUsage]:
    async with open_store(settings) as store:
        return await key_usage(store, user=user)


async def _revoke(settings: Settings, key_id: str) -> TokenInfo:
    async with open_store(settings) as store:
        return await TokenStore(store).revoke(key_id)


def _limits_text(info: TokenInfo) -> str:
    policy = info.policy
    parts = [f"{policy.rpm} rpm" if policy.rpm else "", f"{policy.tpm} tpm" if policy.tpm else ""]
    return ", ".join(p for p in parts if p) or "-"


def _budget_text(usage: KeyUsage) -> str:
    policy = usage.key.policy
    if policy.budget_usd is None:
        return "-"
    window = "" if policy.budget_period == "total" else f"/{policy.budget_period}"
    return f"${usage.budget_used_usd or 0.0:.4f} of ${policy.budget_usd:.2f}{window}"


def _keys_table(found: list[KeyUsage], now: datetime, *, compact: bool) -> Table:
    """The keys; ids, calls and spend are never cut, other values wrap."""
    table = Table(show_edge=False, pad_edge=False,
                  box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD)
    table.add_column("id", no_wrap=True)
    headers = ["user", "state", "limits", "budget"] if compact else \
        ["user", "name", "state", "limits", "models", "budget"]
    for header in headers:
        table.add_column(header, overflow="fold")
    table.add_column("calls", no_wrap=True, justify="right")
    table.add_column("spent", no_wrap=True, justify="right")
    for usage in found:
        info = usage.key
        models = info.policy.models
        cells = {"user": escape(info.user), "name": escape(info.label),
                 "state": info.state(now), "limits": _limits_text(info),
                 "models": escape(",".join(models)) if models else "any",
                 "budget": _budget_text(usage)}
        table.add_row(info.id, *(cells[h] for h in headers), str(usage.spend.calls),
                      f"${usage.spend.usd:.4f}")
    return table


def register(app: typer.Typer) -> None:
    """Add the `keys` command group to `app`."""
    keys = typer.Typer(help="API keys of the OpenAI-compatible endpoint: create (limits, "
                            "budget, models), list (with spend), revoke.", no_args_is_help=True)
    app.add_typer(keys, name="keys")

    @keys.command("create")
    def create(ctx: typer.Context, user: str = typer.Argument(..., help="The key's user."),
               name: str = typer.Option("", "--name", help="What the key is for."),
               rpm: int | None = typer.Option(
                   None, "--rpm", help="Requests per minute (replaces the manifest's "
                   "endpoint: value for this key)."),
               tpm: int | None = typer.Option(
                   None, "--tpm", help="Tokens per minute (likewise)."),
               budget_usd: float | None = typer.Option(
                   None, "--budget-usd", help="The most the key's calls may cost, over "
                   "--budget-period."),
               budget_period: str = typer.Option(
                   "total", "--budget-period",
                   help="total (the key's lifetime), day or month (UTC calendar)."),
               models: str | None = typer.Option(
                   None, "--models", help="Comma-separated models, tiers or auto the key may "
                   "ask for (default: any); checked against --manifest when given."),
               expires: str = typer.Option(
                   "never", "--expires", help="Lifetime (30m, 12h, 30d) or 'never'."),
               json_out: JsonOpt = False) -> None:
        """Create an API key for USER; the key is printed once."""
        opts = resolve_options(ctx, json_out=json_out)
        try:
            if budget_period not in BUDGET_PERIODS:
                raise ConfigError(f"--budget-period must be one of "
                                  f"{', '.join(BUDGET_PERIODS)}, got {budget_period!r}")
            allowed = parse_models(models)
            policy = KeyPolicy(rpm=rpm, tpm=tpm, budget_usd=budget_usd,
                               budget_period=cast(Period, budget_period), models=allowed)
            _check_models(opts, allowed)
            lifetime = _lifetime(expires)
        except AiosError as exc:
            fail(str(exc), exc.exit_code)
        issued = run(_create(opts.settings(), user, lifetime, name, policy))
        info = issued.info
        if opts.json:
            emit_json({**KeyUsage(info, KeySpend(), None).json(datetime.now(UTC)),
                       "key": issued.secret})
            return
        until = f"until {info.expires_at:%Y-%m-%d %H:%M} UTC" if info.expires_at \
            else "until revoked"
        console(True).print(
            f"key {info.id} for {escape(user)}, valid {until}; limits {_limits_text(info)}, "
            f"budget {_budget_text(KeyUsage(info, KeySpend(), 0.0))}, models "
            f"{escape(', '.join(allowed)) if allowed else 'any'}. It is shown once; use it "
            "as the API key (base_url http://HOST:PORT/v1):")
        sys.stdout.write(issued.secret + "\n")

    @keys.command("list")
    def list_keys(ctx: typer.Context,
                  user: str | None = typer.Argument(None, help="Only this user's keys."),
                  json_out: JsonOpt = False) -> None:
        """List keys with their limits and what they have spent (never their secrets)."""
        opts = resolve_options(ctx, json_out=json_out)
        found = run(_list(opts.settings(), user))
        now = datetime.now(UTC)
        if opts.json:
            emit_json([usage.json(now) for usage in found])
            return
        if not found:
            console().print("no keys; create one: aios keys create USER --rpm 60 --budget-usd 5")
            return
        out = console()
        for compact in (False, True):  # narrow terminals: name and models left to --json
            table = _keys_table(found, now, compact=compact)
            if compact or fits(out, table):
                break
        out.print(table)

    @keys.command("revoke")
    def revoke(ctx: typer.Context, key_id: str = typer.Argument(..., help="The key's id."),
               json_out: JsonOpt = False) -> None:
        """Revoke a key: the endpoint refuses it (401) from now on."""
        opts = resolve_options(ctx, json_out=json_out)
        info = run(_revoke(opts.settings(), key_id))
        if opts.json:
            emit_json({"id": info.id, "user": info.user, "state": info.state(datetime.now(UTC)),
                       "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None})
        else:
            console().print(f"key {info.id} of {escape(info.user)} revoked")

