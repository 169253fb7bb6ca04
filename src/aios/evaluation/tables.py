"""Tables of the evaluation harness: suite runs, per-sample results, human annotations.

Defined on the shared `aios.store.tables.metadata`; the Alembic revision `0007_evaluation`
creates them (the migrations, not `create_all`, build the schema).
"""

from __future__ import annotations

from sqlalchemy import Index, Table, UniqueConstraint

from aios.store import columns as col
from aios.store.tables import metadata

__all__ = ["eval_annotations", "eval_results", "eval_runs"]


eval_runs = Table(
    "eval_runs",
    metadata,
    col.string("id", 32, primary_key=True),
    col.string("suite", 200),
    col.text("suite_path", null=True),
    col.json("spec"),  # the suite as loaded: enough to resume the run
    col.string("dataset_digest", 32),
    col.string("target", 200),
    col.string("status", 16),  # running | succeeded | interrupted
    col.integer("samples"),
    col.integer("repeats"),
    col.json("summary", null=True),
    col.text("error", null=True),
    col.integer("pid", null=True),
    col.string("host", 200, null=True),
    col.timestamp("created_at"),
    col.timestamp("finished_at", null=True),
    Index("ix_eval_runs_created_at", "created_at"),
)

# One row per (sample, repeat): a resumed run skips the pairs that already have a row.
eval_results = Table(
    "eval_results",
    metadata,
    col.row_id(),
    col.string("run_id", 32),
    col.string("sample_id", 200),
    col.integer("repeat"),
    col.string("status", 16),  # passed | failed | error
    col.json("input", null=True),
    col.json("expected", null=True),
    col.json("output", null=True),
    col.text("error", null=True),
    col.json("scores"),
    col.json("trajectory", null=True),
    col.json("tags"),
    col.number("latency_s"),
    col.integer("input_tokens"),
    col.integer("output_tokens"),
    col.number("cost_usd"),
    col.timestamp("created_at"),
    UniqueConstraint("run_id", "sample_id", "repeat", name="uq_eval_results_item"),
)

# The latest label of one annotator on one item; relabelling replaces the row.
eval_annotations = Table(
    "eval_annotations",
    metadata,
    col.row_id(),
    col.string("run_id", 32),
    col.string("sample_id", 200),
    col.integer("repeat"),
    col.string("annotator", 100),
    col.string("label", 50),
    col.text("note", null=True),
    col.timestamp("created_at"),
    UniqueConstraint("run_id", "sample_id", "repeat", "annotator",
                     name="uq_eval_annotations_item"),
)
