"""``publish.conform``: a day's rows in the table's columns and types, without copying what is
already right — strings stay in the engine's 32-bit-offset arrays (pyiceberg reads them as
``large_string``; the Parquet written is the same), narrower numbers are widened."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakemend.iceberg.publish import conform, write_day_files
from lakemend.lake import Lake
from lakemend.project.storage import local_path

DAY = dt.date(2025, 10, 26)
SCHEMA = pa.schema([pa.field("id", pa.string()), pa.field("n", pa.int64()), pa.field("blob", pa.binary()),
                    pa.field("day", pa.date32())])


def _rows() -> pa.Table:
    return pa.table({"n": pa.array([1, None, 3], pa.int32()), "id": ["a", "bé", None],
                     "blob": pa.array([b"\x00", None, b"xy"], pa.binary()), "day": [DAY] * 3})


def test_strings_are_not_copied_and_numbers_are_widened(example: Path) -> None:
    table = Lake.open(example).ensure_table("bronze.conform_probe", SCHEMA)
    assert table.schema().as_arrow().field("id").type == pa.large_string()  # what would be cast to
    rows = _rows()
    out = conform(table, rows, DAY)
    assert out.column_names == ["id", "n", "blob", "day"]  # the table's order
    assert out.schema.field("n").type == pa.int64()
    assert out.schema.field("id").type == pa.string() and out.schema.field("blob").type == pa.binary()
    for name in ("id", "blob"):
        ours = [b.address for c in out.column(name).chunks for b in c.buffers() if b is not None]
        theirs = [b.address for c in rows.column(name).chunks for b in c.buffers() if b is not None]
        assert ours == theirs, name
    ids = {f.name: f.metadata for f in out.schema}
    assert ids["id"] == table.schema().as_arrow().field("id").metadata  # field ids kept


def test_the_written_file_holds_the_rows(example: Path) -> None:
    table = Lake.open(example).ensure_table("bronze.conform_probe", SCHEMA)
    files = write_day_files(table, conform(table, _rows(), DAY), DAY)
    assert len(files) == 1 and files[0].record_count == 3
    written = pq.read_table(local_path(files[0].file_path))
    assert written.column("id").to_pylist() == ["a", "bé", None]
    assert written.column("n").to_pylist() == [1, None, 3]
    assert written.column("blob").to_pylist() == [b"\x00", None, b"xy"]
    assert [f.metadata[b"PARQUET:field_id"] for f in written.schema] == [b"1", b"2", b"3", b"4"]
