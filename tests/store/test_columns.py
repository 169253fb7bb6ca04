"""`aios.store.columns`: each constructor emits exactly the DDL of the `Column` it stands for
(applied revisions were written with it), NOT NULL unless `null=True`."""

from __future__ import annotations

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

from aios.store import columns as col
from aios.store.types import UTCDateTime


def _ddl(*columns: Column) -> list[str]:
    table = Table("t", MetaData(), *columns)
    return [str(CreateTable(table).compile(dialect=d)) for d in (sqlite.dialect(),
                                                               postgresql.dialect())]


@pytest.mark.parametrize(("made", "plain"), [
    (col.row_id(), Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                          autoincrement=True)),
    (col.string("kind", 16), Column("kind", String(16), nullable=False)),
    (col.string("id", 32, primary_key=True), Column("id", String(32), primary_key=True)),
    (col.text("error", null=True), Column("error", Text, nullable=True)),
    (col.json("options"), Column("options", JSON, nullable=False)),
    (col.integer("pid", null=True), Column("pid", Integer, nullable=True)),
    (col.big_integer("start_ns"), Column("start_ns", BigInteger, nullable=False)),
    (col.number("cost_usd"), Column("cost_usd", Float, nullable=False)),
    (col.boolean("cached"), Column("cached", Boolean, nullable=False)),
    (col.binary("vector", null=True), Column("vector", LargeBinary, nullable=True)),
    (col.timestamp("at"), Column("at", DateTime(timezone=True), nullable=False)),
], ids=lambda c: c.name if isinstance(c, Column) else "")
def test_each_constructor_emits_the_ddl_of_the_plain_column(made: Column, plain: Column) -> None:
    assert _ddl(made) == _ddl(plain)
    assert made.nullable is plain.nullable


def test_a_timestamp_reads_back_aware_and_keywords_pass_through() -> None:
    column = col.string("label", 200, default="", unique=True)
    assert isinstance(col.timestamp("at").type, UTCDateTime)
    assert column.default is not None and column.default.arg == "" and column.unique
