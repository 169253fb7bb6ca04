"""What an API key may do on the OpenAI-compatible endpoint: its own limits, budget, models.

A key issued by `aios keys create` carries a `KeyPolicy`, stored on its `api_tokens` row. Each
part is optional; an unset part falls back to what applies to every key of the user (the
manifest's `endpoint:` limits, `budgets:`), so a token from `aios users token` (no policy) works
as before. The key's own requests and tokens per minute replace its user's manifest values;
its budget applies on top of the user's and tenant's budgets; its models restrict which
`model` values a request may name; its tenant is the tenant of every call made with it.

Why the tenant is on the key, not on the user: the endpoint sees keys, and a key is the
credential an application is deployed with, so it is what belongs to one tenant (LiteLLM puts
teams on keys for the same reason); one user (a person, or a service account) may run
applications for several tenants, each with its own key. A key without a tenant acts for none,
as keys made before tenants did.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

from aios.errors import ConfigError
from aios.llm.types import KeyBudget

__all__ = ["AUTO", "BUDGET_PERIODS", "KeyPolicy", "check_models", "check_tenant", "parse_models"]

#: The windows a key's budget can be summed over.
BUDGET_PERIODS = ("total", "day", "month")

Period = Literal["total", "day", "month"]

#: The `model` that lets the router choose.
AUTO = "auto"


def parse_models(text: str | None) -> tuple[str, ...] | None:
    """`"gpt-4o, simple,auto"` -> `("gpt-4o", "simple", "auto")`; None or empty: any model.

    Raises:
        ConfigError: an empty name (`a,,b`), a name with spaces, or a name given twice.
    """
    if text is None or not text.strip():
        return None
    names = [part.strip() for part in text.split(",")]
    if any(not name for name in names):
        raise ConfigError(f"--models {text!r} has an empty name; give names separated by "
                          "commas, for example --models gpt-4o-mini,simple,auto")
    for name in names:
        if any(ch.isspace() for ch in name):
            raise ConfigError(f"--models: {name!r} contains a space; separate names with "
                              "commas only")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"--models names {', '.join(repeated)} more than once")
    return tuple(names)


def check_models(models: Iterable[str] | None, manifest_models: Iterable[str], *,
                 source: str) -> None:
    """Refuse names in `models` that are not one of `manifest_models`, a tier, or `auto`.

    Raises:
        ConfigError: naming the unknown ones, `source` (the manifest) and the known ones.
    """
    if models is None:
        return
    from aios.llm.config import TIERS

    known = [*sorted(manifest_models), *TIERS, AUTO]
    unknown = [name for name in models if name not in known]
    if unknown:
        raise ConfigError(f"--models: {', '.join(unknown)} is not a model of {source}, a tier "
                          f"or auto; known: {', '.join(known)}")


def check_tenant(name: str | None) -> str | None:
    """`name` as a tenant (None: none).

    Raises:
        ConfigError: empty, longer than 200 characters, or containing a space or `/` (the
            cache namespace is `tenant/user`).
    """
    if name is None:
        return None
    if not name or len(name) > 200 or "/" in name or any(ch.isspace() for ch in name):
        raise ConfigError(f"--tenant must be a name of 1 to 200 characters without spaces or "
                          f"'/', got {name!r}")
    return name


@dataclass(frozen=True)
class KeyPolicy:
    """An API key's own limits (None everywhere: the key is limited only as its user is).

    Attributes:
        rpm: requests per minute (replaces the manifest's `endpoint:` value for the user).
        tpm: tokens per minute (likewise).
        budget_usd: the most the key's calls may cost over `budget_period`.
        budget_period: `total` (the key's lifetime), `day` or `month` (UTC calendar).
        models: the `model` values requests may name (manifest models, tiers, `auto`);
            None: any.
        tenant: the tenant the key's calls are for (budgets, cache namespace, ledger,
            metrics); None: none.
    """

    rpm: int | None = None
    tpm: int | None = None
    budget_usd: float | None = None
    budget_period: Period = "total"
    models: tuple[str, ...] | None = None
    tenant: str | None = None

    def __post_init__(self) -> None:
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ConfigError(f"--{name} must be a whole number of at least 1, got "
                                  f"{value!r} (leave it out for no limit of the key's own)")
        budget = self.budget_usd
        if budget is not None and (not isinstance(budget, int | float) or isinstance(budget, bool)
                                   or not math.isfinite(budget) or budget < 0):
            raise ConfigError(f"--budget-usd must be a finite amount of at least 0, got "
                              f"{budget!r}")
        if self.budget_period not in BUDGET_PERIODS:
            raise ConfigError(f"--budget-period must be one of {', '.join(BUDGET_PERIODS)}, "
                              f"got {self.budget_period!r}")
        if self.models is not None and not self.models:
            raise ConfigError("--models is empty; leave it out to allow every model")
        check_tenant(self.tenant)

    @property
    def budget(self) -> KeyBudget | None:
        """The key's budget as the gateway takes it (None: none)."""
        if self.budget_usd is None:
            return None
        return KeyBudget(float(self.budget_usd), self.budget_period)

    def allows(self, model: str) -> bool:
        """Whether a request may name `model`."""
        return self.models is None or model in self.models

    def columns(self) -> dict[str, Any]:
        """The policy as `api_tokens` columns."""
        return {"rpm": self.rpm, "tpm": self.tpm, "budget_usd": self.budget_usd,
                "budget_period": self.budget_period if self.budget_usd is not None else None,
                "models": list(self.models) if self.models is not None else None,
                "tenant": self.tenant}

    @classmethod
    def of_row(cls, row: Any) -> KeyPolicy:
        """The policy stored on an `api_tokens` row."""
        models = row["models"]
        return cls(rpm=row["rpm"], tpm=row["tpm"], budget_usd=row["budget_usd"],
                   budget_period=cast(Period, row["budget_period"] or "total"),
                   models=tuple(models) if models is not None else None,
                   tenant=row["tenant"])

    def json(self) -> dict[str, Any]:
        """The policy for `--json` output and the dashboard."""
        return {"rpm": self.rpm, "tpm": self.tpm, "budget_usd": self.budget_usd,
                "budget_period": self.budget_period if self.budget_usd is not None else None,
                "models": list(self.models) if self.models is not None else None,
                "tenant": self.tenant}
