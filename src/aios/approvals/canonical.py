"""Canonical JSON and SHA-256: the one way arguments and audit records are hashed.

Why one function: the hash of the arguments a human approved must equal the hash of the
arguments that run, in another process and on another day; the audit chain must recompute to
the same digest on any machine. Keys sorted, no whitespace, UTF-8.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["args_hash", "canonical_json", "sha256_hex"]


def canonical_json(value: Any) -> str:
    """`value` as canonical JSON text (sorted keys, no spaces; non-JSON values as text)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def sha256_hex(text: str) -> str:
    """The SHA-256 of `text` (UTF-8), as 64 hex digits."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def args_hash(args: Any) -> str:
    """The SHA-256 of the canonical JSON of an action's arguments."""
    return sha256_hex(canonical_json(args))
