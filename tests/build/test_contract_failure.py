"""A contract failure says why: rows read and the count per broken rule, in the message and the ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from conftest import SMALL_ROWS
from support import landed_order_records

from lakemend.examples.data import generate, parse_fault
from lakemend.lake import Lake

DAY = dt.date(2025, 10, 20)


def test_every_row_breaking_a_rule_is_reported_with_rows_read_and_the_rule(example: Path, cli) -> None:  # noqa: ANN001
    generate(example / "landing", DAY, DAY, rows=SMALL_ROWS, faults=[parse_fault("missing-column:2025-10-20:orders")])
    records = landed_order_records(example, DAY.isoformat())

    result = cli("run", "--date", DAY.isoformat(), "--reason", "contract failure", cwd=example)

    assert result.code == 1
    [line] = [ln for ln in result.out.splitlines() + result.err.splitlines() if "contract failed" in ln]
    assert line.count("silver.orders_clean 2025-10-20") == 1, line  # the table/day prefix once
    [job] = Lake.open(example).state.list_jobs(status="failed", table="silver.orders_clean")
    kept = records - job["rows_deduplicated"]  # the duplicates the generator lands are removed first
    assert job["rows_read"] == records and job["rows_quarantined"] == kept > 0
    for text in (line, job["error"]):
        assert f"rows read {records:,}" in text and f"quarantined {kept:,} (currency: must not be null: {kept:,})" in text
    assert "expected at least 1" in line, line
