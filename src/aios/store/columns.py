"""Column constructors: one call per kind of column the store uses.

Every table of the store (on the shared `metadata`) and every Alembic revision declares its
columns with these, so the conventions live in one place: NOT NULL unless `null=True`, a
moment in time is a `UTCDateTime` (SQL `TIMESTAMP WITH TIME ZONE`), a row id is `ROW_ID`.
Keyword arguments (`default=`, `primary_key=`, ...) pass through to `sqlalchemy.Column`.

The SQL each constructor emits must never change: the revisions already applied to stores
in the field were written with it.
"""

from __future__ import annotations

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


def _column(name: str, type_: TypeEngine[Any], null: bool, kw: dict[str, Any]) -> Column[Any]:
    return Column(name, type_, nullable=null, **kw)


def row_id(name: str = "id") -> Column[Any]:
    """The table's auto-increment primary key (`ROW_ID`)."""
    return Column(name, ROW_ID, primary_key=True, autoincrement=True)


def string(name: str, length: int, *, null: bool = False, **kw: Any) -> Column[Any]:
    """A `VARCHAR(length)` column."""
    return _column(name, String(length), null, kw)


def text(name: str, *, null: bool = False, **kw: Any) -> Column[Any]:
    """A `TEXT` column."""
    return _column(name, Text(), null, kw)


def json(name: str, *, null: bool = False, **kw: Any) -> Column[Any]:
    """A JSON document."""
    return _column(name, JSON(), null, kw)


def integer(name: str, *, null: bool = False, **kw: Any) -> Column[Any]:
    """An `INTEGER` column."""
    return _column(name, Integer(), null, kw)


def big_integer(name: str, *, null: bool = False, **kw: Any) -> Column[Any]:
    """A `BIGINT` column (nanosecond clocks)."""
    return _column(name, BigInteger(), null, kw)


def number(name: str, *, null: bool = False, **kw: Any) -> Column[Any]:
    """A floating-point column (`FLOAT`)."""
    return _column(name, Float(), null, kw)


def boolean(name: str, *, null: bool = False, **kw: Any) -> Column[Any]:
    """A `BOOLEAN` column."""
    return _column(name, Boolean(), null, kw)


def binary(name: str, *, null: bool = False, **kw: Any) -> Column[Any]:
    """A `BLOB` / `BYTEA` column."""
    return _column(name, LargeBinary(), null, kw)


def timestamp(name: str, *, null: bool = False, **kw: Any) -> Column[Any]:
    """A moment in time, aware UTC on every database (`UTCDateTime`)."""
    return _column(name, UTCDateTime(), null, kw)
