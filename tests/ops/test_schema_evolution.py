"""A model's columns change: the table's schema is evolved as a plan, never silently reshaped.

Added columns (and Iceberg's safe widenings) are applied and shown; removed or renamed columns
need ``--allow-schema-change``; other type changes are refused even with it. Contracts hold on
the rows actually written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pytest
from support import state_dump
from conftest import START, build

from lakemend.lake import Lake

DAY = START.isoformat()
NEXT = (START + dt.timedelta(days=1)).isoformat()
TABLE = "gold.daily_revenue"
MODEL = Path("models/gold/daily_revenue.sql")
CONTRACT = Path("contracts/daily_revenue.yaml")


def edit(root: Path, relative: Path, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text()
    assert old in text, (relative, old)
    path.write_text(text.replace(old, new))


def rename_orders(root: Path) -> None:
    """The issue's repro: ``orders`` → ``n_orders`` in the model and in its contract."""
    edit(root, MODEL, "AS orders", "AS n_orders")
    edit(root, CONTRACT, "  orders: {nullable: false, min: 1}", "  n_orders: {nullable: false, min: 1}")


def table_state(root: Path) -> tuple[list[str], int, dict[str, str]]:
    """Column names, current snapshot and the files under the table's folder (name → digest)."""
    table = Lake.open(root).table(TABLE)
    folder = root / "lake" / "gold" / "daily_revenue"
    files = {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(folder.rglob("*")) if p.is_file()}
    return [f.name for f in table.schema().fields], table.current_snapshot().snapshot_id, files


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}




def day_rows(root: Path, day: str) -> pa.Table:
    return Lake.open(root).table(TABLE).scan(row_filter=f"day = '{day}'").to_arrow().sort_by("currency")


@pytest.fixture
def two_days(example: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    report = build(example, START, START + dt.timedelta(days=1))
    assert not report.failed, [r.error for r in report.failed]
    monkeypatch.setenv("LAKEMEND_REASON", "schema change test")
    return example


def refresh(cli, root: Path, *extra: str, day: str = DAY):
    return cli("refresh", "gold", "--table", "daily_revenue", "--date", day, *extra, cwd=root)


def test_renamed_column_is_refused_and_the_table_is_unchanged(two_days: Path, cli) -> None:
    before = table_state(two_days)
    rename_orders(two_days)
    result = refresh(cli, two_days)
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err + result.out
    message = " ".join(result.err.split())
    for part in (TABLE, "n_orders", "orders", "--allow-schema-change"):
        assert part in message, (part, message)
    assert "0 partition(s) built" in result.out and "1 failed" in result.out
    assert table_state(two_days) == before  # no column, no snapshot, no file
    lake = Lake.open(two_days)
    failed = lake.state.list_jobs(table=TABLE, status="failed")
    assert len(failed) == 1 and "--allow-schema-change" in failed[0]["error"] and "n_orders" in failed[0]["error"]
    assert lake.state.list_runs(limit=1)[0]["status"] == "failed"


def test_rename_with_allow_schema_change_evolves_the_table(two_days: Path, cli) -> None:
    old = day_rows(two_days, DAY)
    rename_orders(two_days)
    result = refresh(cli, two_days, "--allow-schema-change", "--output", "json")
    assert result.code == 0, result.err
    job = json.loads(result.out)["jobs"][0]
    assert job["status"] == "succeeded"
    assert job["schema_change"]["added"] == [{"column": "n_orders", "type": "long"}]
    assert job["schema_change"]["removed"] == [{"column": "orders", "type": "long"}]
    columns, _, _ = table_state(two_days)
    assert "n_orders" in columns and "orders" not in columns
    new = day_rows(two_days, DAY)
    assert new.column("n_orders").to_pylist() == old.column("orders").to_pylist()
    assert new.column("n_orders").null_count == 0
    # the documented rule: a day not rebuilt yet reads NULL for the new column ...
    assert day_rows(two_days, NEXT).column("n_orders").null_count == day_rows(two_days, NEXT).num_rows
    # ... until it is rebuilt; the schema is evolved now, so no flag is needed any more
    again = refresh(cli, two_days, day=NEXT)
    assert again.code == 0, again.err
    assert day_rows(two_days, NEXT).column("n_orders").null_count == 0


def test_run_with_the_flag_rebuilds_every_day_with_the_new_column(two_days: Path, cli) -> None:
    rename_orders(two_days)
    refused = cli("run", "--start", DAY, "--end", NEXT, cwd=two_days)
    assert refused.code == 1 and "--allow-schema-change" in " ".join(refused.err.split())
    result = cli("run", "--start", DAY, "--end", NEXT, "--allow-schema-change", cwd=two_days)
    assert result.code == 0, result.err
    assert "schema of gold.daily_revenue" in " ".join(result.out.split()).lower()
    rows = Lake.open(two_days).table(TABLE).scan().to_arrow()
    assert "orders" not in rows.column_names and rows.column("n_orders").null_count == 0


def test_added_column_is_added_and_filled_for_the_rebuilt_day(two_days: Path, cli) -> None:
    edit(two_days, MODEL, "FROM silver.orders_clean", ", max(amount) AS largest_order\nFROM silver.orders_clean")
    result = refresh(cli, two_days)  # an addition needs no flag
    assert result.code == 0, result.err
    out = " ".join(result.out.split())
    assert "added largest_order" in out, out
    table = Lake.open(two_days).table(TABLE)
    assert str(table.schema().find_field("largest_order").field_type) == "decimal(12, 2)"
    assert day_rows(two_days, DAY).column("largest_order").null_count == 0
    assert day_rows(two_days, NEXT).column("largest_order").null_count == day_rows(two_days, NEXT).num_rows


def test_type_change_is_refused_even_with_the_flag(two_days: Path, cli) -> None:
    before = table_state(two_days)
    edit(two_days, MODEL, "count(*)                                                              AS orders",
         "CAST(count(*) AS DOUBLE) AS orders")
    for extra in ((), ("--allow-schema-change",)):
        result = refresh(cli, two_days, *extra)
        assert result.code == 1, (extra, result.out)
        assert "Traceback" not in result.err
        message = " ".join(result.err.split())
        assert TABLE in message and "orders" in message and "long → double" in message, message
    assert table_state(two_days) == before
    assert len(Lake.open(two_days).state.list_jobs(table=TABLE, status="failed")) == 2


def test_safe_widening_is_applied_and_narrower_rows_are_cast(example: Path, cli, monkeypatch) -> None:
    edit(example, MODEL, "count(*)                                                              AS orders",
         "CAST(count(*) AS INTEGER) AS orders")
    assert not build(example, START, START).failed
    table = Lake.open(example).table(TABLE)
    assert str(table.schema().find_field("orders").field_type) == "int"
    monkeypatch.setenv("LAKEMEND_REASON", "widen")
    edit(example, MODEL, "CAST(count(*) AS INTEGER) AS orders", "CAST(count(*) AS BIGINT) AS orders")
    result = refresh(cli, example)  # int → long is an Iceberg promotion: no flag needed
    assert result.code == 0, result.err
    assert "widened orders (int → long)" in " ".join(result.out.split())
    table = Lake.open(example).table(TABLE)
    assert str(table.schema().find_field("orders").field_type) == "long"
    # back to INTEGER: it fits the long column; no schema change, no refusal
    edit(example, MODEL, "CAST(count(*) AS BIGINT) AS orders", "CAST(count(*) AS INTEGER) AS orders")
    result = refresh(cli, example)
    assert result.code == 0, result.err
    assert "schema of" not in result.out.lower()
    assert str(Lake.open(example).table(TABLE).schema().find_field("orders").field_type) == "long"


def test_dry_run_shows_the_schema_change_and_writes_nothing(two_days: Path, cli) -> None:
    rename_orders(two_days)
    edit(two_days, MODEL, "FROM silver.orders_clean", ", max(amount) AS largest_order\nFROM silver.orders_clean")
    lake_before, state_before = tree_digest(two_days / "lake"), state_dump(two_days)
    result = refresh(cli, two_days, "--dry-run", "--output", "json")
    assert result.code == 0, result.err
    payload = json.loads(result.out)
    assert payload["written"] is False
    [change] = payload["schema_changes"]
    assert change["table"] == TABLE and change["refused"] is True
    assert {c["column"] for c in change["added"]} == {"n_orders", "largest_order"}
    assert change["removed"] == [{"column": "orders", "type": "long"}]
    text = refresh(cli, two_days, "--dry-run")
    assert text.code == 0, text.err
    out = " ".join(text.out.split())
    assert "Schema change: gold.daily_revenue" in out and "removed orders (long)" in out
    assert "added n_orders (long)" in out and "--allow-schema-change" in out
    allowed = json.loads(refresh(cli, two_days, "--dry-run", "--allow-schema-change", "--output", "json").out)
    assert allowed["schema_changes"][0]["refused"] is False
    assert tree_digest(two_days / "lake") == lake_before and state_dump(two_days) == state_before


def test_the_contract_is_checked_on_the_rows_written() -> None:
    """The last gate before a publish: the contract on the rows as conformed to the table — every
    column it names present with its type, and no NULL where it says ``nullable: false``."""
    from lakemend.build.contracts import written_problems
    from lakemend.project.config import ColumnContract, Contract

    contract = Contract(columns={"n_orders": ColumnContract(type="bigint", nullable=False)})
    good = pa.table({"n_orders": pa.array([3, 4], pa.int64())})
    assert written_problems(contract, good) == []
    nulls = pa.table({"n_orders": pa.array([3, None], pa.int64())})
    assert written_problems(contract, nulls) == ["column n_orders would be written with 1 NULL value(s) (nullable: false)"]
    renamed = pa.table({"orders": pa.array([3, 4], pa.int64())})
    assert any("n_orders" in problem for problem in written_problems(contract, renamed))
    assert written_problems(None, nulls) == []


def test_diff_rules_unit() -> None:
    """The classification, on schemas alone: additions, removals, widenings, fits, changes."""
    from pyiceberg.schema import Schema
    from pyiceberg.types import (
        DecimalType,
        IntegerType,
        LongType,
        NestedField,
        StringType,
        StructType,
    )

    from lakemend.iceberg.catalog import schema_diff

    current = Schema(
        NestedField(1, "a", IntegerType()), NestedField(2, "b", LongType()), NestedField(3, "c", DecimalType(10, 2)),
        NestedField(4, "d", StringType()), NestedField(5, "s", StructType(NestedField(6, "x", StringType()))),
        NestedField(7, "day", StringType()),
    )
    rows = pa.schema([
        ("a", pa.int64()), ("b", pa.int32()), ("c", pa.decimal128(12, 2)), ("e", pa.string()),
        ("s", pa.struct([("x", pa.string()), ("y", pa.int32())])), ("day", pa.string()),
    ])
    change = schema_diff("t.x", current, rows)
    assert [c.name for c in change.added] == ["e"]
    assert [c.name for c in change.removed] == ["d"]
    assert sorted(c.name for c in change.widened) == ["a", "c", "s"]
    assert change.changed == () and change.needs_flag
    narrow = schema_diff("t.x", current, pa.schema([("a", pa.int32()), ("b", pa.int64()), ("c", pa.decimal128(8, 2)),
                                                      ("d", pa.large_string()), ("s", pa.struct([("x", pa.string())])),
                                                      ("day", pa.string())]))
    assert narrow.empty
    scale = schema_diff("t.x", current, pa.schema([("a", pa.int32()), ("b", pa.int64()), ("c", pa.decimal128(12, 3)),
                                                   ("d", pa.string()), ("s", pa.struct([("x", pa.string())])),
                                                   ("day", pa.string())]))
    assert [(c.name, c.old, c.new) for c in scale.changed] == [("c", "decimal(10, 2)", "decimal(12, 3)")]
