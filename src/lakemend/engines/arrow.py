"""Arrow results in the types pyiceberg writes, whatever engine produced them."""

from __future__ import annotations

import pyarrow as pa


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
