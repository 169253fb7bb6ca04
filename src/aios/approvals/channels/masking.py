"""Masking of argument values before a message leaves Ai:oS through a channel.

Approvers need to see what will run, but a webhook receiver, a mail server or a chat service
must not receive a password or a card number that happens to be an argument. Every string in
the arguments (proposed, edited, effective) and the text built from them passes the
guardrails' secret and PII detectors; values under a key that names a credential
(`password`, `token`, `secret`, `api_key`, ...) are masked whole. The dashboard, behind its
log-in, still shows the values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["ARG_FIELDS", "Masking", "masking"]

#: The fields of a request's JSON that hold argument values.
ARG_FIELDS = ("args", "approved_args", "current_args", "effective_args")
_CREDENTIAL_KEY = re.compile(r"pass(word|wd|phrase)?|secret|token|api[_-]?key|private[_-]?key|"
                             r"credential|auth", re.IGNORECASE)
_PII = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE"]

Masking = Callable[[str], str]


def masking() -> Masking:
    """A `str -> str` masker from the guardrails' secret and PII detectors (slow first import:
    call it off the event loop)."""
    from aios.security.detectors import PiiDetector, SecretsDetector
    from aios.security.masking import Masker

    secrets, pii = SecretsDetector(), PiiDetector(types=_PII, gazetteer=False)

    def mask(text: str) -> str:
        return Masker().mask(text, [*secrets.detect(text), *pii.detect(text)])

    return mask


def mask_value(value: Any, mask: Masking, key: str = "") -> Any:
    """`value` with every string masked; everything under a credential-named key hidden."""
    if key and _CREDENTIAL_KEY.search(key) and value not in (None, "", [], {}):
        return "<SECRET>"
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: mask_value(v, mask, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v, mask, key) for v in value]
    return value
