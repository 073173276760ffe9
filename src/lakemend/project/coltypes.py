"""Column types of lakemend.yaml and contracts, as DuckDB, Arrow and Iceberg types."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from lakemend.project.config import DECIMAL_TYPE, ColumnSpec

if TYPE_CHECKING:  # pyarrow is imported where Arrow types are made: verify's check of a table's
    import pyarrow as pa  # metadata against its contract runs without it (iceberg_type_holds)

_DUCKDB = {
    "string": "VARCHAR",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
_INTEGERS = frozenset({"int", "long"})
_ICEBERG: dict[str, frozenset[str]] = {
    "string": frozenset({"string"}),
    "integer": _INTEGERS,
    "bigint": _INTEGERS,
    "double": frozenset({"double"}),
    "boolean": frozenset({"boolean"}),
    "date": frozenset({"date"}),
    "timestamp": frozenset({"timestamp", "timestamptz", "timestamp_ns", "timestamptz_ns"}),
}
"""Contract type → the Iceberg primitive types whose Arrow type (as pyiceberg converts it)
:func:`arrow_matches` accepts for it: any integer for an integer, any timestamp for a timestamp."""
_ICEBERG_DECIMAL = re.compile(r"decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)")


@cache
def _arrow() -> dict[str, pa.DataType]:
    import pyarrow as pa

    return {
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
    import pyarrow as pa

    if isinstance(spec, str):
        match = DECIMAL_TYPE.match(spec)
        return pa.decimal128(int(match.group(1)), int(match.group(2))) if match else _arrow()[spec]
    if spec.fields is not None:
        return pa.struct([pa.field(name, arrow_type(child)) for name, child in spec.fields.items()])
    assert spec.type is not None
    return arrow_type(spec.type)


def arrow_matches(declared: str, actual: pa.DataType) -> bool:
    """Whether a column produced by a model has the type a contract declares."""
    import pyarrow as pa

    expected = arrow_type(declared)
    if pa.types.is_large_string(actual) or pa.types.is_string_view(actual):
        actual = pa.string()
    if pa.types.is_integer(expected) and pa.types.is_integer(actual):
        return True
    if pa.types.is_timestamp(expected) and pa.types.is_timestamp(actual):
        return True
    return expected.equals(actual)


def iceberg_type_holds(declared: str, iceberg: object) -> bool:
    """Whether a table column whose Iceberg type is ``iceberg`` (as table metadata JSON writes it:
    ``"long"``, ``"decimal(18, 2)"``, an object for a nested type) has the type a contract declares,
    as :func:`arrow_matches` answers for the Arrow type pyiceberg gives it. Only a sure yes is
    True: nested types are False, and so is every mismatch — the caller then asks pyiceberg, whose
    Arrow type also names the mismatch."""
    if not isinstance(iceberg, str):
        return False
    decimal = DECIMAL_TYPE.match(declared)
    if decimal is not None:
        found = _ICEBERG_DECIMAL.fullmatch(iceberg)
        return found is not None and tuple(map(int, found.groups())) == tuple(map(int, decimal.groups()))
    return iceberg in _ICEBERG.get(declared, frozenset())
