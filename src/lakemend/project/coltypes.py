"""Column types of lakemend.yaml and contracts, as DuckDB and Arrow types."""

from __future__ import annotations

import pyarrow as pa

from lakemend.project.config import DECIMAL_TYPE, ColumnSpec

_DUCKDB = {
    "string": "VARCHAR",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
_ARROW = {
    "string": pa.string(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}


def duckdb_type(spec: ColumnSpec | str) -> str:
    if isinstance(spec, str):
        match = DECIMAL_TYPE.match(spec)
        return f"DECIMAL({match.group(1)},{match.group(2)})" if match else _DUCKDB[spec]
    if spec.fields is not None:
        inner = ", ".join(f'"{name}" {duckdb_type(child)}' for name, child in spec.fields.items())
        return f"STRUCT({inner})"
    assert spec.type is not None
    return duckdb_type(spec.type)


def arrow_type(spec: ColumnSpec | str) -> pa.DataType:
    if isinstance(spec, str):
        match = DECIMAL_TYPE.match(spec)
        return pa.decimal128(int(match.group(1)), int(match.group(2))) if match else _ARROW[spec]
    if spec.fields is not None:
        return pa.struct([pa.field(name, arrow_type(child)) for name, child in spec.fields.items()])
    assert spec.type is not None
    return arrow_type(spec.type)


def arrow_matches(declared: str, actual: pa.DataType) -> bool:
    """Whether a column produced by a model has the type a contract declares."""
    expected = arrow_type(declared)
    if pa.types.is_large_string(actual) or pa.types.is_string_view(actual):
        actual = pa.string()
    if pa.types.is_integer(expected) and pa.types.is_integer(actual):
        return True
    if pa.types.is_timestamp(expected) and pa.types.is_timestamp(actual):
        return True
    return expected.equals(actual)
