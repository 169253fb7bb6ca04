"""Builds a ready `Gateway` from the manifest's `models:` and `budgets:` (the composition root
and the CLI call this; nothing here reads a global)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from aios.llm.budget import BudgetManager
from aios.llm.config import BudgetsConfig, ModelSpec, model_infos
from aios.llm.gateway import Gateway, default_price_table
from aios.llm.interfaces import ResponseCache, Router, Wrapper
from aios.llm.ledger import CostLedger
from aios.llm.pricing import PriceTable
from aios.llm.stacks import ModelStacks
from aios.llm.types import ModelInfo
from aios.store.engine import Store
from aios.store.writer import BatchWriter

__all__ = ["build_gateway", "build_stacks", "resolve_models"]


def resolve_models(specs: Mapping[str, ModelSpec], prices: PriceTable) -> dict[str, ModelInfo]:
    """`ModelInfo`s for `specs`, with context windows genai-prices knows filled in."""
    infos = model_infos(specs)
    for name, info in infos.items():
        spec = specs.get(name)
        if spec is None or spec.context_window is None:
            known = prices.context_window(info)
            if known:
                infos[name] = dataclasses.replace(info, context_window=int(known))
    return infos


def build_stacks(models: Mapping[str, ModelSpec], *, env: Mapping[str, str],
                 wrappers: Sequence[Wrapper] = ()) -> ModelStacks:
    """Each model's per-attempt stack (costed adapter, then `wrappers`), for `build_gateway`
    and for whatever must reach models by name first (a fallback chain)."""
    prices = default_price_table()
    return ModelStacks(resolve_models(models, prices), prices=prices, env=env,
                       wrappers=wrappers)


def build_gateway(models: Mapping[str, ModelSpec], budgets: BudgetsConfig | None = None, *,
                  store: Store | None = None, writer: BatchWriter | None = None,
                  env: Mapping[str, str] | None = None, router: Router | None = None,
                  cache: ResponseCache | None = None,
                  wrappers: Sequence[Wrapper] = (),
                  stacks: ModelStacks | None = None) -> Gateway:
    """A gateway for the manifest's models (the packaged local model when there are none).

    Args:
        models: the manifest's `models:`.
        budgets: the manifest's `budgets:`.
        store: where the cost ledger goes and past spend is read from (None: no ledger).
        writer: the batch writer to queue ledger rows on (share the runtime's).
        env: where API keys are read from (default: the process environment).
        router, cache, wrappers, stacks: see `Gateway` (`build_stacks` makes `stacks`).
    """
    prices = stacks.prices if stacks is not None else default_price_table()
    infos = stacks.models if stacks is not None else resolve_models(models, prices)
    ledger = CostLedger(store, writer) if store is not None else None
    # With a ledger there is always a manager: an API key's own budget needs one even when
    # the manifest configures none (it costs nothing on calls that carry no key budget).
    manager = BudgetManager(budgets or BudgetsConfig(), ledger) \
        if ledger is not None or (budgets is not None and not budgets.empty) else None
    return Gateway(infos, env=env, router=router, cache=cache, wrappers=wrappers,
                   ledger=ledger, budgets=manager, prices=prices, stacks=stacks)
