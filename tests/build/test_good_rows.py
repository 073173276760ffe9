"""A model day's good rows taken from the checked rows DuckDB holds as Arrow: the same rows and
types as the engine's own query of ``_good``, and not a copy of them."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from lakemend.build.model import good_rows
from lakemend.engines import open_engine

DAY = dt.date(2025, 10, 26)
COLUMNS = ["order_id", "email", "amount", "ordered_at", "note"]
CHECKED = """
SELECT * FROM (VALUES
    ('o1', 'a@example.com', 12.50::DECIMAL(12, 2), TIMESTAMP '2025-10-26 01:02:03.456789', NULL, 0, NULL),
    ('o2', NULL, NULL, NULL, 'x', 0, NULL),
    ('o3', 'c@example.com', 0.01::DECIMAL(12, 2), TIMESTAMP '2025-10-26 23:59:59', 'é', 0, NULL)
) AS v(order_id, email, amount, ordered_at, note, _replaced, _reason)
"""


def _session_with_checked():  # noqa: ANN202 - a DuckDB session
    con = open_engine("duckdb").session()
    checked = con.materialize("_checked", CHECKED)
    con.execute(f"CREATE TEMP VIEW _good AS SELECT {', '.join(COLUMNS)} FROM _checked WHERE _reason IS NULL")
    return con, checked


def test_rows_from_the_held_table_equal_the_engines_query() -> None:
    con, checked = _session_with_checked()
    assert isinstance(checked, pa.Table) and checked.num_rows == 3
    from_engine = good_rows(con, COLUMNS, DAY)
    held = good_rows(con, COLUMNS, DAY, checked)
    assert held.schema.equals(from_engine.schema, check_metadata=True)
    assert held.equals(from_engine)
    assert held.column("day").to_pylist() == [DAY] * 3


def test_rows_from_the_held_table_share_its_buffers() -> None:
    con, checked = _session_with_checked()
    held = good_rows(con, COLUMNS, DAY, checked)
    for name in COLUMNS:
        ours = [b.address for chunk in held.column(name).chunks for b in chunk.buffers() if b is not None]
        theirs = [b.address for chunk in checked.column(name).chunks for b in chunk.buffers() if b is not None]
        assert ours == theirs, name


def test_unregister_frees_the_name() -> None:
    con, _ = _session_with_checked()
    con.execute("DROP VIEW _good")
    con.unregister("_checked")
    con.unregister("_checked")  # a reset after a failed day: nothing bound is fine
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = '_checked'") == [(0,)]
