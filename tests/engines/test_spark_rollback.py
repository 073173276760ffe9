"""Whole-table rollback on the spark engine moves main with Iceberg's procedures; per-day rollback and
the DuckDB engine keep re-publishing the target's files (metadata only)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from spark_fixtures import use_spark
from lakemend.errors import LakemendError, SqlError
from lakemend.iceberg.files import day_files, files_key
from lakemend.iceberg.publish import publish_day
from lakemend.lake import Lake
from lakemend.ops.partition_ops import apply_quarantine, apply_rollback, plan_quarantine, plan_rollback
from lakemend.ops.runner import execute

D = dt.date
TABLE = "bronze.orders"
DAYS = [D(2025, 10, 20), D(2025, 10, 21), D(2025, 10, 22)]


def rows_at(table, snapshot_id: int | None = None, day: dt.date | None = None) -> list[tuple]:
    """A snapshot's rows (main's by default), every column, in a fixed order."""
    scan = table.scan(snapshot_id=snapshot_id, **({"row_filter": f"day = '{day}'"} if day else {}))
    return sorted(tuple(map(repr, row.values())) for row in scan.to_arrow().to_pylist())


def edit_day(lake: Lake, day: dt.date, status: str, run_id: str, *, writer: bool) -> None:
    """Another writer republishes a day with every status changed (through Spark or pyiceberg)."""
    table = lake.table(TABLE)
    rows = table.scan(row_filter=f"day = '{day}'").to_arrow()
    rows = rows.set_column(rows.schema.get_field_index("status"), "status", pa.array([status] * rows.num_rows))
    publish_day(table, rows, day, run_id, writer=lake.writer if writer else None)


def built(root: Path, spark: bool) -> Lake:
    if spark:
        use_spark(root)
    lake = Lake.open(root)
    report = execute(lake, command="run", days=DAYS, tables=[lake.project.table(TABLE)], reason="test")
    assert not report.failed, [(r.day, r.error) for r in report.failed]
    return lake


def action_of(snapshot) -> str | None:
    return snapshot.summary.additional_properties.get("lakemend.action")


@pytest.mark.spark
def test_whole_table_rollback_on_spark_moves_main_through_iceberg_procedures(spark_session: object, example: Path) -> None:
    lake = built(example, spark=True)
    assert lake.writer is not None
    spec = lake.project.table(TABLE)
    quarantined = apply_quarantine(lake, plan_quarantine(lake, spec, DAYS[1]), "bad file")
    edit_day(lake, DAYS[2], "edited", "edit-run", writer=True)
    table = lake.table(TABLE)
    edited = table.current_snapshot().snapshot_id

    plan = plan_rollback(lake, spec, f"pre-{quarantined}", None)
    assert plan.whole_table and plan.days == (DAYS[1], DAYS[2]) and plan.current == edited
    run_id = apply_rollback(lake, plan, "undo both")

    table.refresh()
    assert table.current_snapshot().snapshot_id == plan.target  # main points at the target itself: no new snapshot
    assert rows_at(table) == rows_at(table, plan.target) != rows_at(table, edited)
    assert table.metadata.refs[f"pre-{run_id}"].snapshot_id == edited  # the restore point, at main before the move
    jobs = sorted(lake.state.list_jobs(run_id=run_id), key=lambda j: j["day"])
    assert [(j["command"], j["table_name"], j["day"], j["status"]) for j in jobs] == [
        ("rollback", TABLE, day, "succeeded") for day in plan.days]
    target_files = {day: day_files(table, day, plan.target) for day in plan.days}
    for job in jobs:
        assert (job["snapshot_before"], job["snapshot_after"]) == (edited, plan.target)
        assert job["rows_written"] == sum(f.record_count for f in target_files[job["day"]]) > 0
        assert job["reason"] == "undo both"
    assert lake.state.get_run(run_id)["status"] == "succeeded"
    assert (TABLE, DAYS[1]) not in lake.state.marks(TABLE)  # the quarantine's "damaged" mark is cleared
    state = lake.state.partition_states(TABLE)[DAYS[2]]
    assert state["files_key"] == files_key([f.file_path for f in target_files[DAYS[2]]])
    assert state["snapshot_id"] == plan.target

    # not an ancestor any more: rollback_to_snapshot refuses, set_current_snapshot rolls forward
    with pytest.raises(SqlError):
        lake.writer.move_main(TABLE, edited, ancestor=True)
    lake.writer.move_main(TABLE, edited, ancestor=False)
    table.refresh()
    assert table.current_snapshot().snapshot_id == edited and rows_at(table) == rows_at(table, edited)

    # main changed in another day since the plan: refused before anything moves, recorded as a failed job
    plan = plan_rollback(lake, spec, f"pre-{quarantined}", None)
    edit_day(lake, DAYS[0], "meanwhile", "other-writer", writer=False)
    moved = table.refresh().current_snapshot().snapshot_id
    with pytest.raises(LakemendError, match="changed since the rollback was planned"):
        apply_rollback(lake, plan, "too late")
    table.refresh()
    assert table.current_snapshot().snapshot_id == moved
    [failed_run] = [r for r in lake.state.list_runs(limit=10) if r["reason"] == "too late"]
    assert failed_run["status"] == "failed" and f"pre-{failed_run['run_id']}" not in table.metadata.refs
    assert {(j["day"], j["status"]) for j in lake.state.list_jobs(run_id=failed_run["run_id"])} == {
        (DAYS[1], "failed"), (DAYS[2], "failed")}

    # one day (--date) on spark: still metadata only, a new snapshot re-publishing the target's files
    plan = plan_rollback(lake, spec, f"pre-{quarantined}", DAYS[1])
    assert not plan.whole_table and plan.days == (DAYS[1],)
    run_id = apply_rollback(lake, plan, "one day")
    table.refresh()
    after = table.current_snapshot()
    assert after.snapshot_id not in (plan.target, moved) and action_of(after) == "rollback"
    assert rows_at(table, day=DAYS[1]) == rows_at(table, plan.target, DAYS[1])
    assert rows_at(table, day=DAYS[2]) == rows_at(table, edited, DAYS[2])  # the other days are left alone
    assert [j["status"] for j in lake.state.list_jobs(run_id=run_id)] == ["succeeded"]


def test_whole_table_rollback_on_duckdb_still_republishes_each_day(example: Path) -> None:
    lake = built(example, spark=False)
    assert lake.writer is None
    spec = lake.project.table(TABLE)
    quarantined = apply_quarantine(lake, plan_quarantine(lake, spec, DAYS[1]), "bad file")
    edit_day(lake, DAYS[2], "edited", "edit-run", writer=False)
    table = lake.table(TABLE)
    plan = plan_rollback(lake, spec, f"pre-{quarantined}", None)
    assert plan.whole_table and plan.days == (DAYS[1], DAYS[2])
    run_id = apply_rollback(lake, plan, "undo both")
    table.refresh()
    snapshot = table.current_snapshot()
    assert snapshot.snapshot_id != plan.target and action_of(snapshot) == "rollback"  # one new snapshot per day
    assert rows_at(table) == rows_at(table, plan.target)
    jobs = lake.state.list_jobs(run_id=run_id)
    assert sorted((j["day"], j["status"]) for j in jobs) == [(DAYS[1], "succeeded"), (DAYS[2], "succeeded")]
    assert len({j["snapshot_after"] for j in jobs}) == 2
