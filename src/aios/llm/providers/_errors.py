"""Shared pieces of the adapters' exception translation: status classes and Retry-After."""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from aios.errors import PermanentProviderError, ProviderError, TransientProviderError

__all__ = ["TRANSIENT_STATUS", "missing_sdk", "parse_retry_after", "status_error",
           "transport_errors"]

#: HTTP statuses a retry may fix: timeout, conflict (a concurrent request), rate limit.
#: Every 5xx is transient too.
TRANSIENT_STATUS = frozenset({408, 409, 429})

_STATUS_HINTS = {
    401: "the API key was refused: check the key in the variable api_key_env names",
    403: "the key may not use this model or endpoint",
    404: "unknown model or endpoint: check `model:` and `base_url:` in the manifest",
    429: "rate limited",
}


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def status_error(provider: str, model: str, status: int, detail: str,
                 headers: Mapping[str, str] | None) -> ProviderError:
    """The aios error for an HTTP error status from `provider`."""
    transient = status in TRANSIENT_STATUS or status >= 500
    hint = _STATUS_HINTS.get(status)
    message = f"{provider} model {model!r}: HTTP {status}: {detail}"
    if hint:
        message += f" ({hint})"
    cls: type[ProviderError] = TransientProviderError if transient else PermanentProviderError
    return cls(message, provider=provider, model=model, status=status,
               retry_after=parse_retry_after(headers))


def missing_sdk(provider: str, model: str, package: str, hint: str) -> PermanentProviderError:
    """The error for an adapter whose SDK is not installed."""
    return PermanentProviderError(
        f"the {provider} provider needs the {package!r} package, which is not installed; "
        f"install it with: {hint}", provider=provider, model=model)


@functools.cache
def transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP libraries' transport errors: the SDKs let some escape in the middle of a
    stream (a connection reset after the headers), so adapters translate them too."""
    found: list[type[BaseException]] = []
    for module in ("httpx", "httpx2"):
        try:
            found.append(importlib.import_module(module).TransportError)
        except (ImportError, AttributeError):
            continue
    return tuple(found)
