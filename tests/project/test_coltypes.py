"""A contract's column types against a table's Iceberg types, read from its metadata JSON
(``iceberg_type_holds``, verify without pyiceberg) give ``arrow_matches``' answer on the Arrow
type pyiceberg makes of them, for every Iceberg type."""

from __future__ import annotations

import json

import pytest
from pyiceberg import types as t
from pyiceberg.schema import Schema

from lakemend.project.coltypes import arrow_matches, iceberg_type_holds

DECLARED = ["string", "integer", "bigint", "double", "boolean", "date", "timestamp", "decimal(18,2)", "decimal(18, 3)"]
ICEBERG = [t.StringType(), t.IntegerType(), t.LongType(), t.FloatType(), t.DoubleType(), t.BooleanType(), t.DateType(),
           t.TimeType(), t.TimestampType(), t.TimestamptzType(), t.TimestampNanoType(), t.TimestamptzNanoType(),
           t.DecimalType(18, 2), t.DecimalType(18, 3), t.DecimalType(10, 2), t.BinaryType(), t.FixedType(16), t.UUIDType(),
           t.StructType(t.NestedField(2, "x", t.LongType(), required=False)),
           t.ListType(2, t.StringType(), element_required=False)]


@pytest.mark.parametrize("iceberg", ICEBERG, ids=str)
@pytest.mark.parametrize("declared", DECLARED)
def test_the_metadata_type_holds_the_contract_exactly_where_pyicebergs_arrow_type_does(declared: str, iceberg: t.IcebergType) -> None:
    schema = Schema(t.NestedField(1, "c", iceberg, required=False))
    as_json = json.loads(schema.model_dump_json())["fields"][0]["type"]
    expected = arrow_matches(declared, schema.as_arrow().field("c").type)
    assert iceberg_type_holds(declared, as_json) == expected
