"""Tables of the evaluation harness: suite runs, per-sample results, human annotations.

Defined on the shared `aios.store.tables.metadata`; the Alembic revision `0007_evaluation`
creates them (the migrations, not `create_all`, build the schema).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from aios.store.tables import ROW_ID, metadata
from aios.store.types import UTCDateTime

__all__ = ["eval_annotations", "eval_results", "eval_runs"]


eval_runs = Table(
    "eval_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("suite", String(200), nullable=False),
    Column("suite_path", Text, nullable=True),
    Column("spec", JSON, nullable=False),  # the suite as loaded: enough to resume the run
    Column("dataset_digest", String(32), nullable=False),
    Column("target", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # running | succeeded | interrupted
    Column("samples", Integer, nullable=False),
    Column("repeats", Integer, nullable=False),
    Column("summary", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("pid", Integer, nullable=True),
    Column("host", String(200), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    Index("ix_eval_runs_created_at", "created_at"),
)

# One row per (sample, repeat): a resumed run skips the pairs that already have a row.
eval_results = Table(
    "eval_results",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False),
    Column("sample_id", String(200), nullable=False),
    Column("repeat", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # passed | failed | error
    Column("input", JSON, nullable=True),
    Column("expected", JSON, nullable=True),
    Column("output", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("scores", JSON, nullable=False),
    Column("trajectory", JSON, nullable=True),
    Column("tags", JSON, nullable=False),
    Column("latency_s", Float, nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("run_id", "sample_id", "repeat", name="uq_eval_results_item"),
)

# The latest label of one annotator on one item; relabelling replaces the row.
eval_annotations = Table(
    "eval_annotations",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False),
    Column("sample_id", String(200), nullable=False),
    Column("repeat", Integer, nullable=False),
    Column("annotator", String(100), nullable=False),
    Column("label", String(50), nullable=False),
    Column("note", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("run_id", "sample_id", "repeat", "annotator",
                     name="uq_eval_annotations_item"),
)
