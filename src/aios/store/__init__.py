"""The store: one persistence layer, SQLite by default, PostgreSQL by URL."""

from aios.store.engine import Store, database_error, normalise_url, redact_url
from aios.store.runs import IdempotencyRecord, RunRecord, RunStore, StepRecord, utcnow
from aios.store.writer import BatchWriter

__all__ = [
    "BatchWriter",
    "IdempotencyRecord",
    "RunRecord",
    "RunStore",
    "StepRecord",
    "Store",
    "database_error",
    "normalise_url",
    "redact_url",
    "utcnow",
]
