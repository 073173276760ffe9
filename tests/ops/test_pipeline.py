"""End to end on the example project: counts, accounting, idempotence, incremental rebuilds, PII."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq

from support import landed_order_records
from conftest import END, SMALL_ROWS, START, build
from lakemend.examples.data import generate, parse_fault
from lakemend.lake import Lake
from lakemend.state.store import StateStore


def snapshot_ids(root: Path) -> dict[str, int]:
    lake = Lake.open(root)
    return {name: lake.table(name).current_snapshot().snapshot_id for name in lake.project.tables if lake.table(name)}


def test_query_count_equals_landed_records(built_example: Path, cli) -> None:
    result = cli("query", "SELECT COUNT(*) FROM bronze.orders WHERE day='2025-10-26'", "--output", "json", cwd=built_example)
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert list(rows[0].values()) == [landed_order_records(built_example, "2025-10-26")]


def test_every_silver_partition_accounts_for_every_bronze_row(example: Path, cli) -> None:
    day = dt.date(2025, 10, 28)
    faults = [parse_fault(f"{kind}:{day}") for kind in ("duplicates", "malformed", "bad-types")]
    generate(example / "landing", day, day, rows=SMALL_ROWS, faults=faults)
    build(example, START, START)
    build(example, day, day)
    result = cli("runs", "--output", "json", "--limit", "500", cwd=example)
    assert result.code == 0, result.err
    jobs = json.loads(result.out)
    silver = [j for j in jobs if j["layer"] == "silver"]
    assert {j["day"] for j in silver} == {"2025-10-20", "2025-10-28"}
    lake = Lake.open(example)
    for job in silver:
        source = {"silver.orders_clean": "bronze.orders", "silver.customers_clean": "bronze.hubspot_contacts"}[job["table_name"]]
        table = job["table_name"].split(".")[1]
        bronze_rows = lake.table(source).scan(row_filter=f"day = '{job['day']}'").to_arrow().num_rows
        silver_rows = lake.table(job["table_name"]).scan(row_filter=f"day = '{job['day']}'").to_arrow().num_rows
        assert job["rows_read"] == bronze_rows
        assert job["rows_written"] == silver_rows
        assert bronze_rows == silver_rows + job["rows_quarantined"] + job["rows_deduplicated"], (table, job)
    orders_28 = next(j for j in silver if j["table_name"] == "silver.orders_clean" and j["day"] == "2025-10-28")
    assert orders_28["rows_deduplicated"] > 0


def test_second_run_creates_no_snapshot(example: Path, cli) -> None:
    first = cli("run", "--start", "2025-10-20", "--end", "2025-10-21", cwd=example)
    assert first.code == 0, first.err
    before = snapshot_ids(example)
    second = cli("run", "--start", "2025-10-20", "--end", "2025-10-21", cwd=example)
    assert second.code == 0, second.err
    assert "0 partition(s) built, 12 up to date" in second.out
    assert snapshot_ids(example) == before


def test_late_file_rebuilds_only_that_day_and_its_dependants(example: Path) -> None:
    assert not build(example, START, dt.date(2025, 10, 23)).failed
    late = dt.date(2025, 10, 21)
    generate(example / "landing", late, late, rows=SMALL_ROWS, faults=[parse_fault(f"late:{late}:hubspot")])
    report = build(example, START, dt.date(2025, 10, 23))
    rebuilt = sorted((r.table, r.day.isoformat()) for r in report.results)
    # customers_clean is read `upto` each day by customer_orders: every later day depends on it
    assert rebuilt == [
        ("bronze.hubspot_contacts", "2025-10-21"),
        ("gold.customer_orders", "2025-10-21"),
        ("gold.customer_orders", "2025-10-22"),
        ("gold.customer_orders", "2025-10-23"),
        ("silver.customers_clean", "2025-10-21"),
    ]
    orders_late = dt.date(2025, 10, 22)
    generate(example / "landing", orders_late, orders_late, rows=SMALL_ROWS, faults=[parse_fault(f"late:{orders_late}:orders")])
    report = build(example, START, dt.date(2025, 10, 23))
    assert sorted((r.table, r.day.isoformat()) for r in report.results) == [
        ("bronze.orders", "2025-10-22"),
        ("gold.customer_orders", "2025-10-22"),
        ("gold.daily_revenue", "2025-10-22"),
        ("silver.orders_clean", "2025-10-22"),
    ]


def test_rebuild_replaces_only_its_day(example: Path) -> None:
    assert not build(example, START, dt.date(2025, 10, 22)).failed
    lake = Lake.open(example)
    table = lake.table("bronze.orders")
    before = {t.file.file_path for t in table.scan(row_filter="day != '2025-10-21'").plan_files()}
    generate(example / "landing", dt.date(2025, 10, 21), dt.date(2025, 10, 21), rows=SMALL_ROWS,
             faults=[parse_fault("late:2025-10-21:orders")])
    assert not build(example, START, dt.date(2025, 10, 22)).failed
    table.refresh()
    after = {t.file.file_path for t in table.scan(row_filter="day != '2025-10-21'").plan_files()}
    assert before == after
    assert "pre-" in " ".join(table.metadata.refs)


def test_gold_files_hold_no_email_or_phone_from_landing(built_example: Path) -> None:
    emails, phones = set(), set()
    for path in (built_example / "landing" / "hubspot").rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            props = json.loads(line)["properties"]
            emails.add(props["email"].strip().lower())
            phones.add(props["phone"])
    for path in (built_example / "landing" / "orders").rglob("*.csv"):
        with path.open(newline="") as handle:
            emails.update(r["customer_email"].strip().lower() for r in csv.DictReader(handle))
    emails.discard("")
    phones.discard("")
    assert emails and phones
    files = list((built_example / "lake" / "gold").rglob("*.parquet"))
    assert files
    for path in files:
        for column in pq.read_table(path).to_pylist():
            for value in column.values():
                if isinstance(value, str):
                    assert value.strip().lower() not in emails, (path, value)
                    assert value not in phones, (path, value)
                    assert "@" not in value or value.startswith("***@"), (path, value)


def test_ledger_records_who_and_snapshots(built_example: Path) -> None:
    state = StateStore(Lake.open(built_example).project.state_url)
    jobs = state.list_jobs(limit=1000)
    assert len(jobs) == 6 * ((END - START).days + 1)
    for job in jobs:
        assert job["status"] == "succeeded"
        assert job["user"] and job["host"] and job["reason"] == "test"
        assert job["snapshot_after"] and job["snapshot_after"] != job["snapshot_before"]
