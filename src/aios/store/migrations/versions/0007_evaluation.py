"""Evaluation harness: eval_runs, eval_results, eval_annotations.

Revision ID: 0007_evaluation
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

from aios.store.columns import integer, json, number, row_id, string, text, timestamp

revision = "0007_evaluation"
down_revision = "0001_core"


def upgrade() -> None:
    op.create_table(
        "eval_runs",
        string("id", 32, primary_key=True),
        string("suite", 200),
        text("suite_path", null=True),
        json("spec"),
        string("dataset_digest", 32),
        string("target", 200),
        string("status", 16),
        integer("samples"),
        integer("repeats"),
        json("summary", null=True),
        text("error", null=True),
        integer("pid", null=True),
        string("host", 200, null=True),
        timestamp("created_at"),
        timestamp("finished_at", null=True),
    )
    op.create_index("ix_eval_runs_created_at", "eval_runs", ["created_at"])
    op.create_table(
        "eval_results",
        row_id(),
        string("run_id", 32),
        string("sample_id", 200),
        integer("repeat"),
        string("status", 16),
        json("input", null=True),
        json("expected", null=True),
        json("output", null=True),
        text("error", null=True),
        json("scores"),
        json("trajectory", null=True),
        json("tags"),
        number("latency_s"),
        integer("input_tokens"),
        integer("output_tokens"),
        number("cost_usd"),
        timestamp("created_at"),
        sa.UniqueConstraint("run_id", "sample_id", "repeat", name="uq_eval_results_item"),
    )
    op.create_table(
        "eval_annotations",
        row_id(),
        string("run_id", 32),
        string("sample_id", 200),
        integer("repeat"),
        string("annotator", 100),
        string("label", 50),
        text("note", null=True),
        timestamp("created_at"),
        sa.UniqueConstraint("run_id", "sample_id", "repeat", "annotator",
                            name="uq_eval_annotations_item"),
    )


def downgrade() -> None:
    for table in ("eval_annotations", "eval_results", "eval_runs"):
        op.drop_table(table)
