"""Detector results remembered per text: a conversation is scanned once per new message.

An agent's conversation goes back to the model on every turn, whole: without a memory, the
gateway's guardrails would run the injection detectors over every earlier tool result and
user message again on each turn (the classifier takes milliseconds per text). Detectors
are deterministic, so `ScanCache` keeps their raw findings per (detector mode, text); the
policy (thresholds, allow-lists) is applied to them afterwards, as before, so a cached
result is exactly what a fresh scan would give.

Keys are BLAKE2b digests of the text (a 16 KB tool result costs 16 bytes of memory), the
size is bounded (least recently used out first), and it is thread-safe: the guardrails run
in worker threads.

A turn asks about each text several times (is it known? then its findings, per check), and
the next turn sends the same message objects again: the digest of a text is remembered with
the text object itself (by identity, holding a reference, so an id is never mistaken for a
later object's), for a bounded number of characters, oldest out first. Each text is hashed
once while it stays in the conversation.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from aios.security.detectors.base import Finding

__all__ = ["ScanCache"]

#: Characters of text whose digests are remembered by identity (the texts are kept alive:
#: at most about this many characters, on top of the conversations that hold them anyway).
MEMO_CHARS = 1 << 21


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class ScanCache:
    """A bounded, thread-safe map of (mode, text) -> the detector's findings.

    Args:
        size: entries kept (least recently used dropped first); 0 disables the cache.
    """

    def __init__(self, size: int = 4096):
        self.size = size
        self._entries: OrderedDict[tuple[str, bytes], tuple[Finding, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        # id(text) -> (text, digest): the reference keeps the id from being reused.
        self._digests: dict[int, tuple[str, bytes]] = {}
        self._digest_chars = 0

    def _key(self, mode: str, text: str) -> tuple[str, bytes]:
        known = self._digests.get(id(text))
        if known is not None and known[0] is text:
            return mode, known[1]
        digest = _digest(text)
        if 0 < len(text) <= MEMO_CHARS and self.size > 0:
            with self._lock:
                old = self._digests.pop(id(text), None)
                if old is not None:
                    self._digest_chars -= len(old[0])
                self._digests[id(text)] = (text, digest)
                self._digest_chars += len(text)
                while self._digest_chars > MEMO_CHARS or len(self._digests) > self.size:
                    oldest = next(iter(self._digests))
                    self._digest_chars -= len(self._digests.pop(oldest)[0])
        return mode, digest

    def known(self, mode: str, text: str) -> bool:
        """Whether `text` was scanned in `mode` (and is still remembered)."""
        key = self._key(mode, text)
        with self._lock:
            return key in self._entries

    def get(self, mode: str, text: str, scan: Callable[[str], list[Finding]]) -> list[Finding]:
        """The findings of `scan(text)`, scanned only the first time (per mode)."""
        if self.size <= 0:
            return scan(text)
        key = self._key(mode, text)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return list(found)
        result = tuple(scan(text))  # outside the lock: scans run in parallel threads
        with self._lock:
            self.misses += 1
            self._entries[key] = result
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return list(result)
