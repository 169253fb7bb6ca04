"""Reliability configuration as frozen pydantic models, as the manifest declares it.

An action carries its own `reliability:`; the manifest's top-level `reliability:` maps model
names and action globs (`kernel.*`, `*`) to policies. `policy_for` picks the one that applies.
This module is plain data: it does not import the manifest package (the manifest imports it).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aios.reliability.classify import resolve_error_names

__all__ = [
    "DEFAULT_MODEL_POLICY",
    "BreakerPolicy",
    "ReliabilityPolicy",
    "RetryPolicy",
    "StreamPolicy",
    "policy_for",
]

_Seconds = Annotated[float, Field(gt=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetryPolicy(_Frozen):
    """How transient failures are retried: bounded in attempts AND total time, jittered."""

    attempts: int = Field(
        default=3, ge=1, le=100,
        description="Attempts in all, the first included; 1 turns retry off.")
    initial_backoff_s: float = Field(
        default=0.5, ge=0,
        description="Upper bound of the first wait, in seconds; it doubles with each retry.")
    max_backoff_s: float = Field(
        default=30.0, ge=0, description="No single wait is longer than this (seconds).")
    max_total_s: float = Field(
        default=60.0, gt=0,
        description="Retrying stops once this many seconds have passed since the first attempt.")
    jitter: bool = Field(
        default=True,
        description="Full jitter: each wait is uniform in [0, backoff]; false: exactly the "
        "exponential backoff.")
    retry_on: tuple[str, ...] = Field(
        default=(),
        description="More exception types to retry, besides TransientProviderError and "
        "ActionTimeout: an aios.errors name (`HandlerError`), a builtin (`ConnectionError`) or "
        "`package.module:Class`. Deterministic failures (bad request, validation, guardrail, "
        "approval, budget, duplicate execution) are never retried.")

    @field_validator("retry_on")
    @classmethod
    def _names_resolve(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        resolve_error_names(value)  # raises ValueError naming the bad entry
        return value

    @model_validator(mode="after")
    def _backoff_order(self) -> RetryPolicy:
        if self.initial_backoff_s > self.max_backoff_s:
            raise ValueError(f"initial_backoff_s ({self.initial_backoff_s}) is larger than "
                             f"max_backoff_s ({self.max_backoff_s}); lower it or raise the cap")
        return self


class BreakerPolicy(_Frozen):
    """When a circuit breaker opens, and how it recovers."""

    window: int = Field(
        default=20, ge=1,
        description="The failure rate is computed over the last `window` calls.")
    window_s: float | None = Field(
        default=None, gt=0,
        description="Also forget calls older than this many seconds (a time-based window on "
        "top of the count); null: count only.")
    min_calls: int = Field(
        default=5, ge=1,
        description="The breaker never opens before the window holds this many calls.")
    failure_rate: float = Field(
        default=0.5, gt=0, le=1,
        description="Open when failures / calls in the window reach this fraction.")
    cooldown_s: float = Field(
        default=30.0, ge=0,
        description="Seconds an open breaker rejects calls before it lets a trial call through.")
    half_open_calls: int = Field(
        default=1, ge=1,
        description="Trial calls let through when half-open; all must succeed to close the "
        "breaker, one failure opens it again.")


class StreamPolicy(_Frozen):
    """Time limits of a streamed completion."""

    ttft_s: float | None = Field(
        default=None, gt=0,
        description="Seconds to wait for the first token (null: the policy's `timeout_s`).")
    idle_s: float | None = Field(
        default=None, gt=0, description="Seconds allowed between two chunks (null: no limit).")


class ReliabilityPolicy(_Frozen):
    """Retry, circuit breaker, timeout, fallback and concurrency limit of one action or model.

    For an action, `timeout_s` bounds each attempt (the action's own `timeout` still applies
    inside); `fallback` names other actions (`agent.key`) or handlers (`module:function` or a
    built-in handler name). For a model, `timeout_s` bounds one call and `fallback` names
    other models from `models:`.
    """

    retry: RetryPolicy = Field(
        default=RetryPolicy(), description="Retries of transient failures.")
    breaker: BreakerPolicy | None = Field(
        default=BreakerPolicy(), description="The circuit breaker; null turns it off.")
    timeout_s: _Seconds | None = Field(
        default=None, description="Seconds one attempt may take; null: no limit of its own.")
    stream: StreamPolicy = Field(
        default=StreamPolicy(), description="Time-to-first-token and idle limits of streams.")
    fallback: tuple[str, ...] = Field(
        default=(),
        description="Alternatives tried in order when every attempt failed transiently or the "
        "breaker is open.")
    fallback_on: tuple[str, ...] = Field(
        default=(),
        description="More exception types that move on to the next alternative (same syntax "
        "as retry.retry_on).")
    max_concurrency: int | None = Field(
        default=None, ge=1,
        description="Calls in flight at once (per action, or per provider for models) in one "
        "process; the others wait their turn.")

    @field_validator("fallback_on")
    @classmethod
    def _fallback_names_resolve(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        resolve_error_names(value)
        return value


#: What a model gets when the manifest configures nothing for it: retries, a breaker, and
#: time limits, so a hung provider never hangs a caller.
DEFAULT_MODEL_POLICY = ReliabilityPolicy(
    timeout_s=120.0, stream=StreamPolicy(ttft_s=60.0, idle_s=30.0))


def _specificity(pattern: str) -> tuple[int, int]:
    literal = sum(1 for ch in pattern if ch not in "*?[]")
    return (literal, len(pattern))


def policy_for(name: str, table: Mapping[str, ReliabilityPolicy], *,
               own: ReliabilityPolicy | None = None,
               default: ReliabilityPolicy | None = None) -> ReliabilityPolicy | None:
    """The policy that applies to the action or model called `name`.

    Order: the action's `own` policy; an exact key of `table`; the most specific glob of
    `table` that matches (most literal characters); `default`.
    """
    if own is not None:
        return own
    exact = table.get(name)
    if exact is not None:
        return exact
    matches = [key for key in table if fnmatch.fnmatchcase(name, key)]
    if matches:
        return table[max(matches, key=_specificity)]
    return default
