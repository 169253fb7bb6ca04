"""The one exception tree of Ai:oS.

Every error Ai:oS raises on purpose is an ``AiosError``. The tree is grouped by what the caller
can do about it::

    AiosError
    ├── UsageError                 the caller got something wrong; fix the input and try again
    │   ├── ManifestError          a manifest file is malformed or inconsistent (file:line issues)
    │   ├── DatasetError           an evaluation dataset or suite file is malformed (file:line)
    │   ├── ConfigError            a setting, CLI argument or environment variable is wrong
    │   ├── NotFoundError          a run, action, sequence, model ... that does not exist
    │   ├── ConflictError          the request clashes with the current state (already decided ...)
    │   ├── AuthenticationError    no valid credentials: missing, unknown, expired or revoked token
    │   └── PermissionDenied       authenticated, but not allowed (role, separation of duties)
    ├── StoreError                 the database refused a read or a write
    │   └── StoreUnreachable       the database cannot be reached at all (check the URL)
    ├── ActionError                an action could not complete
    │   ├── HandlerError           the handler raised; the original exception is the __cause__
    │   ├── ActionTimeout          the handler ran past its timeout (and was stopped)
    │   ├── ActionOutcomeUnknown   it ran past its timeout and could not be stopped: it may
    │   │                          still finish; its step is recorded as `unknown`
    │   ├── ActionSkipped          the pipeline chose not to run it (forensic, not confirmed)
    │   ├── ActionSuspended        the step waits (for an approval); the run resumes later
    │   ├── DuplicateExecution     a mutating action was asked to run again under the same key
    │   ├── WorkerLost             the worker process running it died; a mutating action's
    │   │                          outcome is unknown, so it is never run again automatically
    │   └── ActionCircuitOpen      the action's circuit breaker is open: failing fast, try later
    ├── ProviderError              an LLM provider failed
    │   ├── TransientProviderError rate limit, timeout, connection error, 5xx: worth retrying
    │   │   └── CircuitOpen        the model's circuit breaker is open: fail over, or try later
    │   ├── StreamInterrupted      a stream broke after output reached the caller (not re-sent)
    │   └── PermanentProviderError bad request, auth, unknown model: retrying will not help
    │       └── InvalidOutput      the model's output broke the requested format (JSON)
    ├── GuardrailTripped           a guardrail blocked an input or output
    ├── ApprovalDenied             a human (or a policy) rejected the action
    ├── DeliveryError              an approval channel (webhook, e-mail) refused or missed a message
    └── BudgetExceeded             the call would exceed a token or USD budget

Foreign exceptions (SDKs, drivers) are translated where they enter Ai:oS, with
``raise ... from exc``, so nothing above an adapter needs to know them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the decision record lives with the guardrails, which import this module
    from aios.security.decisions import GuardrailDecision

__all__ = [
    "ActionCircuitOpen",
    "ActionError",
    "ActionOutcomeUnknown",
    "ActionSkipped",
    "ActionSuspended",
    "ActionTimeout",
    "AiosError",
    "ApprovalDenied",
    "AuthenticationError",
    "BudgetExceeded",
    "CircuitOpen",
    "ConfigError",
    "ConflictError",
    "DatasetError",
    "DeliveryError",
    "DuplicateExecution",
    "GuardrailTripped",
    "HandlerError",
    "InvalidOutput",
    "Issue",
    "ManifestError",
    "NotFoundError",
    "PermanentProviderError",
    "PermissionDenied",
    "ProviderError",
    "StoreError",
    "StoreUnreachable",
    "StreamInterrupted",
    "TransientProviderError",
    "UsageError",
    "WorkerLost",
]


class AiosError(Exception):
    """Base of every error Ai:oS raises on purpose."""

    #: Process exit code the CLI uses for this kind of error.
    exit_code: int = 1


class UsageError(AiosError):
    """The caller got something wrong: the message says what and how to fix it."""

    exit_code = 2


@dataclass(frozen=True)
class Issue:
    """One problem found in a manifest or another structured input.

    Attributes:
        message: what is wrong and, where possible, how to fix it.
        path: where in the document, as dotted keys (``agents.kernel.actions.ps.timeout``).
        file: the file the problem is in, if it came from a file.
        line: the 1-based line in ``file``, when it is known.
    """

    message: str
    path: str = ""
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file or "<manifest>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        field = f" [{self.path}]" if self.path else ""
        return f"{where}{field}: {self.message}"


class ManifestError(UsageError):
    """A manifest is malformed or inconsistent; ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[Issue]):
        self.issues = tuple(issues)
        count = len(self.issues)
        head = f"manifest has {count} problem{'s' if count != 1 else ''}:"
        super().__init__("\n".join([head, *(f"  {issue}" for issue in self.issues)]))


class DatasetError(UsageError):
    """An evaluation dataset or suite file is malformed; ``issues`` names each file:line:field."""

    def __init__(self, issues: Sequence[Issue]):
        self.issues = tuple(issues)
        count = len(self.issues)
        shown = self.issues[:20]  # a broken 10,000-row file must not flood the terminal
        more = [f"  ... and {count - len(shown)} more"] if count > len(shown) else []
        head = f"evaluation file has {count} problem{'s' if count != 1 else ''}:"
        super().__init__("\n".join([head, *(f"  {issue}" for issue in shown), *more]))


class ConfigError(UsageError):
    """A setting, CLI argument or environment variable is wrong."""


class NotFoundError(UsageError):
    """Something the caller named does not exist."""


class ConflictError(UsageError):
    """The request clashes with the current state of the store."""


class AuthenticationError(UsageError):
    """No valid credentials: a missing, unknown, expired or revoked token or a wrong password."""


class PermissionDenied(UsageError):
    """The caller is authenticated but may not do this (role, group, separation of duties)."""


class StoreError(AiosError):
    """The database cannot be reached, or refused a read or a write."""


class StoreUnreachable(StoreError):
    """The database at the configured URL cannot be reached or opened."""

    exit_code = 2


class ActionError(AiosError):
    """An action could not complete."""

    def __init__(self, message: str, *, action: str | None = None):
        self.action = action
        super().__init__(message)


class HandlerError(ActionError):
    """The handler raised; the original exception is chained as ``__cause__``."""


class ActionTimeout(ActionError):
    """The handler ran longer than its timeout."""


class ActionOutcomeUnknown(ActionError):
    """The handler ran past its deadline and could not be stopped (a sync handler in a thread).

    It may still finish, or may already have changed the host: its step is recorded as
    `unknown`, a mutating action's idempotency claim stays `unknown` (never run again
    automatically), and its late completion is recorded when it happens.

    Attributes:
        late: a `concurrent.futures.Future` that completes when the handler finally returns.
    """

    def __init__(self, message: str, *, action: str | None = None, late: Any = None):
        self.late = late
        super().__init__(message, action=action)


class ActionSkipped(ActionError):
    """The pipeline decided not to run the action (forensic mode, confirmation missing)."""

    def __init__(self, message: str, *, action: str | None = None, reason: str = "skipped"):
        self.reason = reason
        super().__init__(message, action=action)


class ActionSuspended(ActionError):
    """The step cannot go on now (it waits for a human decision); its run is suspended.

    The engine records the step as `waiting` and the run as `waiting`; `Runtime.resume`
    (`aios runs resume`) executes the step again later, when the pipeline lets it through.
    """

    def __init__(self, message: str, *, action: str | None = None,
                 reference: str | None = None):
        self.reference = reference
        super().__init__(message, action=action)


class DuplicateExecution(ActionError):
    """A mutating action was asked to run again under an idempotency key that already ran."""


class WorkerLost(ActionError):
    """The worker process executing the action died (killed, out of memory, node lost).

    A read-only action is retried on another worker first; this is raised when the retries
    are spent. A mutating action is never retried: it may have changed the host before the
    worker died, so its outcome is unknown and its idempotency claim refuses a second run.
    """


class ActionCircuitOpen(ActionError):
    """The action failed too often lately; its circuit breaker rejects calls for a while.

    Attributes:
        breaker: the breaker's name (`action:agent.key`), as `aios breakers` lists it.
        retry_in: seconds until the breaker lets a trial call through.
    """

    def __init__(self, message: str, *, action: str | None = None, breaker: str = "",
                 retry_in: float = 0.0):
        self.breaker = breaker
        self.retry_in = retry_in
        super().__init__(message, action=action)


class ProviderError(AiosError):
    """An LLM provider failed.

    Attributes:
        provider: the provider's registered name.
        model: the model asked for, if known.
        status: the HTTP status, if the failure came with one.
        retry_after: seconds the provider asked us to wait, if it said.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        self.provider = provider
        self.model = model
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class TransientProviderError(ProviderError):
    """Rate limit, timeout, connection failure or server error: a retry may succeed."""


class CircuitOpen(TransientProviderError):
    """The model failed too often lately; its circuit breaker rejects calls for a while.

    Transient (a fallback model may answer, or this one after `retry_in` seconds), but a
    retry loop does not retry it: the point of an open breaker is to fail fast.

    Attributes:
        breaker: the breaker's name (`model:provider/model`), as `aios breakers` lists it.
        retry_in: seconds until the breaker lets a trial call through.
    """

    def __init__(self, message: str, *, breaker: str = "", retry_in: float = 0.0,
                 provider: str | None = None, model: str | None = None):
        self.breaker = breaker
        self.retry_in = retry_in
        super().__init__(message, provider=provider, model=model)


class StreamInterrupted(ProviderError):
    """A streamed completion failed after part of it reached the caller.

    The request is not re-sent (the caller already holds the first part), and the output is
    never silently truncated: this error says how much was delivered. The cause is chained.

    Attributes:
        delivered_chunks: chunks the caller received before the failure.
        delivered_chars: characters of text the caller received before the failure.
    """

    def __init__(self, message: str, *, delivered_chunks: int = 0, delivered_chars: int = 0,
                 provider: str | None = None, model: str | None = None):
        self.delivered_chunks = delivered_chunks
        self.delivered_chars = delivered_chars
        super().__init__(message, provider=provider, model=model)


class PermanentProviderError(ProviderError):
    """Bad request, authentication, unknown model: a retry will fail the same way."""


class InvalidOutput(PermanentProviderError):
    """The model answered, but not in the format the request required (invalid JSON ...)."""


class GuardrailTripped(AiosError):
    """A guardrail blocked an input or an output.

    Attributes:
        decision: the check's typed decision (`decision.check`, `.verdict`, `.stage`,
            `.findings`); None only when raised by code outside the guardrails.
    """

    def __init__(self, message: str, *, decision: GuardrailDecision | None = None):
        super().__init__(message)
        self.decision = decision


class ApprovalDenied(AiosError):
    """A human or a policy rejected the action."""


class DeliveryError(AiosError):
    """An approval channel could not deliver a message (endpoint down, slow or refusing)."""


class BudgetExceeded(AiosError):
    """The call would take a run, agent or tenant past its token or USD budget."""
