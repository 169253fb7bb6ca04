"""Column constructors: one call per kind of column the store uses.

Every table of the store (on the shared `metadata`) and every Alembic revision declares its
columns with these, so the conventions live in one place: NOT NULL unless `null=True`, a
moment in time is a `UTCDateTime` (SQL `TIMESTAMP WITH TIME ZONE`), a row id is `ROW_ID`.
Keyword arguments (`default=`, `primary_key=`, ...) pass through to `sqlalchemy.Column`.

The SQL each constructor emits must never change: the revisions already applied to stores
in the field were written with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.types import TypeEngine

from aios.store.types import UTCDateTime

__all__ = ["ROW_ID", "big_integer", "binary", "boolean", "integer", "json", "number", "row_id",
           "string", "text", "timestamp"]

#: An auto-increment row id: BIGINT on PostgreSQL, INTEGER on SQLite (whose rowid alias
#: must be exactly INTEGER to autoincrement).
ROW_ID = BigInteger().with_variant(Integer, "sqlite")


class _Kind:
    """The constructor of one kind of column: `kind(name, null=False, **kw)`."""

    def __init__(self, type_: Callable[[], TypeEngine[Any]]):
        self.type_ = type_

    def __call__(self, name: str, *, null: bool = False, **kw: Any) -> Column[Any]:
        return Column(name, self.type_(), nullable=null, **kw)


def row_id(name: str = "id") -> Column[Any]:
    """The table's auto-increment primary key (`ROW_ID`)."""
    return Column(name, ROW_ID, primary_key=True, autoincrement=True)


def string(name: str, length: int, *, null: bool = False, **kw: Any) -> Column[Any]:
    """A `VARCHAR(length)` column."""
    return Column(name, String(length), nullable=null, **kw)


text = _Kind(Text)  #: TEXT
json = _Kind(JSON)  #: a JSON document
integer = _Kind(Integer)  #: INTEGER
big_integer = _Kind(BigInteger)  #: BIGINT (nanosecond clocks)
number = _Kind(Float)  #: FLOAT
boolean = _Kind(Boolean)  #: BOOLEAN
binary = _Kind(LargeBinary)  #: BLOB / BYTEA
timestamp = _Kind(UTCDateTime)  #: a moment in time, aware UTC on every database
