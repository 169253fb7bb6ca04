"""`aios ask` and `aios models`: one question through the model gateway, and the model list."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from aios.app import load_manifest, open_gateway, open_store
from aios.cli.common import (
    JsonOpt,
    ManifestOpt,
    Options,
    console,
    emit_json,
    fits,
    resolve_options,
    run,
)
from aios.errors import ConfigError
from aios.llm import Gateway, LLMResponse
from aios.llm.pricing import usd_text
from aios.llm.providers import resolve_api_key
from aios.modeltext import repetition

__all__ = ["register"]


def _response_json(response: LLMResponse, gateway: Gateway) -> dict[str, Any]:
    model = gateway.models.get(response.model)
    usage = response.usage
    return {"text": response.text, "model": response.model, "provider": response.provider,
            "model_id": model.model_id if model else response.response_model,
            "route_reason": response.route_reason,
            "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                      "cache_read_tokens": usage.cache_read_tokens,
                      "cache_write_tokens": usage.cache_write_tokens,
                      "reasoning_tokens": usage.reasoning_tokens, "counted": usage.counted},
            "cost_usd": response.cost_usd, "latency_s": response.latency_s,
            "ttft_s": response.ttft_s, "cached": response.cached,
            "finish_reason": response.finish_reason,
            "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments}
                           for c in response.tool_calls]}


def _footer(response: LLMResponse, gateway: Gateway) -> str:
    model = gateway.models.get(response.model)
    usage = response.usage
    how = "counted" if usage.counted else "reported"
    extra = []
    if usage.cache_read_tokens or usage.cache_write_tokens:
        extra.append(f"cache read {usage.cache_read_tokens}, write {usage.cache_write_tokens}")
    if usage.reasoning_tokens:
        extra.append(f"reasoning {usage.reasoning_tokens}")
    ttft = f" (first token {response.ttft_s:.2f} s)" if response.ttft_s is not None else ""
    lines = [
        f"[dim]model:[/]   {escape(response.model)} ({escape(response.provider)} "
        f"{escape(model.model_id if model else response.response_model or '?')})"
        f" [dim]- {escape(response.route_reason or '')}[/]",
        f"[dim]tokens:[/]  {usage.input_tokens} in / {usage.output_tokens} out ({how})"
        + (f"; {', '.join(extra)}" if extra else ""),
        f"[dim]cost:[/]    {usd_text(response.cost_usd)}",
        f"[dim]latency:[/] {response.latency_s:.2f} s{ttft}",
        f"[dim]cache:[/]   {'hit' if response.cached else 'miss'}",
    ]
    return "\n".join(lines)


async def _ask(opts: Options, prompt: str, fields: dict[str, Any], stream: bool
               ) -> tuple[LLMResponse, dict[str, Any], str]:
    manifest = load_manifest(opts.manifest, env=opts.env)
    out = console(opts.json)
    async with open_store(opts.settings()) as store, open_gateway(manifest,
                                                                  store=store) as gateway:
        if not stream:
            response = await gateway.complete(prompt, **fields)
        else:
            final: LLMResponse | None = None
            async for chunk in gateway.stream(prompt, **fields):
                if chunk.text and not opts.json:  # a cache hit comes as one chunk with both
                    sys.stdout.write(chunk.text)
                    sys.stdout.flush()
                if chunk.response is not None:
                    final = chunk.response
            if not opts.json:
                sys.stdout.write("\n")
            if final is None:  # pragma: no cover - the gateway always ends with a response
                raise ConfigError("the stream ended without a final response")
            response = final
        data = _response_json(response, gateway)
        footer = _footer(response, gateway)
    looped = repetition(response.text)
    if looped:
        # Degenerate text is not an answer: say so instead of showing it.
        data["text"], data["withheld"] = None, f"the answer loops ({looped})"
        note = (f"[yellow]the model's answer is not shown: it loops ({escape(looped)}).[/] "
                f"{escape(response.model)} is a small model; ask something simpler, or pick "
                "a larger one with --model (`aios models` lists them)")
        if stream:
            note = "[yellow]the answer above loops; do not rely on it.[/] " + note.split(
                "[/] ", 1)[1]
        if not opts.json:
            out.print(note, soft_wrap=True)
    elif not opts.json and not stream:
        out.print(escape(response.text), soft_wrap=True)
    return response, data, footer


def _models(opts: Options) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        manifest = load_manifest(opts.manifest, env=opts.env)
        async with open_gateway(manifest) as gateway:
            rows = []
            for model in gateway.models.values():
                prices = gateway.prices_of(model)
                try:
                    resolve_api_key(model, os.environ)
                    key = "ok"
                except ConfigError as exc:
                    key = str(exc)
                rows.append({
                    "name": model.name, "provider": model.provider, "model_id": model.model_id,
                    "tier": model.tier, "context_window": model.context_window,
                    "max_output_tokens": model.max_output_tokens, "base_url": model.base_url,
                    "api_key_env": model.api_key_env, "api_key": key,
                    "capabilities": {"tools": model.supports_tools, "json": model.supports_json,
                                     "streaming": model.supports_streaming},
                    "prices_usd_per_mtok": prices.describe(), "price_source": prices.source})
            return rows

    return run(go())


def _render_models(rows: list[dict[str, Any]]) -> None:
    table = Table(title="models (prices: USD per million tokens)")
    for column in ("name", "provider / model", "tier", "context", "can", "in / out",
                   "cache r / w", "key"):
        table.add_column(column, no_wrap=True)  # no cell split mid-word (else: blocks)

    def money(value: float | None) -> str:
        return "?" if value is None else f"{value:g}"

    for row in rows:
        caps = row["capabilities"]
        price = row["prices_usd_per_mtok"]
        can = "\n".join(name for name in ("tools", "json", "streaming") if caps[name]) or "-"
        table.add_row(
            row["name"], f"{row['provider']}\n{row['model_id']}", row["tier"],
            str(row["context_window"]), can,
            f"{money(price['input'])} / {money(price['output'])}\n[dim]{row['price_source']}[/]",
            # A cache class without its own price is charged at the input price.
            " / ".join("in" if price[k] is None else f"{price[k]:g}"
                       for k in ("cache_read", "cache_write")),
            "ok" if row["api_key"] == "ok" else "[red]missing[/]")
    out = console()
    if fits(out, table):
        out.print(table)
    else:  # too narrow for the table: one block per model, nothing split or cut
        out.print("[bold]models[/] (prices: USD per million tokens)")
        for row in rows:
            caps = row["capabilities"]
            price = row["prices_usd_per_mtok"]
            can = " ".join(n for n in ("tools", "json", "streaming") if caps[n]) or "-"
            out.print(f"[bold]{escape(row['name'])}[/]  {escape(row['provider'])} "
                      f"{escape(row['model_id'])}", soft_wrap=True)
            out.print(f"  tier {row['tier']}, context {row['context_window']}, can {can}, "
                      f"in {money(price['input'])} / out {money(price['output'])} "
                      f"({escape(row['price_source'])}), key "
                      f"{'ok' if row['api_key'] == 'ok' else '[red]missing[/]'}")
    for row in rows:
        if row["api_key"] != "ok":
            out.print(f"[red]missing key:[/] {escape(row['api_key'])}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add `ask` and `models` to `app`."""

    @app.command("ask")
    def ask(ctx: typer.Context,
            prompt: str = typer.Argument(..., help="The question."),
            model: str | None = typer.Option(None, "--model", help="A model name from "
                                             "`aios models` (default: the router decides)."),
            tier: str | None = typer.Option(None, "--tier",
                                            help="simple | medium | complex."),
            system: str | None = typer.Option(None, "--system", help="A system prompt."),
            max_tokens: int | None = typer.Option(None, "--max-tokens", min=1,
                                                  help="Cap on output tokens."),
            stream: bool = typer.Option(False, "--stream", help="Print the answer as it "
                                        "arrives."),
            manifest: ManifestOpt = None, json_out: JsonOpt = False) -> None:
        """Ask a model one question through the gateway: answer, model, tokens, cost."""
        opts = resolve_options(ctx, manifest, json_out=json_out)
        fields: dict[str, Any] = {"model": model, "tier": tier, "max_tokens": max_tokens}
        if system:
            fields["system"] = system
        _, data, footer = run(_ask(opts, prompt, fields, stream))
        if opts.json:
            emit_json(data)
        else:
            console().print(footer, soft_wrap=True)

    @app.command("models")
    def models(ctx: typer.Context, manifest: ManifestOpt = None,
               json_out: JsonOpt = False) -> None:
        """List the configured models: tier, capabilities, prices, whether the key is set."""
        opts = resolve_options(ctx, manifest, json_out=json_out)
        rows = _models(opts)
        if opts.json:
            emit_json(rows)
        else:
            _render_models(rows)
