"""The runbook's procedures: backfill bronze, rebuild silver, refresh gold (on real Iceberg tables)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import START, build
from support import landed_order_records, state_dump
from lakemend.examples.data import generate, parse_fault
from lakemend.lake import Lake, partition_day

REASON = {"LAKEMEND_REASON": "test backfill"}
THREE_DAYS = (START, dt.date(2025, 10, 22))


def tree_digest(*folders: Path) -> dict[str, str]:
    out = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out




def day_snapshot(root: Path, table: str) -> dict[str, tuple[set[str], int]]:
    """Per day: the data files and the row count of a table."""
    lake = Lake.open(root)
    tbl = lake.table(table)
    out: dict[str, tuple[set[str], int]] = {}
    for task in tbl.scan().plan_files():
        day = str(partition_day(task.file.partition[0]))
        files, rows = out.get(day, (set(), 0))
        out[day] = (files | {task.file.file_path}, rows + task.file.record_count)
    return out


@pytest.fixture
def three_days(example: Path) -> Path:
    report = build(example, *THREE_DAYS)
    assert not report.failed
    return example


def test_backfill_of_one_day_changes_only_that_day(three_days: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "re-sent export")
    before = {t: day_snapshot(three_days, t) for t in ("bronze.orders", "bronze.hubspot_contacts")}
    rows_before = Lake.open(three_days).table("bronze.orders").scan(row_filter="day != '2025-10-21'").to_arrow()
    result = cli("backfill", "bronze", "orders", "2025-10-21", cwd=three_days)
    assert result.code == 0, result.err
    after = {t: day_snapshot(three_days, t) for t in before}
    assert after["bronze.hubspot_contacts"] == before["bronze.hubspot_contacts"]
    for day, state in before["bronze.orders"].items():
        if day != "2025-10-21":
            assert after["bronze.orders"][day] == state
    assert after["bronze.orders"]["2025-10-21"][0].isdisjoint(before["bronze.orders"]["2025-10-21"][0])
    assert after["bronze.orders"]["2025-10-21"][1] == before["bronze.orders"]["2025-10-21"][1]
    rows_after = Lake.open(three_days).table("bronze.orders").scan(row_filter="day != '2025-10-21'").to_arrow()
    assert rows_after.sort_by("_record_hash").equals(rows_before.sort_by("_record_hash"))
    # silver was not asked for: it still shows the old build
    jobs = json.loads(cli("runs", "--output", "json", "--limit", "5", cwd=three_days).out)
    assert {j["table_name"] for j in jobs if j["reason"] == "re-sent export"} == {"bronze.orders"}


def test_dry_run_writes_nothing(three_days: Path, cli) -> None:
    generate(three_days / "landing", dt.date(2025, 10, 21), dt.date(2025, 10, 21), rows=40,
             faults=[parse_fault("late:2025-10-21:orders")])
    lake_dir = three_days / "lake"
    before, state_before = tree_digest(lake_dir), state_dump(three_days)
    result = cli("backfill", "bronze", "all", "--start", "2025-10-20", "--end", "2025-10-21", "--downstream",
                 "--dry-run", "--output", "json", cwd=three_days)
    assert result.code == 0, result.err
    payload = json.loads(result.out)
    assert payload["written"] is False
    by_partition = {(d["table"], d["day"]): d for d in payload["diffs"]}
    assert by_partition[("bronze.orders", "2025-10-21")]["added"] > 0
    assert by_partition[("silver.orders_clean", "2025-10-21")]["added"] > 0
    assert by_partition[("gold.daily_revenue", "2025-10-21")]["changed"] > 0
    assert by_partition[("bronze.orders", "2025-10-20")]["added"] == 0
    # upto: customers of 10-20 feed customer_orders of every later day
    assert ("gold.customer_orders", "2025-10-22") in by_partition
    assert tree_digest(lake_dir) == before  # data files, metadata and the catalog, byte for byte
    assert state_dump(three_days) == state_before  # no ledger line, no partition state, no lease


def test_text_dry_run_shows_plan_and_samples(three_days: Path, cli) -> None:
    generate(three_days / "landing", dt.date(2025, 10, 21), dt.date(2025, 10, 21), rows=40,
             faults=[parse_fault("late:2025-10-21:orders")])
    result = cli("rebuild", "silver", "--table", "orders_clean", "--date", "2025-10-21", "--dry-run", cwd=three_days)
    assert result.code == 0, result.err
    assert "Plan: rebuild silver" in result.out and "Dry run: nothing was written." in result.out
    assert "silver.orders_clean 2025-10-21" in result.out


def test_downstream_cascades_through_upto(three_days: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "late CRM data")
    result = cli("backfill", "bronze", "hubspot", "2025-10-20", "--downstream", "--output", "json", cwd=three_days)
    assert result.code == 0, result.err
    built = sorted((j["table"], str(j["day"])) for j in json.loads(result.out)["jobs"])
    assert built == [
        ("bronze.hubspot_contacts", "2025-10-20"),
        ("gold.customer_orders", "2025-10-20"),
        ("gold.customer_orders", "2025-10-21"),
        ("gold.customer_orders", "2025-10-22"),
        ("silver.customers_clean", "2025-10-20"),
    ]


def test_failed_backfill_resumes_without_redoing_published_days(three_days: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "reload orders")
    broken = three_days / "landing" / "orders" / "2025-10-22" / "orders-0002.csv"
    good_text = broken.read_text()
    broken.write_text(good_text.replace("customer_email,", "", 1))  # header loses a required column
    args = ("backfill", "bronze", "orders", "--start", "2025-10-20", "--end", "2025-10-22", "--max-parallel", "1", "--output", "json")
    first = cli(*args, cwd=three_days)
    assert first.code == 1
    statuses = {str(j["day"]): j["status"] for j in json.loads(first.out)["jobs"]}
    assert statuses == {"2025-10-20": "succeeded", "2025-10-21": "succeeded", "2025-10-22": "failed"}
    broken.write_text(good_text)
    second = cli(*args, cwd=three_days)
    assert second.code == 0, second.err
    assert [str(j["day"]) for j in json.loads(second.out)["jobs"]] == ["2025-10-22"]
    for day in ("2025-10-20", "2025-10-21", "2025-10-22"):  # every day once: nothing duplicated by the rerun
        assert day_snapshot(three_days, "bronze.orders")[day][1] == landed_order_records(three_days, day)


def test_pause_refuses_until_resumed_or_forced(three_days: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "corruption found")
    assert cli("pause", "--table", "silver.orders_clean", cwd=three_days).code == 0
    status = json.loads(cli("status", "--output", "json", cwd=three_days).out)
    assert status["paused"] == {"silver.orders_clean": "corruption found"}
    built_days = {"2025-10-20", "2025-10-21", "2025-10-22"}
    # a pause is a marker beside the table: its days keep their state (issue 12, item 10)
    assert {status["tables"]["silver.orders_clean"][d] for d in built_days} == {"published"}
    assert status["tables_paused"] == {"silver.orders_clean": "corruption found"}
    refused = cli("rebuild", "silver", "--table", "orders_clean", "--date", "2025-10-21", cwd=three_days)
    assert refused.code == 1
    assert "silver.orders_clean is paused" in refused.err and "corruption found" in refused.err
    assert "lakemend resume --table silver.orders_clean" in refused.err
    assert cli("rebuild", "silver", "--table", "orders_clean", "--date", "2025-10-21", "--force", cwd=three_days).code == 0
    assert cli("resume", "--table", "silver.orders_clean", cwd=three_days).code == 0
    assert cli("rebuild", "silver", "--table", "orders_clean", "--date", "2025-10-21", cwd=three_days).code == 0


def test_pause_all_stops_the_daily_run(three_days: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "stop pipeline")
    assert cli("pause", "--all", cwd=three_days).code == 0
    shutil.rmtree(three_days / "landing" / "orders" / "2025-10-22")
    generate(three_days / "landing", dt.date(2025, 10, 22), dt.date(2025, 10, 22), rows=50)
    result = cli("run", "--start", "2025-10-20", "--end", "2025-10-22", cwd=three_days)
    assert result.code == 1 and "all tables are paused" in result.err
    failed = json.loads(cli("metrics", "--output", "json", cwd=three_days).out)
    assert any(m["metric"] == "BackfillJobsFailed" and m["table"] == "bronze.orders" for m in failed)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("backfill", "bronze", "orders", "2025-11-30"), 1, "no landing data for bronze.orders on 2025-11-30: expected files at"),
        (("backfill", "bronze", "salesforce", "2025-10-21"), 2, "unknown source 'salesforce'"),
        (("rebuild", "silver", "--table", "nope", "--date", "2025-10-21"), 2, "unknown silver table 'nope'"),
        (("refresh", "gold", "--table", "orders_clean", "--date", "2025-10-21"), 2, "unknown gold table 'orders_clean'"),
        (("refresh", "gold", "--table", "daily_revenue", "--start", "2025-10-22", "--end", "2025-10-20"), 2, "is before --start"),
        (("rebuild", "silver", "--table", "orders_clean", "--date", "2025-10-25"), 1, "reads bronze.orders 2025-10-25, which is not built"),
    ],
)
def test_refusals(three_days: Path, cli, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], code: int, message: str) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "test")
    before = tree_digest(three_days / "lake")
    result = cli(*args, cwd=three_days)
    assert result.code == code, (result.out, result.err)
    assert message in result.err
    assert tree_digest(three_days / "lake") == before


def test_missing_reason_without_a_tty_is_refused(three_days: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")}
    result = subprocess.run([sys.executable, "-m", "lakemend", "backfill", "bronze", "orders", "2025-10-21"],
                            cwd=three_days, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert result.returncode == 2
    assert "a reason is required" in result.stderr and "LAKEMEND_REASON" in result.stderr


def test_lease_held_by_a_live_writer_is_refused_naming_it(three_days: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from lakemend.state import leases

    monkeypatch.setenv("LAKEMEND_REASON", "test")
    state = Lake.open(three_days).state
    leases.acquire(state, [("bronze.orders", dt.date(2025, 10, 21))], "other-run")  # this (live) process holds it
    result = cli("backfill", "bronze", "orders", "2025-10-21", cwd=three_days)
    assert result.code == 1
    assert "bronze.orders 2025-10-21 is being written by run other-run" in result.err
    leases.release(state, "other-run")
    assert cli("backfill", "bronze", "orders", "2025-10-21", cwd=three_days).code == 0


def test_lease_of_a_dead_process_is_reclaimed(three_days: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import update

    from lakemend.state import leases
    from lakemend.state.store import leases as lease_table

    monkeypatch.setenv("LAKEMEND_REASON", "test")
    state = Lake.open(three_days).state
    leases.acquire(state, [("bronze.orders", dt.date(2025, 10, 21))], "crashed-run")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with state.engine.begin() as conn:
        conn.execute(update(lease_table).values(pid=int(dead.stdout)))
    assert cli("backfill", "bronze", "orders", "2025-10-21", cwd=three_days).code == 0


def test_runbook_backfill_section_verbatim(three_days: Path) -> None:
    """Every example line of the runbook's backfill section, from the project root."""
    generate(three_days / "landing", dt.date(2025, 10, 23), dt.date(2025, 10, 27), rows=40)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")} | REASON
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    lines = [
        "./aws/scripts/backfill_bronze_for_date.sh hubspot 2025-10-26",
        "./aws/scripts/backfill_bronze_for_date.sh all 2025-10-27",
        "./aws/scripts/backfill_bronze_for_date.sh orders 2025-10-26",
        "./aws/scripts/rebuild_silver_for_date.sh --table customers_clean --date 2025-10-26",
        "./aws/scripts/rebuild_silver_for_date.sh --table orders_clean --date 2025-10-26 --dry-run",
        "./aws/scripts/rebuild_silver_for_date.sh --table orders_clean --date 2025-10-26",
        "./aws/scripts/refresh_gold_for_date.sh --table customer_orders --date 2025-10-26",
        "./aws/scripts/refresh_gold_for_date.sh --table daily_revenue --date 2025-10-26 --dry-run",
    ]
    for line in lines:
        result = subprocess.run(line, shell=True, cwd=three_days, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (line, result.stdout[-2000:], result.stderr[-2000:])
    count = subprocess.run([sys.executable, "-m", "lakemend", "query", "SELECT COUNT(*) AS n FROM silver.orders_clean WHERE day='2025-10-26'",
                            "-o", "json"], cwd=three_days, env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(count.stdout)[0]["n"] > 0


def test_runs_resume_finishes_an_interrupted_backfill(three_days: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "reload orders")
    broken = three_days / "landing" / "orders" / "2025-10-21" / "orders-0001.csv"
    good_text = broken.read_text()
    broken.write_text(good_text.replace("order_id,", "", 1))
    first = cli("backfill", "bronze", "orders", "--start", "2025-10-20", "--end", "2025-10-22", "--max-parallel", "1",
                "--downstream", "--output", "json", cwd=three_days)
    assert first.code == 1
    failed_run = json.loads(cli("runs", "--status", "failed", "--output", "json", cwd=three_days).out)[0]["run_id"]
    broken.write_text(good_text)
    resumed = cli("runs", "resume", failed_run, "--output", "json", cwd=three_days)
    assert resumed.code == 0, resumed.err
    redone = {(j["table"], str(j["day"])) for j in json.loads(resumed.out)["jobs"]}
    assert ("bronze.orders", "2025-10-21") in redone and ("bronze.orders", "2025-10-20") not in redone
    assert ("silver.orders_clean", "2025-10-21") in redone
    again = cli("runs", "resume", failed_run, cwd=three_days)
    assert again.code == 2 and f"run {failed_run} was completed by run" in again.err


def test_wait_takes_the_lease_when_the_holder_finishes(three_days: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from lakemend.state import leases

    monkeypatch.setenv("LAKEMEND_REASON", "test")
    state = Lake.open(three_days).state
    leases.acquire(state, [("bronze.orders", dt.date(2025, 10, 21))], "slow-run")
    timer = threading.Timer(1.5, leases.release, args=(state, "slow-run"))
    timer.start()
    try:
        result = cli("backfill", "bronze", "orders", "2025-10-21", "--wait", "30", cwd=three_days)
    finally:
        timer.cancel()
    assert result.code == 0, result.err
