"""Fallback chains: an ordered list of alternatives, tried in turn on named failures.

One mechanism for both levels: the model gateway's wrapper falls back from one model to
another, the action layer from one action or handler to another; each hands `Fallback` a list
of `Alternative`s (async callables) and a `Classifier` that names the failures that move on.
An alternative that cannot serve the call (a model with too small a context window, without
tool support ...) carries a `skip` reason and is passed over, never called.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from aios.errors import ConfigError
from aios.reliability.classify import Classifier, describe, restate
from aios.reliability.events import Emitter, FallbackSkipped, FallbackUsed

__all__ = ["Alternative", "Fallback"]

T = TypeVar("T")


@dataclass(frozen=True)
class Alternative(Generic[T]):
    """One link of a chain.

    Attributes:
        name: how events and messages call it (`model gpt-4o-mini (openai)`, `action x.y`).
        call: runs it.
        skip: why it cannot serve this call, or None when it can.
    """

    name: str
    call: Callable[[], Awaitable[T]]
    skip: str | None = None


class Fallback(Generic[T]):
    """Tries alternatives in order until one succeeds or a failure is not a fallback trigger.

    Args:
        target: what the chain serves (`action:agent.key`, `model:openai/gpt-4o`).
        classifier: `falls_back(exc)` says which failures move on to the next alternative.
        emit: receives `FallbackUsed` and `FallbackSkipped` events.
    """

    def __init__(self, target: str, classifier: Classifier, emit: Emitter | None = None):
        self.target = target
        self.classifier = classifier
        self.emit = emit or Emitter()

    async def run(self, alternatives: Sequence[Alternative[T]]) -> T:
        """The first alternative's result that succeeds.

        Raises:
            Exception: a failure that is not a fallback trigger, as it is; when every
                alternative failed or was skipped, the last failure restated (same type) with
                what happened to each alternative.
            ConfigError: every alternative was skipped.
        """
        tried: list[str] = []
        last: Exception | None = None
        pending_name: str | None = None
        for alt in alternatives:
            if alt.skip is not None:
                self.emit(FallbackSkipped(self.target, alt.name, alt.skip))
                tried.append(f"{alt.name}: skipped ({alt.skip})")
                continue
            if last is not None and pending_name is not None:
                self.emit(FallbackUsed(self.target, pending_name, alt.name, describe(last)))
            try:
                return await alt.call()
            except Exception as exc:
                if not self.classifier.falls_back(exc):
                    raise
                last, pending_name = exc, alt.name
                tried.append(f"{alt.name}: {describe(exc)}")
        if last is None:
            raise ConfigError(f"{self.target}: no alternative can serve this call: "
                              + "; ".join(tried))
        if len(tried) == 1:
            raise last
        raise restate(last, f"{self.target}: every alternative failed: " + "; ".join(tried))
