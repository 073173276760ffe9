"""`lakemend dq check`: the contract measured on published days, every result stored for trends."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from conftest import START, build
from support import break_first_row, count_calls

from lakemend.lake import Lake
from lakemend.state.dq import dq_history
from lakemend.observe.events import Notice

D = dt.date
ORDERS_CHECKS = {
    "not_null(order_id)", "not_null(customer_email)", "pattern(customer_email)", "not_null(amount)", "min(amount)",
    "max(amount)", "not_null(currency)", "accepted_values(currency)", "not_null(status)", "accepted_values(status)",
    "not_null(ordered_at)", "not_null(updated_at)", "schema", "unique(order_id)", "row_count",
    "freshness(updated_at)", "row_count_vs_recent(1d)",
}


def test_dq_check_passes_on_clean_days_and_fails_after_corruption(example: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not build(example, START, D(2025, 10, 21)).failed
    notices: list[Notice] = []
    monkeypatch.setattr("lakemend.observe.events.emit", lambda lake, event: notices.append(event))

    every = cli("dq", "check", "--date", "2025-10-20", "--output", "json", cwd=example)  # every table
    assert every.code == 0, every.out
    results = json.loads(every.out)
    assert {r["table"] for r in results} == set(Lake.open(example).project.tables)
    assert {r["check"] for r in results if r["table"] == "bronze.orders"} == {
        "not_null(order_id)", "not_null(customer_email)", "not_null(amount)", "not_null(ordered_at)", "not_null(updated_at)"}

    clean = cli("dq", "check", "--table", "silver.orders_clean", "--date", "2025-10-21", cwd=example)
    assert clean.code == 0, clean.out + clean.err
    assert f"All {len(ORDERS_CHECKS)} checks passed." in clean.out and "min(amount)" in clean.out
    stored = [r for r in dq_history(Lake.open(example).state, table="silver.orders_clean") if r.day == D(2025, 10, 21)]
    assert {r.check for r in stored} == ORDERS_CHECKS and all(r.passed for r in stored)
    assert len({r.check_run for r in stored}) == 1 and not notices

    missing = cli("dq", "check", "--table", "gold.daily_revenue", "--start", "2025-10-21", "--end", "2025-10-22",
                  "--output", "json", cwd=example)
    assert missing.code == 1
    assert [(r["check"], r["observed"], r["passed"]) for r in json.loads(missing.out) if r["day"] == "2025-10-22"] == [
        ("published", "not published", False)]
    assert [n.details["days"] for n in notices] == [["2025-10-22"]]
    notices.clear()

    break_first_row(example, "2025-10-21")
    broken = cli("dq", "check", "--table", "orders_clean", "--date", "2025-10-21", "--output", "json", cwd=example)
    assert broken.code == 1
    failed = {r["check"]: r for r in json.loads(broken.out) if not r["passed"]}
    assert set(failed) == {"min(amount)", "accepted_values(currency)"}  # each rule counted, though one row breaks both
    assert (failed["min(amount)"]["observed"], failed["min(amount)"]["threshold"]) == (1, "0 rows < 0")
    assert "-5.00 is below min 0" in failed["min(amount)"]["detail"]

    history = dq_history(Lake.open(example).state, table="silver.orders_clean")
    latest = dq_history(Lake.open(example).state, since=history[-1].run_at)
    assert latest == history[-len(ORDERS_CHECKS):]
    assert {r.check for r in latest if not r.passed} == set(failed)
    [notice] = notices
    assert notice.kind == "dq_failed" and notice.details["table"] == "silver.orders_clean"
    assert notice.details["days"] == ["2025-10-21"] and "min(amount)" in notice.text

    text = cli("dq", "check", "--table", "silver.orders_clean", "--date", "2025-10-21", cwd=example)
    assert text.code == 1 and "FAIL" in text.out
    assert f"Error: 2 of {len(ORDERS_CHECKS)} checks failed" in text.err


def test_days_are_checked_in_one_session_from_one_plan_and_a_lost_file_spoils_only_its_day(
        example: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A year of one table's days took 16 s: a session opened, the table loaded and its manifests
    scanned again for every day (4.3 s since, the same results)."""
    from pyiceberg.table import DataScan

    from lakemend.engines.duckdb import DuckDBEngine

    last = D(2025, 10, 23)
    assert not build(example, START, last).failed
    seen = count_calls(monkeypatch, plans=(DataScan, "plan_files"), sessions=(DuckDBEngine, "session"))
    args = ("dq", "check", "--table", "silver.orders_clean", "--output", "json")
    counts = []
    for first in (last, START):  # one day, then four
        seen.update(plans=0, sessions=0)
        result = cli(*args, "--start", first.isoformat(), "--end", last.isoformat(), cwd=example)
        assert result.code == 0, result.out + result.err
        assert {r["day"] for r in json.loads(result.out)} == {str(first + dt.timedelta(days=n)) for n in range((last - first).days + 1)}
        counts.append(dict(seen))
    assert counts[0] == counts[1] and counts[1]["sessions"] == 1

    lost = D(2025, 10, 21)
    next((example / "lake" / "silver" / "orders_clean" / f"day={lost}").glob("*.parquet")).unlink()
    result = cli(*args, "--start", START.isoformat(), "--end", last.isoformat(), cwd=example)
    assert result.code == 1
    failed = [(r["day"], r["check"], r["passed"]) for r in json.loads(result.out) if not r["passed"]]
    assert [(day, check) for day, check, _ in failed] == [(str(lost), "published")]
    assert len([r for r in json.loads(result.out) if r["day"] == str(last)]) == len(ORDERS_CHECKS)  # read in full after it
