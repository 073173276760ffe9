"""The runbook's recovery scenarios end to end: missing partition, late data; and verify's checks."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from conftest import START, build
from lakemend.examples.data import generate, parse_fault
from lakemend.ops.recovery import to_ranges
from support import content

D = dt.date


def test_to_ranges_folds_consecutive_days() -> None:
    assert to_ranges([]) == []
    assert to_ranges({D(2025, 10, 3), D(2025, 10, 1), D(2025, 10, 2), D(2025, 10, 5)}) == [
        (D(2025, 10, 1), D(2025, 10, 3)), (D(2025, 10, 5), D(2025, 10, 5))]


@pytest.fixture
def four_days(example: Path) -> Path:
    assert not build(example, START, D(2025, 10, 23)).failed
    for folder in (example / "landing").glob("*/**/2025-10-2[4-7]"):
        shutil.rmtree(folder)  # landing = what was built: no gaps to start with
    return example


def test_scenario_missing_partition(four_days: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "scenario 1: missing partition")
    original = content(four_days)
    # what `aws s3 rm --recursive .../bronze/orders/day=2025-10-22/` does
    shutil.rmtree(four_days / "lake" / "bronze" / "orders" / "day=2025-10-22")
    verify = cli("verify", cwd=four_days)
    assert verify.code == 1
    assert "bronze.orders 2025-10-22: data file missing" in verify.err
    gaps = json.loads(cli("gaps", "--output", "json", cwd=four_days).out)
    assert gaps == [{"table": "bronze.orders", "from": "2025-10-22", "to": "2025-10-22", "days": 1}]
    dry = cli("repair", "--missing", "--dry-run", cwd=four_days)
    assert dry.code == 0 and "bronze.orders 2025-10-22: 0 →" in dry.out
    assert cli("repair", "--missing", cwd=four_days).code == 0
    assert cli("verify", cwd=four_days).code == 0
    assert json.loads(cli("gaps", "--output", "json", cwd=four_days).out) == []
    assert content(four_days) == original


def test_scenario_late_data(four_days: Path, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEMEND_REASON", "scenario 3: late CRM export")
    generate(four_days / "landing", D(2025, 10, 21), D(2025, 10, 21), rows=120, faults=[parse_fault("late:2025-10-21:hubspot")])
    found = json.loads(cli("late", "--output", "json", cwd=four_days).out)
    assert [(d["table"], d["day"]) for d in found["late"]] == [("bronze.hubspot_contacts", "2025-10-21")]
    assert found["late"][0]["new"] == ["hubspot/contacts/2025-10-21/contacts-late-0001.jsonl"]
    assert found["downstream"] == {
        "silver.customers_clean": ["2025-10-21"],
        "gold.customer_orders": ["2025-10-21", "2025-10-22", "2025-10-23"],  # upto: every later day
    }
    assert cli("repair", "--late", cwd=four_days).code == 0
    assert json.loads(cli("late", "--output", "json", cwd=four_days).out)["late"] == []
    scratch = tmp_path / "scratch"
    shutil.copytree(four_days, scratch, ignore=shutil.ignore_patterns("lake", "state.db*"))
    assert not build(scratch, START, D(2025, 10, 23)).failed
    assert content(four_days) == content(scratch)


def test_verify_finds_truncated_files_and_bad_rows(four_days: Path, cli) -> None:
    silver = sorted((four_days / "lake" / "silver" / "orders_clean" / "day=2025-10-21").glob("*.parquet"))[0]
    silver.write_bytes(silver.read_bytes()[: silver.stat().st_size // 2])
    result = cli("verify", "--output", "json", cwd=four_days)
    assert result.code == 1
    damage = json.loads(result.out)
    assert [(d["table"], d["day"]) for d in damage] == [("silver.orders_clean", "2025-10-21")]
    assert "unreadable" in damage[0]["reason"]
    assert cli("verify", "--table", "bronze.orders", cwd=four_days).code == 0
    assert cli("verify", "--date", "2025-10-22", cwd=four_days).code == 0


def test_days_read_side_by_side_find_the_same_damage_in_table_then_day_order(four_days: Path, cli,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    from lakemend.ops import verify

    silver = sorted((four_days / "lake" / "silver" / "orders_clean" / "day=2025-10-21").glob("*.parquet"))[0]
    silver.write_bytes(silver.read_bytes()[:100])  # truncated
    for day in ("2025-10-20", "2025-10-23"):  # a required field emptied: a rule broken
        rewrite_day_file(four_days, "bronze/orders", day,
                         lambda t: t.set_column(0, t.schema.field(0), pa.nulls(t.num_rows, t.schema.field(0).type)))
    sorted((four_days / "lake" / "gold" / "daily_revenue" / "day=2025-10-22").glob("*.parquet"))[0].unlink()
    answers = []
    for threads, options in ((1, ()), (3, ()), (3, ("--max-parallel", "1")), (1, ("--max-parallel", "4"))):
        monkeypatch.setattr(verify, "VERIFY_THREADS", threads)
        result = cli("verify", *options, "--output", "json", cwd=four_days)
        assert result.code == 1
        answers.append(json.loads(result.out))
    assert all(answer == answers[0] for answer in answers)
    refused = cli("verify", "--max-parallel", "0", cwd=four_days)
    assert refused.code == 2 and "--max-parallel 0 is not a number of days to work on at once" in refused.err
    assert [(d["table"], d["day"]) for d in answers[1]] == [
        ("bronze.orders", "2025-10-20"), ("bronze.orders", "2025-10-23"),
        ("silver.orders_clean", "2025-10-21"), ("gold.daily_revenue", "2025-10-22")]


@pytest.mark.parametrize("threads", [1, 3])
def test_verify_reports_each_day_read_in_order_with_the_total(four_days: Path, threads: int,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """What the CLI's progress bar is fed: every day once, in table then day order, with the count of all."""
    from lakemend.lake import Lake
    from lakemend.ops import verify

    monkeypatch.setattr(verify, "VERIFY_THREADS", threads)
    lake = Lake.open(four_days)
    tables = [lake.project.table("bronze.orders"), lake.project.table("gold.daily_revenue")]
    seen: list[tuple[str, dt.date, int]] = []
    assert verify.verify(lake, tables, on_day=lambda *step: seen.append(step)) == []
    days = [D(2025, 10, 20) + dt.timedelta(days=i) for i in range(4)]
    assert seen == [(t, d, 8) for t in ("bronze.orders", "gold.daily_revenue") for d in days]


def test_verify_finds_pii_in_gold(four_days: Path, cli) -> None:
    import pyarrow.parquet as pq

    import pyarrow as pa

    path = sorted((four_days / "lake" / "gold" / "customer_orders" / "day=2025-10-20").glob("*.parquet"))[0]
    parquet = pq.ParquetFile(path)
    table = parquet.read()
    index = table.schema.get_field_index("company")
    emails = pa.array([f"ada{i}@example.com" for i in range(table.num_rows)], table.schema.field("company").type)
    pq.write_table(table.set_column(index, table.schema.field("company"), emails), path)
    result = cli("verify", "--table", "gold.customer_orders", "--date", "2025-10-20", cwd=four_days)
    assert result.code == 1
    assert "PII:" in result.err and "e-mail address(es) in unmasked column company" in result.err


def rewrite_day_file(root: Path, layer_table: str, day: str, change) -> None:  # noqa: ANN001
    import pyarrow.parquet as pq

    path = sorted((root / "lake" / layer_table / f"day={day}").glob("*.parquet"))[0]
    pq.write_table(change(pq.read_table(path)), path)


def test_scenario_corruption(four_days: Path, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    monkeypatch.setenv("LAKEMEND_REASON", "scenario 2: corruption")
    silver = sorted((four_days / "lake" / "silver" / "orders_clean" / "day=2025-10-21").glob("*.parquet"))[0]
    silver.write_bytes(silver.read_bytes()[:100])  # truncated
    rewrite_day_file(four_days, "bronze/orders", "2025-10-22",
                     lambda t: t.set_column(0, t.schema.field(0), pa.nulls(t.num_rows, t.schema.field(0).type)))
    found = cli("verify", "--output", "json", cwd=four_days)
    assert found.code == 1
    damaged = {(d["table"], d["day"]) for d in json.loads(found.out)}
    assert damaged == {("silver.orders_clean", "2025-10-21"), ("bronze.orders", "2025-10-22")}
    assert cli("pause", "--all", cwd=four_days).code == 0
    for table, day in sorted(damaged):
        assert cli("quarantine", "--table", table, "--date", day, "--yes", cwd=four_days).code == 0
    heat = json.loads(cli("status", "--output", "json", cwd=four_days).out)
    assert heat["tables"]["bronze.orders"]["2025-10-22"] == "quarantined"
    assert heat["tables"]["silver.orders_clean"]["2025-10-22"] == "stale"
    assert heat["tables"]["gold.daily_revenue"]["2025-10-20"] == "published"  # paused: a marker, not a state
    assert heat["tables_paused"]["gold.daily_revenue"] == heat["paused"]["*"]
    refused = cli("backfill", "bronze", "orders", "2025-10-22", "--downstream", cwd=four_days)
    assert refused.code == 1 and "paused" in refused.err
    assert cli("backfill", "bronze", "orders", "2025-10-22", "--downstream", "--force", cwd=four_days).code == 0
    assert cli("rebuild", "silver", "--table", "orders_clean", "--date", "2025-10-21", "--downstream", "--force", cwd=four_days).code == 0
    assert cli("resume", "--all", cwd=four_days).code == 0
    assert cli("verify", cwd=four_days).code == 0
    assert set(json.loads(cli("status", "--output", "json", cwd=four_days).out)["totals"].items()) >= {("quarantined", 0), ("stale", 0)}
    scratch = tmp_path / "scratch"
    shutil.copytree(four_days, scratch, ignore=shutil.ignore_patterns("lake", "state.db*"))
    assert not build(scratch, START, D(2025, 10, 23)).failed
    clean, repaired = content(scratch), content(four_days)
    assert {k: v for k, v in repaired.items() if k[0].startswith("gold.")} == {k: v for k, v in clean.items() if k[0].startswith("gold.")}


def test_rollback_to_a_tag_restores_the_prior_rows(four_days: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from lakemend.lake import Lake

    monkeypatch.setenv("LAKEMEND_REASON", "rollback test")
    lake = Lake.open(four_days)
    before = lake.table("silver.orders_clean").scan().to_arrow().sort_by("order_id")
    generate(four_days / "landing", D(2025, 10, 21), D(2025, 10, 21), rows=120, faults=[parse_fault("late:2025-10-21:orders")])
    backfill = cli("backfill", "bronze", "orders", "2025-10-21", "--downstream", "--output", "json", cwd=four_days)
    assert backfill.code == 0
    run_id = json.loads(backfill.out)["run_id"]
    assert Lake.open(four_days).table("silver.orders_clean").scan().to_arrow().num_rows > before.num_rows
    refused = cli("rollback", "--table", "silver.orders_clean", "--to", f"pre-{run_id}", cwd=four_days)
    assert refused.code == 2 and "--yes" in refused.err  # no terminal: refuse without --yes
    result = cli("rollback", "--table", "silver.orders_clean", "--to", f"pre-{run_id}", "--yes", cwd=four_days)
    assert result.code == 0, result.err
    assert "silver.orders_clean 2025-10-21" in result.out and "removed" in result.out
    after = Lake.open(four_days).table("silver.orders_clean").scan().to_arrow().sort_by("order_id")
    assert after.equals(before)
    heat = json.loads(cli("status", "--output", "json", cwd=four_days).out)
    assert heat["tables"]["gold.customer_orders"]["2025-10-21"] == "stale"


def test_rollback_to_a_non_ancestor_is_refused(four_days: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from lakemend.lake import Lake

    monkeypatch.setenv("LAKEMEND_REASON", "rollback test")
    table = Lake.open(four_days).table("bronze.orders")
    experiment = table.scan(row_filter="day = '2025-10-20'").to_arrow()
    table.manage_snapshots().create_branch(table.current_snapshot().snapshot_id, "experiment").commit()
    table.append(experiment, branch="experiment")
    result = cli("rollback", "--table", "bronze.orders", "--to", "experiment", "--yes", cwd=four_days)
    assert result.code == 1
    assert "is not an ancestor of the current state of bronze.orders" in result.err


def test_a_calendar_in_lakemend_yaml_sets_the_expected_days(four_days: Path, cli) -> None:
    config = four_days / "lakemend.yaml"
    config.write_text(config.read_text() + "\ncalendar: {start: 2025-10-20, end: 2025-10-25}\n")
    gaps = json.loads(cli("gaps", "--output", "json", cwd=four_days).out)
    assert {(g["table"], g["from"], g["to"]) for g in gaps} == {
        (t, "2025-10-24", "2025-10-25") for t in ("bronze.hubspot_contacts", "bronze.orders", "silver.customers_clean",
                                                  "silver.orders_clean", "gold.customer_orders", "gold.daily_revenue")}
