"""The per-process services the runtime and the gateway share: tracing, circuit breakers,
guardrails. Built once at the edge (`aios.app`), passed down, closed on exit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aios.embeddings import EmbeddingService
from aios.errors import ConfigError
from aios.llm.interfaces import Wrapper
from aios.manifest.schema import Manifest
from aios.observability import Tracing, default_redactor, setup_tracing
from aios.reliability import BreakerRegistry, BreakerStore
from aios.reliability.events import Emitter
from aios.reliability.wrappers import ModelFallback, ModelLookup, attempt_wrappers
from aios.security.arguments import ArgumentMasker, trace_redactor
from aios.security.guardrails import GuardrailDecision, Guardrails
from aios.security.streaming import guardrail_wrapper
from aios.settings import Settings
from aios.store.engine import Store

__all__ = ["Services", "open_services"]

log = logging.getLogger("aios.services")


def _event_attributes(event: Any) -> dict[str, Any]:
    """A frozen event record as flat span-event attributes (scalars only)."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        if isinstance(value, str | int | float | bool):
            out[f"aios.{field.name}"] = value
        elif value is not None:
            out[f"aios.{field.name}"] = str(value)
    return out


def _reliability_event(tracing: Tracing, event: Any) -> None:
    tracing.hook.event(f"aios.reliability.{type(event).__name__}", _event_attributes(event))


def _guardrail_event(tracing: Tracing, decision: GuardrailDecision) -> None:
    tracing.hook.event("aios.guardrail.decision", _event_attributes(decision))


@dataclass
class Services:
    """What one Ai:oS process shares between its runtime and its gateway.

    Attributes:
        tracing: OpenTelemetry provider, store exporter, layer and LLM wrapper.
        breakers: circuit breakers, shared through the store with every other process.
        guardrails: the manifest's guardrail policy with its detectors.
        embeddings: the one embedding model for the cache, the router and intent matching
            (None when its package is missing: the router then routes by features alone and
            the cache answers exact repeats only).
        masker: masks arguments and error texts before they are stored or traced.
    """

    tracing: Tracing
    breakers: BreakerRegistry
    guardrails: Guardrails
    embeddings: EmbeddingService | None
    #: The secret and PII detectors that mask arguments and error texts before they are
    #: stored or traced (loaded once, shared by the run store and the span redactor).
    masker: ArgumentMasker = dataclasses.field(default_factory=ArgumentMasker)

    def reliability_listener(self, event: Any) -> None:
        """Turn a retry / breaker / fallback record into a span event."""
        _reliability_event(self.tracing, event)

    def attempt_wrappers(self, manifest: Manifest) -> list[Wrapper]:
        """The wrappers of one attempt on one model, innermost first (`ModelStacks`): the LLM
        span (right over the cost, so each attempt's span has its cost), then time limits,
        bulkhead, breaker and retry."""
        return [
            self.tracing.llm_wrapper(),
            *attempt_wrappers(manifest.reliability, breakers=self.breakers,
                              listeners=[self.reliability_listener]),
        ]

    def model_wrappers(self, manifest: Manifest, models: ModelLookup) -> list[Wrapper]:
        """The wrappers around a whole model (the `Gateway`'s), innermost first: the fallback
        chain over `models`' stacks, then the guardrails, so a prompt is checked once per
        call, not once per retry or fallback."""
        return [
            ModelFallback(manifest.reliability, models=models,
                          emit=Emitter([self.reliability_listener])),
            guardrail_wrapper(self.guardrails),
        ]


@asynccontextmanager
async def open_services(settings: Settings, manifest: Manifest,
                        store: Store) -> AsyncIterator[Services]:
    """Build the shared services on an opened store; flush and close them on exit."""
    # Span text (errors that repeat arguments, say) passes the secret detectors too; they
    # load here, off the event loop, rather than in the first span that ends.
    # Both take seconds on first import: loaded side by side.
    masker = ArgumentMasker()
    loading = asyncio.ensure_future(asyncio.to_thread(masker.load))
    try:
        embeddings: EmbeddingService | None = await asyncio.to_thread(EmbeddingService.open)
    except ConfigError as exc:
        log.warning("no embedding model (%s): routing by features, exact cache only", exc)
        embeddings = None
    finally:
        await loading
    tracing = setup_tracing(settings, store_url=store.url,
                            redactor=trace_redactor(masker, default_redactor))
    services = Services(
        tracing=tracing,
        breakers=BreakerRegistry(store=BreakerStore(store),
                                 listeners=[functools.partial(_reliability_event, tracing)]),
        guardrails=Guardrails(policy=manifest.guardrails,
                              hooks=[functools.partial(_guardrail_event, tracing)]),
        embeddings=embeddings,
        masker=masker,
    )
    try:
        yield services
    finally:
        await services.breakers.close()
        await asyncio.to_thread(tracing.shutdown)
