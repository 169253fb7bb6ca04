"""`aios keys`: API keys of the OpenAI-compatible endpoint, with their own limits and budget.

A key is an API token (the same table as `aios users token`, which keeps working) with an
optional policy: requests and tokens per minute that replace the manifest's `endpoint:`
values for the key, a dollar budget (over the key's lifetime by default, or per UTC day or
month), the models it may name, and the tenant its calls are for. `aios keys list` shows what
each key has spent, read from the cost ledger. `aios keys update ID` changes any of these on an
existing key; `none` as a value removes that part (`--rpm none`: back to the manifest's value,
`--budget-usd none`: no budget of its own, `--models none`: any model, `--tenant none`: no
tenant, `--expires never`). A server that changes a key (`PATCH /api/tokens/ID`) applies it at
once; a change from the CLI reaches a running server within AIOS_KEY_CACHE_SECONDS.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any, Literal, cast

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from aios.app import open_store
from aios.approvals.policy import duration_seconds
from aios.auth.keys import (
    BUDGET_PERIODS,
    KeyPolicy,
    Period,
    check_models,
    check_tenant,
    parse_models,
)
from aios.auth.keyspend import KeyUsage, key_usage
from aios.auth.keyupdate import update_key
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
from aios.llm.pricing import usd_text
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

    manifest = load_manifest(opts.manifest, env=opts.env, import_handlers=False)
    check_models(models, manifest.models, source=str(opts.manifest))


#: What `aios keys update` takes to mean "remove this part of the policy".
NONE = "none"


def _number(option: str, text: str, kind: type[int] | type[float]) -> int | float | None:
    """An `aios keys update` value: `none` (None) or a number of `kind`."""
    if text.strip().lower() == NONE:
        return None
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "an amount"
        raise ConfigError(f"{option} must be {what} or 'none' (remove it), got {text!r}") \
            from None


def _changes(rpm: str | None, tpm: str | None, budget_usd: str | None,
             budget_period: str | None, models: str | None,
             tenant: str | None) -> dict[str, Any]:
    """The policy fields `aios keys update` was given, parsed (None values: remove)."""
    changes: dict[str, Any] = {}
    if rpm is not None:
        changes["rpm"] = _number("--rpm", rpm, int)
    if tpm is not None:
        changes["tpm"] = _number("--tpm", tpm, int)
    if budget_usd is not None:
        changes["budget_usd"] = _number("--budget-usd", budget_usd, float)
    if budget_period is not None:
        if budget_period not in BUDGET_PERIODS:
            raise ConfigError(f"--budget-period must be one of {', '.join(BUDGET_PERIODS)}, "
                              f"got {budget_period!r}")
        changes["budget_period"] = budget_period
    if models is not None:
        if models.strip().lower() == NONE:
            changes["models"] = None
        else:
            changes["models"] = parse_models(models)
            if changes["models"] is None:
                raise ConfigError("--models is empty; give names, or 'none' to allow any model")
    if tenant is not None:
        changes["tenant"] = None if tenant.strip().lower() == NONE else check_tenant(tenant)
    return changes


async def _update(settings: Settings, key_id: str, changes: dict[str, Any],
                  expires: str | None) -> tuple[TokenInfo, TokenInfo]:
    """The key before and after `changes` (policy fields) and `expires` (None: kept)."""
    lifetime: float | Literal["keep", "never"] = "keep"
    if expires is not None:
        seconds = _lifetime(expires)
        lifetime = "never" if seconds is None else seconds
    async with open_store(settings) as store:
        return await update_key(TokenStore(store), key_id, changes, expires_in=lifetime)


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
    return f"{usd_text(usage.budget_used_usd or 0.0)} of ${policy.budget_usd:.2f}{window}"


def _keys_table(found: list[KeyUsage], now: datetime, *, compact: bool) -> Table:
    """The keys; ids, calls and spend are never cut, other values wrap."""
    table = Table(show_edge=False, pad_edge=False,
                  box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD)
    table.add_column("id", no_wrap=True)
    headers = ["user", "state", "limits", "budget"] if compact else \
        ["user", "tenant", "name", "state", "limits", "models", "budget"]
    for header in headers:
        table.add_column(header, overflow="fold")
    table.add_column("calls", no_wrap=True, justify="right")
    table.add_column("spent", no_wrap=True, justify="right")
    for usage in found:
        info = usage.key
        models = info.policy.models
        cells = {"user": escape(info.user), "tenant": escape(info.policy.tenant or "-"),
                 "name": escape(info.label),
                 "state": info.state(now), "limits": _limits_text(info),
                 "models": escape(",".join(models)) if models else "any",
                 "budget": _budget_text(usage)}
        table.add_row(info.id, *(cells[h] for h in headers), str(usage.spend.calls),
                      usd_text(usage.spend.usd))
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
               tenant: str | None = typer.Option(
                   None, "--tenant", help="The tenant the key's calls are for (tenant "
                   "budgets, cache namespace, ledger, metrics); default: none."),
               json_out: JsonOpt = False) -> None:
        """Create an API key for USER; the key is printed once."""
        opts = resolve_options(ctx, json_out=json_out)
        try:
            if budget_period not in BUDGET_PERIODS:
                raise ConfigError(f"--budget-period must be one of "
                                  f"{', '.join(BUDGET_PERIODS)}, got {budget_period!r}")
            allowed = parse_models(models)
            policy = KeyPolicy(rpm=rpm, tpm=tpm, budget_usd=budget_usd,
                               budget_period=cast(Period, budget_period), models=allowed,
                               tenant=check_tenant(tenant))
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
            f"{escape(', '.join(allowed)) if allowed else 'any'}"
            f"{', tenant ' + escape(tenant) if tenant else ''}. It is shown once; use it "
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

    @keys.command("update")
    def update(ctx: typer.Context, key_id: str = typer.Argument(..., help="The key's id."),
               rpm: str | None = typer.Option(
                   None, "--rpm", help="Requests per minute, or 'none' (the manifest's)."),
               tpm: str | None = typer.Option(
                   None, "--tpm", help="Tokens per minute, or 'none' (the manifest's)."),
               budget_usd: str | None = typer.Option(
                   None, "--budget-usd", help="The key's budget in USD, or 'none'."),
               budget_period: str | None = typer.Option(
                   None, "--budget-period", help="total, day or month."),
               models: str | None = typer.Option(
                   None, "--models", help="Comma-separated models, tiers or auto, or 'none' "
                   "(any); checked against --manifest when given."),
               expires: str | None = typer.Option(
                   None, "--expires", help="A new lifetime from now (30d), or 'never'."),
               tenant: str | None = typer.Option(
                   None, "--tenant", help="The tenant the key's calls are for, or 'none'."),
               json_out: JsonOpt = False) -> None:
        """Change a key's limits, budget, models, tenant or expiry; what is not given is kept.

        A running server sees the change within AIOS_KEY_CACHE_SECONDS (at once when made
        through its API: PATCH /api/tokens/ID)."""
        opts = resolve_options(ctx, json_out=json_out)
        try:
            changes = _changes(rpm, tpm, budget_usd, budget_period, models, tenant)
            if expires is not None:
                _lifetime(expires)
            _check_models(opts, changes.get("models"))
        except AiosError as exc:
            fail(str(exc), exc.exit_code)
        before, after = run(_update(opts.settings(), key_id, changes, expires))
        now = datetime.now(UTC)
        if opts.json:
            emit_json({"before": KeyUsage(before, KeySpend(), None).json(now),
                       "after": KeyUsage(after, KeySpend(), None).json(now)})
            return
        old, new = before.policy.json(), after.policy.json()
        if before.expires_at != after.expires_at:
            old["expires_at"], new["expires_at"] = before.expires_at, after.expires_at
        changed = [f"{name} {old[name]} -> {new[name]}" for name in new if old[name] != new[name]]
        console().print(f"key {after.id} of {escape(after.user)}: "
                        f"{escape('; '.join(changed)) if changed else 'unchanged'}")
