"""`UTCDateTime`: the one column type for a moment in time.

The SQL type stays `DateTime(timezone=True)` (TIMESTAMP WITH TIME ZONE on PostgreSQL), so
changing a column to it needs no migration. SQLite keeps no zone: it hands back naive
datetimes, which every reader had to mark as UTC again. This type does it once, on the way
out, and on the way in turns an aware datetime of any zone into UTC (SQLite would otherwise
store its wall-clock time and drop the offset). A naive datetime going in is taken as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["UTCDateTime"]


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (see the module docstring)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
