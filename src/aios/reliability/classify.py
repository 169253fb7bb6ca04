"""Which failures are worth another try, and which are deterministic.

Only errors named transient are retried (TransientProviderError, ActionTimeout, and the types a
policy names); the deterministic ones below are never retried, whatever a policy names, because
retrying them repeats the same failure or, worse, repeats a side effect.
"""

from __future__ import annotations

import builtins
import copy
import importlib
from collections.abc import Iterable
from dataclasses import dataclass

from aios import errors
from aios.errors import (
    ActionCircuitOpen,
    ActionSkipped,
    ActionSuspended,
    ActionTimeout,
    ApprovalDenied,
    BudgetExceeded,
    CircuitOpen,
    DuplicateExecution,
    GuardrailTripped,
    PermanentProviderError,
    ProviderError,
    StreamInterrupted,
    TransientProviderError,
    UsageError,
)

__all__ = ["DETERMINISTIC", "OPEN_CIRCUIT", "TRANSIENT", "Classifier", "describe",
           "resolve_error_names", "restate"]

#: Retried by default.
TRANSIENT: tuple[type[BaseException], ...] = (TransientProviderError, ActionTimeout)

#: Never retried and never counted against a circuit breaker: a retry fails the same way (or
#: runs a side effect twice), and they say nothing about the health of the dependency.
DETERMINISTIC: tuple[type[BaseException], ...] = (
    PermanentProviderError, UsageError, GuardrailTripped, ApprovalDenied, BudgetExceeded,
    DuplicateExecution, ActionSkipped, ActionSuspended, StreamInterrupted,
)

#: Fail-fast errors: a retry loop stops on them (retrying defeats the breaker), a fallback
#: chain moves on to the next alternative.
OPEN_CIRCUIT: tuple[type[BaseException], ...] = (CircuitOpen, ActionCircuitOpen)

#: Never a reason to try another alternative: they concern the call, not the callee.
_NEVER_FALLBACK: tuple[type[BaseException], ...] = (
    GuardrailTripped, ApprovalDenied, BudgetExceeded, DuplicateExecution, ActionSkipped,
    ActionSuspended, StreamInterrupted,
)

#: HTTP statuses of a 4xx that a retry may fix: timeout, conflict, rate limit.
_RETRYABLE_4XX = frozenset({408, 409, 429})


def _resolve_one(name: str) -> type[BaseException]:
    target: object
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            target = importlib.import_module(module_name)
        except ImportError as exc:
            raise ValueError(f"exception {name!r}: cannot import {module_name!r} ({exc})") from exc
        for part in attr.split("."):
            target = getattr(target, part, None)
    else:
        target = getattr(errors, name, None) or getattr(builtins, name, None)
    if not (isinstance(target, type) and issubclass(target, BaseException)):
        raise ValueError(
            f"{name!r} is not an exception type; name an aios.errors class (TransientProviderError,"
            " ActionTimeout, HandlerError, ...), a builtin (ConnectionError, OSError) or "
            "`package.module:Class`")
    return target


def resolve_error_names(names: Iterable[str]) -> tuple[type[BaseException], ...]:
    """The exception types `names` refer to.

    Raises:
        ValueError: a name resolves to nothing, or to something that is not an exception type.
    """
    return tuple(_resolve_one(name) for name in names)


def _client_error(exc: BaseException) -> bool:
    status = exc.status if isinstance(exc, ProviderError) else None
    return status is not None and 400 <= status < 500 and status not in _RETRYABLE_4XX


@dataclass(frozen=True)
class Classifier:
    """Decides retries, breaker accounting and fallbacks for one policy.

    Attributes:
        retry_on: types retried (TRANSIENT plus the policy's `retry_on`); deterministic
            failures are never retried, whatever is named.
        fallback_on: types a policy names explicitly as fallback triggers (`InvalidOutput`:
            try a stronger model). Besides these, every retryable failure and an open circuit
            move a chain on. Failures that concern the call rather than the callee (approval,
            guardrail, budget, duplicate execution, a skipped or suspended action, a stream
            already partly delivered) never do.
    """

    retry_on: tuple[type[BaseException], ...] = TRANSIENT
    fallback_on: tuple[type[BaseException], ...] = ()

    @classmethod
    def of(cls, retry_on: Iterable[str] = (), fallback_on: Iterable[str] = ()) -> Classifier:
        """A classifier for a policy's `retry.retry_on` and `fallback_on` names."""
        return cls((*TRANSIENT, *resolve_error_names(retry_on)),
                   resolve_error_names(fallback_on))

    def retryable(self, exc: BaseException) -> bool:
        """True when another attempt may succeed."""
        return (isinstance(exc, self.retry_on) and not isinstance(exc, DETERMINISTIC)
                and not isinstance(exc, OPEN_CIRCUIT) and not _client_error(exc))

    def falls_back(self, exc: BaseException) -> bool:
        """True when a fallback chain should try its next alternative."""
        if isinstance(exc, _NEVER_FALLBACK):
            return False
        if isinstance(exc, (*OPEN_CIRCUIT, *self.fallback_on)):
            return True
        return self.retryable(exc)

    @staticmethod
    def counts_against_breaker(exc: BaseException) -> bool:
        """True when the failure says the dependency is unhealthy (not the caller's fault)."""
        return (isinstance(exc, Exception) and not isinstance(exc, DETERMINISTIC)
                and not isinstance(exc, OPEN_CIRCUIT) and not _client_error(exc))


def restate(exc: BaseException, message: str) -> BaseException:
    """A copy of `exc` (same type, same attributes) whose message is `message`, chained to it.

    Callers keep catching the type they know (a retried-out TransientProviderError is still
    one) while the message says what the reliability layer did. When the type cannot be
    copied, `exc` itself comes back with `message` as a note.
    """
    try:
        twin = copy.copy(exc)
    except Exception:  # an exception type whose constructor cannot be replayed
        exc.add_note(message)
        return exc
    twin.args = (message,)
    if str(twin) != message:  # a type that renders from other attributes (OSError)
        exc.add_note(message)
        return exc
    twin.__cause__ = exc
    twin.__traceback__ = None
    return twin


def describe(exc: BaseException) -> str:
    """`Type: message`, for events and messages."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
