"""DuckDB helpers: a configured connection, SQL quoting, and Arrow results Iceberg accepts."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa



class Connection:
    """A DuckDB connection whose ``execute`` always drains its result.

    DuckDB 2.0 refuses new work on a connection while a result is open (even a DDL's), so
    every statement here is fetched completely and returns its rows.
    """

    def __init__(self) -> None:
        self.raw = duckdb.connect(":memory:")
        self.execute("SET TimeZone = 'UTC'")
        self.execute("SET preserve_insertion_order = true")

    def execute(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.raw.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        rows = self.execute(sql, params)
        return rows[0][0] if rows else None

    def arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        return normalize(self.raw.sql(sql, params=params).to_arrow_table())

    def register(self, name: str, data: pa.Table) -> None:
        self.raw.register(name, data)

    def unregister(self, name: str) -> None:
        self.raw.unregister(name)

    def close(self) -> None:
        self.raw.close()


def connect() -> Connection:
    """An in-memory connection working in UTC (timestamps in the lake are UTC)."""
    return Connection()


def q(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """Quote a string literal for DuckDB."""
    return "'" + value.replace("'", "''") + "'"


def normalize(table: pa.Table) -> pa.Table:
    """Cast the Arrow types DuckDB may return into the ones pyiceberg writes without complaint."""
    fields = [pa.field(f.name, _normal_type(f.type), nullable=True) for f in table.schema]
    target = pa.schema(fields)
    if target.equals(table.schema):
        return table
    return table.cast(target)


def _normal_type(dtype: pa.DataType) -> pa.DataType:
    if pa.types.is_string_view(dtype) or pa.types.is_large_string(dtype):
        return pa.string()
    if pa.types.is_large_binary(dtype) or pa.types.is_binary_view(dtype):
        return pa.binary()
    if pa.types.is_timestamp(dtype):
        return pa.timestamp("us", tz="UTC" if dtype.tz else None)
    if pa.types.is_struct(dtype):
        return pa.struct([pa.field(f.name, _normal_type(f.type), nullable=True) for f in dtype])
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return pa.list_(_normal_type(dtype.value_type))
    if dtype == pa.null():
        return pa.string()
    return dtype


