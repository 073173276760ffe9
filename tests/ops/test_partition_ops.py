"""Quarantine and rollback are jobs like any other: ledger rows, run logs, lineage, metrics."""

from __future__ import annotations

import datetime as dt
import json
import shutil
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


# ----- a rollback or quarantine killed between its commit and its records -----------------------


def _lake_with_two_builds(root: Path) -> tuple[Lake, str]:
    """The example built for three days, then bronze.orders' first two days rebuilt from late files."""
    from kill_trials import land_late

    assert not build(root, START, START + dt.timedelta(days=2)).failed
    land_late(root, [0, 1], "orders")
    report = build(root, START, START + dt.timedelta(days=2))
    assert not report.failed
    return Lake.open(root), report.run_id


def _cells(lake: Lake) -> dict[str, dict[dt.date, str]]:
    from lakemend.ops.heatmap import build_heatmap

    return build_heatmap(lake, lake.project.ordered, START, START + dt.timedelta(days=2)).cells


def _stale_days(lake: Lake) -> set[dt.date]:
    return {day for day, state in _cells(lake)["bronze.orders"].items() if state == "stale"}


def _marks(lake: Lake) -> dict[tuple[str, dt.date], str]:
    return {key: mark["mark"] for key, mark in lake.state.marks().items()}


def _killed_commit(lake: Lake, table: str, day: dt.date, files: list, action: str) -> str:
    """What a rollback or quarantine killed right after its commit of ``day`` leaves: its job running."""
    from lakemend.iceberg.publish import replace_day_files

    run_id = f"killed-{action}"
    lake.state.start_run(run_id, action, {}, "killed")
    lake.state.start_job(run_id, action, table.split(".")[0], table, day, "killed", None, None)
    replace_day_files(lake.table(table), day, files, run_id, action)
    return run_id


def test_the_rerun_of_a_rollback_killed_after_a_days_commit_records_that_day(
        tmp_path: Path, _pristine_example: Path, cli) -> None:
    from lakemend.iceberg.files import files_by_day

    roots = [tmp_path / name for name in ("clean", "killed")]
    for root in roots:
        shutil.copytree(_pristine_example, root, symlinks=True)
    (clean, clean_run), (killed, killed_run) = (_lake_with_two_builds(root) for root in roots)
    orders = clean.project.find_table("bronze.orders")
    apply_rollback(clean, plan_rollback(clean, orders, f"pre-{clean_run}", None), "late files were wrong")

    target = plan_rollback(killed, orders, f"pre-{killed_run}", None)
    assert target.days == (START, DAY) and not target.unrecorded
    first = files_by_day(killed.table("bronze.orders"), target.target)[START]
    dead = _killed_commit(killed, "bronze.orders", START, first, "rollback")
    assert START in _stale_days(killed)  # honest meanwhile: the published files are not the recorded ones

    rerun = plan_rollback(killed, orders, f"pre-{killed_run}", None)
    assert rerun.days == (DAY,)
    assert [(u.day, u.run_id) for u in rerun.unrecorded] == [(START, dead)]
    assert ("silver.orders_clean", START) in rerun.dependants
    result = cli("rollback", "--table", "bronze.orders", "--to", f"pre-{killed_run}", "--yes", "--reason", "late files were wrong",
                 cwd=killed.project.root)
    assert result.code == 0, result.err
    assert f"not yet recorded): {START}." in result.out and "Rolled back 1 day(s)" in result.out
    assert "recorded 1 day(s) an interrupted rollback had published" in result.out
    killed = Lake.open(killed.project.root)
    [run_id] = [r["run_id"] for r in killed.state.list_runs(limit=1)]

    assert _cells(killed) == _cells(clean)
    assert _marks(killed) == _marks(clean)
    assert [(j["day"], j["status"]) for j in reversed(killed.state.list_jobs(run_id=run_id))] == \
        [(DAY, "succeeded"), (START, "succeeded")]
    assert not plan_rollback(killed, orders, f"pre-{killed_run}", None).unrecorded  # recorded once


def test_a_rollback_records_no_day_whose_rollback_job_succeeded(lake: Lake) -> None:
    """A day rolled back by a finished run and changed in the state since is not the rerun's to record."""
    quarantined = apply_quarantine(lake, plan_quarantine(lake, lake.project.find_table(TABLE), DAY), "truncated file")
    apply_rollback(lake, plan_rollback(lake, lake.project.find_table(TABLE), f"pre-{quarantined}", None), "fine after all")
    lake.state.mark(TABLE, DAY, "damaged", "found bad again by hand", "someone")
    plan = plan_rollback(lake, lake.project.find_table(TABLE), f"pre-{quarantined}", None)
    assert not plan.days and not plan.unrecorded


def test_a_rollback_records_the_days_main_was_moved_back_over(tmp_path: Path, _pristine_example: Path) -> None:
    """Spark's whole-table rollback moves main to the target itself; killed before its records,
    the rerun finds every day whose record names a snapshot main no longer descends from."""
    root = tmp_path / "company"
    shutil.copytree(_pristine_example, root, symlinks=True)
    lake, run = _lake_with_two_builds(root)
    orders = lake.project.find_table("bronze.orders")
    plan = plan_rollback(lake, orders, f"pre-{run}", None)
    lake.table("bronze.orders").manage_snapshots().set_current_snapshot(plan.target).commit()

    rerun = plan_rollback(lake, orders, f"pre-{run}", None)
    assert not rerun.days
    assert [(u.day, u.snapshot_id, u.run_id) for u in rerun.unrecorded] == [(START, plan.target, None), (DAY, plan.target, None)]
    apply_rollback(lake, rerun, "late files were wrong")
    assert _cells(lake)["bronze.orders"] == {START: "published", DAY: "published", DAY + dt.timedelta(days=1): "published"}
    assert not plan_rollback(lake, orders, f"pre-{run}", None).unrecorded


def test_the_rerun_of_a_quarantine_killed_after_its_commit_records_it(lake: Lake, cli) -> None:
    dead = _killed_commit(lake, TABLE, DAY, [], "quarantine")
    assert _cells(lake)[TABLE][DAY] == "missing"  # not yet quarantined in the records

    plan = plan_quarantine(lake, lake.project.find_table(TABLE), DAY)
    assert plan.committed is not None and plan.committed.run_id == dead and plan.rows > 0 and plan.files > 0
    # no --yes: recording what the killed run already published changes no data, so nothing is asked
    result = cli("quarantine", "--table", TABLE, "--date", str(DAY), "--reason", "bad file", cwd=lake.project.root)
    assert result.code == 0, result.err
    assert f"run {dead} took its {plan.rows} rows" in result.out and f"pre-{dead}" in result.out

    lake = Lake.open(lake.project.root)
    assert _cells(lake)[TABLE][DAY] == "quarantined" and DAY not in lake.state.partition_states(TABLE)
    assert _marks(lake)[("gold.daily_revenue", DAY)] == "stale"
    again = cli("quarantine", "--table", TABLE, "--date", str(DAY), "--yes", "--reason", "bad file", cwd=lake.project.root)
    assert again.code == 2 and "has no published partition" in again.err



def _to_build(lake: Lake, table: str) -> list[dt.date]:
    from lakemend.ops.runner import plan_run

    decisions = plan_run(lake, [START + dt.timedelta(days=n) for n in range(3)], [lake.project.find_table(table)])
    return [d.day for d in decisions if d.action == "build"]


def test_rolling_a_quarantine_back_records_the_day_as_built_before(lake: Lake, cli) -> None:
    spec = lake.project.find_table(TABLE)
    before = lake.state.partition_states(TABLE)[DAY]
    quarantine = apply_quarantine(lake, plan_quarantine(lake, spec, DAY), "suspect file")
    assert [j["input_key"] for j in lake.state.list_jobs(run_id=quarantine)] == [before["input_key"]]
    plan = plan_rollback(lake, spec, f"pre-{quarantine}", DAY)
    assert (plan.built_again, plan.unbuilt) == ((DAY,), ())

    result = cli("rollback", "--table", TABLE, "--to", f"pre-{quarantine}", "--date", str(DAY), "--yes",
                 "--reason", "the file was fine", "-o", "json", cwd=lake.project.root)
    assert result.code == 0, result.err
    assert json.loads(result.out)["built_again"] == [str(DAY)]

    lake = Lake.open(lake.project.root)
    after = lake.state.partition_states(TABLE)[DAY]
    assert (after["input_key"], after["files_key"], after["rows"]) == (before["input_key"], before["files_key"], before["rows"])
    assert _cells(lake)[TABLE][DAY] == "published" and (TABLE, DAY) not in _marks(lake)
    assert _to_build(lake, TABLE) == []
    # its dependants stay marked: their input was out of the table between their build and now
    assert _marks(lake)[("gold.daily_revenue", DAY)] == "stale"


def test_a_rollback_past_a_rebuild_and_its_quarantine_records_no_build(tmp_path: Path, _pristine_example: Path) -> None:
    """The files a rollback brings back are older than those the quarantine took: the key the
    quarantine kept is not theirs, so the day stays unrecorded (stale) and the next run rebuilds it."""
    root = tmp_path / "lake"
    shutil.copytree(_pristine_example, root, symlinks=True)
    lake, rebuild = _lake_with_two_builds(root)
    orders = lake.project.find_table("bronze.orders")
    quarantine = apply_quarantine(lake, plan_quarantine(lake, orders, DAY), "suspect late file")
    assert lake.state.list_jobs(run_id=quarantine)[0]["input_key"] is not None

    plan = plan_rollback(lake, orders, f"pre-{rebuild}", DAY)
    assert (plan.built_again, plan.unbuilt) == ((), (DAY,))
    apply_rollback(lake, plan, "back to the first files")

    lake = Lake.open(root)
    assert DAY not in lake.state.partition_states("bronze.orders")
    assert _cells(lake)["bronze.orders"][DAY] == "stale" and DAY in _to_build(lake, "bronze.orders")


def test_the_rerun_of_a_killed_rollback_of_a_quarantine_records_the_day_as_built_before(lake: Lake) -> None:
    from lakemend.iceberg.files import day_files

    spec = lake.project.find_table(TABLE)
    before = lake.state.partition_states(TABLE)[DAY]
    taken = day_files(lake.table(TABLE), DAY)
    quarantine = apply_quarantine(lake, plan_quarantine(lake, spec, DAY), "suspect file")
    _killed_commit(lake, TABLE, DAY, taken, "rollback")  # the day's files are back, nothing recorded
    assert _cells(lake)[TABLE][DAY] != "published"

    rerun = plan_rollback(lake, spec, f"pre-{quarantine}", DAY)
    assert rerun.days == () and [u.day for u in rerun.unrecorded] == [DAY]
    apply_rollback(lake, rerun, "the file was fine")

    lake = Lake.open(lake.project.root)
    after = lake.state.partition_states(TABLE)[DAY]
    assert (after["input_key"], after["files_key"]) == (before["input_key"], before["files_key"])
    assert _cells(lake)[TABLE][DAY] == "published" and _to_build(lake, TABLE) == []
