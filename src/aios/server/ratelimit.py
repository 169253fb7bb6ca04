"""Per-key request limits of the OpenAI-compatible endpoint, counted by the `limits` library.

Requests: a moving window per key (`limits`' moving-window strategy: no burst at a window's
edge). Tokens: a fixed one-minute window per key, charged after each call with what it used
(a moving window cannot take a charge larger than what is left, and a call's tokens are only
known once it is over); a request is refused while its key's window is spent. The counts
live in the process's memory by default, or in Redis when the settings name one
(`AIOS_REDIS_URL`), so several server processes share each key's windows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from aios.errors import ConfigError

__all__ = ["KeyRateLimiter", "LimitVerdict"]


@dataclass(frozen=True)
class LimitVerdict:
    """Whether one request may pass, and when to come back when it may not.

    Attributes:
        allowed: True when the request is within the limit.
        limit: requests per minute of the key.
        retry_after_s: whole seconds until the window has room again (0 when allowed).
    """

    allowed: bool
    limit: int
    retry_after_s: int = 0


class KeyRateLimiter:
    """Counts each key's requests in a one-minute moving window.

    Args:
        redis_url: `redis://host:port/db` to share the counts through Redis (None: memory).
        prefix: prefix of the keys in Redis (several deployments can share one Redis).
    """

    def __init__(self, redis_url: str | None = None, *, prefix: str = "aios"):
        try:
            from limits.aio.storage import MemoryStorage, RedisStorage
            from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
        except ImportError as exc:  # pragma: no cover - the server extra installs it
            raise ConfigError("per-key request limits need the `limits` package: "
                              "pip install 'aios[openai-endpoint]'") from exc
        storage: Any
        if redis_url:
            if not redis_url.startswith(("redis://", "rediss://", "unix://")):
                raise ConfigError(f"AIOS_REDIS_URL must be a redis:// or rediss:// URL, got "
                                  f"{redis_url!r}")
            storage = RedisStorage(f"async+{redis_url}", implementation="redispy",
                                   key_prefix=f"{prefix}:ratelimit")
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.where = "redis" if redis_url else "memory"
        self._limiter = MovingWindowRateLimiter(storage)
        self._tokens = FixedWindowRateLimiter(storage)

    async def hit(self, key: str, rpm: int) -> LimitVerdict:
        """Count one request of `key` against `rpm` requests per minute."""
        from limits import RateLimitItemPerMinute

        item = RateLimitItemPerMinute(rpm)
        if await self._limiter.hit(item, "openai", key):
            return LimitVerdict(True, rpm)
        stats = await self._limiter.get_window_stats(item, "openai", key)
        return LimitVerdict(False, rpm, max(1, math.ceil(stats.reset_time - time.time())))

    async def tokens_left(self, key: str, tpm: int) -> LimitVerdict:
        """Whether `key` has tokens left in its current one-minute window."""
        from limits import RateLimitItemPerMinute

        item = RateLimitItemPerMinute(tpm)
        stats = await self._tokens.get_window_stats(item, "openai-tokens", key)
        if stats.remaining > 0:
            return LimitVerdict(True, tpm)
        return LimitVerdict(False, tpm, max(1, math.ceil(stats.reset_time - time.time())))

    async def spend_tokens(self, key: str, tpm: int, tokens: int) -> None:
        """Charge `tokens` to `key`'s current window."""
        from limits import RateLimitItemPerMinute

        if tokens > 0:
            await self._tokens.hit(RateLimitItemPerMinute(tpm), "openai-tokens", key,
                                   cost=tokens)
