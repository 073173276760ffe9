"""The data files of a table lakemend creates are written in row groups of ``ROW_GROUP_ROWS``
(``iceberg.catalog``): a big day is read by every core, not one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq

from lakemend.iceberg.catalog import ROW_GROUP_ROWS
from lakemend.iceberg.publish import conform, publish_day
from lakemend.lake import Lake

DAY = dt.date(2025, 1, 1)


def test_a_day_of_many_rows_is_written_in_row_groups_of_the_set_size(example: Path) -> None:
    lake = Lake.open(example)
    schema = pa.schema([pa.field("day", pa.date32()), pa.field("id", pa.int64())])
    table = lake.ensure_table("bronze.row_groups_t", schema)
    assert table.properties["write.parquet.row-group-limit"] == str(ROW_GROUP_ROWS)
    count = 2 * ROW_GROUP_ROWS + 5
    rows = pa.table({"day": pa.array([DAY] * count, pa.date32()), "id": pa.array(range(count), pa.int64())})
    published = publish_day(table, conform(table, rows, DAY), DAY, "row-groups-run")
    [path] = [unquote(urlparse(f).path) for f in published.files]
    metadata = pq.read_metadata(path)
    assert metadata.num_rows == count
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [ROW_GROUP_ROWS, ROW_GROUP_ROWS, 5]
