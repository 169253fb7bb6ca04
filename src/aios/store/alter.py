"""Alembic operations the revisions share: adding and dropping columns of a table.

Both go through `op.batch_alter_table`, because SQLite alters a table in place only for some
changes: for the others batch mode copies the table. Call them from a revision's `upgrade` or
`downgrade` only (they act on the migration's connection).
"""

from __future__ import annotations

from typing import Any

from alembic import op
from sqlalchemy import Column

__all__ = ["add_columns", "drop_columns"]


def add_columns(table: str, *columns: Column[Any]) -> None:
    """Add `columns` to `table`, in this order, in one batch."""
    with op.batch_alter_table(table) as batch:
        for column in columns:
            batch.add_column(column)


def drop_columns(table: str, *names: str) -> None:
    """Drop the columns `names` of `table`, in this order, in one batch."""
    with op.batch_alter_table(table) as batch:
        for name in names:
            batch.drop_column(name)
