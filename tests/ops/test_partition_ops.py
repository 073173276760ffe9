"""Quarantine and rollback are jobs like any other: ledger rows, run logs, lineage, metrics."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from conftest import START, build

from lakemend.errors import LakemendError
from lakemend.lake import Lake
from lakemend.observe.lineage_read import job_run_id, read_day
from lakemend.ops.partition_ops import apply_quarantine, apply_rollback, plan_quarantine, plan_rollback
from lakemend.state import metrics

TABLE = "silver.orders_clean"
DAY = START + dt.timedelta(days=1)


@pytest.fixture
def lake(example: Path) -> Lake:
    """Three days built in this project's own folder (a copied lake would point at the original)."""
    assert not build(example, START, START + dt.timedelta(days=2)).failed
    return Lake.open(example)


def started_and_finished(lake: Lake, table: str) -> tuple[float, float, float]:
    totals = {(row["metric"], row["table"]): row["value"] for row in metrics.summary(lake.state)}
    return tuple(totals.get((name, table), 0) for name in (metrics.STARTED, metrics.SUCCEEDED, metrics.FAILED))


def log_events(lake: Lake, run_id: str) -> list[dict]:
    path = lake.project.root / ".lakemend" / "logs" / f"{run_id}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def lineage_kinds(lake: Lake, run_id: str, table: str, day: dt.date) -> list[str]:
    wanted = job_run_id(run_id, table, day)
    return [e["eventType"] for e in read_day(lake.project, day) or [] if e["run"]["runId"] == wanted]


def test_quarantine_is_a_recorded_job(lake: Lake) -> None:
    before = started_and_finished(lake, TABLE)
    plan = plan_quarantine(lake, lake.project.find_table(TABLE), DAY)
    run_id = apply_quarantine(lake, plan, "truncated file")

    [job] = lake.state.list_jobs(run_id=run_id)
    assert (job["command"], job["table_name"], job["day"], job["status"]) == ("quarantine", TABLE, DAY, "succeeded")
    assert job["reason"] == "truncated file" and job["snapshot_after"] != job["snapshot_before"]
    assert lake.state.get_run(run_id)["status"] == "succeeded"
    assert [e["event"] for e in log_events(lake, run_id)] == ["START", "COMPLETE"]
    assert lineage_kinds(lake, run_id, TABLE, DAY) == ["START", "COMPLETE"]
    after = started_and_finished(lake, TABLE)
    assert (after[0] - before[0], after[1] - before[1], after[2] - before[2]) == (1, 1, 0)


def test_rollback_is_one_recorded_job_per_day(lake: Lake) -> None:
    plan = plan_quarantine(lake, lake.project.find_table(TABLE), DAY)
    quarantined = apply_quarantine(lake, plan, "truncated file")
    before = started_and_finished(lake, TABLE)

    rollback = plan_rollback(lake, lake.project.find_table(TABLE), f"pre-{quarantined}", None)
    assert rollback.days == (DAY,)
    run_id = apply_rollback(lake, rollback, "the file was fine after all")

    [job] = lake.state.list_jobs(run_id=run_id)
    assert (job["command"], job["day"], job["status"], job["rows_written"]) == ("rollback", DAY, "succeeded", plan.rows)
    assert [e["event"] for e in log_events(lake, run_id)] == ["START", "COMPLETE"]
    assert lineage_kinds(lake, run_id, TABLE, DAY) == ["START", "COMPLETE"]
    after = started_and_finished(lake, TABLE)
    assert (after[0] - before[0], after[1] - before[1], after[2] - before[2]) == (1, 1, 0)
    assert not lake.state.list_jobs(status="running")


def test_a_failed_rollback_ends_its_job_and_run_as_failed(lake: Lake) -> None:
    from pyiceberg.table.update.snapshot import ExpireSnapshots

    plan = plan_quarantine(lake, lake.project.find_table(TABLE), DAY)
    quarantined = apply_quarantine(lake, plan, "truncated file")
    rollback = plan_rollback(lake, lake.project.find_table(TABLE), f"pre-{quarantined}", None)
    # between plan and apply, someone removes the restore point and expires its snapshot
    table = lake.table(TABLE)
    table.manage_snapshots().remove_tag(f"pre-{quarantined}").commit()
    with table.transaction() as tx:
        ExpireSnapshots(tx).by_id(rollback.target).commit()
    before = started_and_finished(lake, TABLE)

    with pytest.raises(LakemendError, match="no longer exists"):
        apply_rollback(lake, rollback, "undo")

    [run] = [r for r in lake.state.list_runs(limit=5) if r["command"] == "rollback"]
    assert run["status"] == "failed" and "no longer exists" in run["error"]
    [job] = lake.state.list_jobs(run_id=run["run_id"])
    assert job["status"] == "failed" and "no longer exists" in job["error"]
    assert [e["event"] for e in log_events(lake, run["run_id"])] == ["START", "FAIL"]
    after = started_and_finished(lake, TABLE)
    assert (after[0] - before[0], after[1] - before[1], after[2] - before[2]) == (1, 0, 1)
    assert not lake.state.list_jobs(status="running")
