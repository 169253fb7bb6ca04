"""The `webhook` channel: a JSON POST signed with HMAC-SHA256.

Headers of every delivery:

- `X-Aios-Event`: the event (created, escalated, expired, approved, rejected, withdrawn).
- `X-Aios-Delivery`: a unique id of the message (the same for every retry of it).
- `X-Aios-Timestamp`: Unix seconds when the attempt was signed.
- `X-Aios-Signature`: `sha256=` + hex HMAC-SHA256, keyed with the secret from `secret_env`,
  of `TIMESTAMP + "." + BODY` (the raw body bytes). Receivers recompute it, compare in
  constant time and refuse old timestamps (replays). Absent when no `secret_env` is set.

Any 2xx answer is a delivery; anything else, a connection error or a timeout fails the
attempt (the notifier retries it).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping

import httpx

from aios.approvals.canonical import canonical_json
from aios.approvals.channels.base import Notice, Receipt, channel, required_env
from aios.approvals.channels.spec import WebhookChannel
from aios.errors import DeliveryError

__all__ = ["SIGNATURE_HEADER", "Webhook", "sign"]

SIGNATURE_HEADER = "X-Aios-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Aios-Signature` value of `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                   hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


@channel("webhook")
class Webhook:
    """POST each notice to `spec.url`."""

    def __init__(self, spec: WebhookChannel, name: str, env: Mapping[str, str]):
        self.spec = spec
        self.name = name
        self._secret = required_env(env, spec.secret_env, f"approvals.channels ({name}) "
                                                          "secret_env")
        self._ids: dict[tuple[str, str], str] = {}

    async def deliver(self, notice: Notice) -> Receipt:
        """POST the notice; a non-2xx answer raises DeliveryError."""
        body = canonical_json(notice.to_json()).encode("utf-8")
        key = (notice.request_id, notice.event)
        delivery = self._ids.setdefault(key, uuid.uuid4().hex)
        stamp = str(int(time.time()))
        headers = {**self.spec.headers, "Content-Type": "application/json",
                   "X-Aios-Event": notice.event, "X-Aios-Delivery": delivery,
                   "X-Aios-Timestamp": stamp, "User-Agent": "aios-approvals"}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign(self._secret, stamp, body)
        try:
            async with httpx.AsyncClient(timeout=self.spec.timeout) as client:
                answer = await client.post(self.spec.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{self.spec.url}: no answer within {self.spec.timeout:g}s "
                                f"({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.spec.url}: {type(exc).__name__}: {exc}") from exc
        if not answer.is_success:
            raise DeliveryError(f"{self.spec.url} answered HTTP {answer.status_code}: "
                                f"{answer.text[:200]}")
        return Receipt(f"HTTP {answer.status_code}", self.spec.url)
