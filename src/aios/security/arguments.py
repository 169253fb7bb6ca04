"""Masking of argument values (and the texts built from them) before they are stored or sent.

An action's arguments reach many places besides its handler: the run record (`aios exec`'s
arguments, the run's environment), step errors that repeat them, approval requests, audit
records, channel messages, spans. Every string passes the guardrails' secret and PII detectors
(`ghp_...` -> `<SECRET>`, `ann@example.com` -> `<EMAIL>`), and a value under a key that names
a credential (`password`, `token`, `secret`, `api_key`, ...) is hidden whole.

`ArgumentMasker` builds the detectors on first use (their first import takes a while: call
`load` off the event loop, or use the `a...` methods, which do) and is safe to share between
threads.
"""

from __future__ import annotations

import asyncio
import functools
import re
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["ArgumentMasker", "Masking", "mask_value", "masking"]

# Whole words inside snake/camel/kebab names: `password`, `db_pass`, `authToken`, `x-api-key`;
# not `bypass_cache`, `max_tokens`, `author`.
_CREDENTIAL_KEY = re.compile(
    r"pass(?:word|wd|phrase)|(?<![a-z])(?:pass|pwd|token|auth|authorization)(?![a-z])|secret|"
    r"api[_-]?key|private[_-]?key|access[_-]?key|credential", re.IGNORECASE)
_PII = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE"]

#: Texts shorter than this hold nothing the detectors report: secret findings are four
#: characters or more, and the personal data masked here (e-mail addresses, phone, card, SSN
#: and IBAN numbers) are longer still.
_SHORTEST = 4

#: A `str -> str` masker.
Masking = Callable[[str], str]


def masking() -> Masking:
    """A `str -> str` masker from the guardrails' secret and PII detectors (slow first import:
    call it off the event loop)."""
    from aios.security.detectors import PiiDetector, SecretsDetector
    from aios.security.masking import Masker

    secrets, pii = SecretsDetector(), PiiDetector(types=_PII, gazetteer=False)

    # The same strings come back all the time (roles, tool names, an agent's repeated tool
    # results, a run's environment): the detectors are deterministic, so each distinct text
    # is masked once (bounded; thread-safe).
    @functools.lru_cache(maxsize=4096)
    def mask(text: str) -> str:
        if len(text) < _SHORTEST:
            return text
        return Masker().mask(text, [*secrets.detect(text), *pii.detect(text)])

    return mask


@functools.lru_cache(maxsize=2048)
def _credential_key(key: str) -> bool:
    # The same few keys come back in every entry and argument set: searched once each.
    return _CREDENTIAL_KEY.search(key) is not None


def mask_value(value: Any, mask: Masking, key: str = "") -> Any:
    """`value` with every string masked; everything under a credential-named key hidden
    (numbers and booleans excepted: `token_limit: 100` is not a credential)."""
    if isinstance(value, str):
        if key and value and _credential_key(key):
            return "<SECRET>"
        return mask(value)
    if (key and _credential_key(key) and value not in (None, [], {})
            and not isinstance(value, bool | int | float)):
        return "<SECRET>"
    if isinstance(value, dict):
        return {k: mask_value(v, mask, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_value(v, mask, key) for v in value)
    return value


class ArgumentMasker:
    """Masks argument values and texts with detectors built once, on first use.

    Args:
        factory: builds the `str -> str` masker (default: `masking`, the guardrails' secret
            and PII detectors).
    """

    def __init__(self, factory: Callable[[], Masking] = masking):
        self._factory = factory
        self._mask: Masking | None = None
        self._lock = threading.Lock()

    def load(self) -> Masking:
        """The text masker, built on the first call (slow: keep it off the event loop)."""
        if self._mask is None:
            with self._lock:
                if self._mask is None:
                    self._mask = self._factory()
        return self._mask

    def value(self, value: Any) -> Any:
        """`value` (JSON-like) with secrets and personal data masked."""
        return mask_value(value, self.load())

    def text(self, text: str) -> str:
        """`text` with secrets and personal data masked."""
        return self.load()(text) if text else text

    async def avalue(self, value: Any) -> Any:
        """`value` masked, on a worker thread (the detectors take milliseconds per string)."""
        if value in (None, "", [], {}):
            return value
        return await asyncio.to_thread(self.value, value)

    async def atext(self, text: str | None) -> str | None:
        """`text` masked, on a worker thread; None stays None."""
        if not text:
            return text
        return await asyncio.to_thread(self.text, text)


#: A run of characters long enough to be a key or token: only texts with one are scanned for
#: secrets by `trace_redactor` (most span texts are names, ids and short messages).
_CANDIDATE = re.compile(r"[A-Za-z0-9_+/=-]{16,}")


def trace_redactor(masker: ArgumentMasker, base: Masking) -> Masking:
    """A span redactor: `base` (e-mail addresses, long digit runs), then the secret and PII
    detectors on texts that hold a token-like run (an error that repeats an argument, say)."""

    def redact(text: str) -> str:
        text = base(text)
        if _CANDIDATE.search(text) is None:
            return text
        return masker.text(text)

    return redact
