"""Destructive partition operations, each behind a restore point: quarantine and rollback.

Both are plan-then-apply: the plan says what will change (and the diff for rollback); the CLI
asks before applying (default No). Applying tags the table's current snapshot ``pre-<run_id>``
first, records the job in the ledger, and marks dependants stale so `repair --stale` (or the
next `run`) rebuilds them.
"""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache

from lakemend.build.diff import PartitionDiff, diff_partition
from lakemend.errors import LakemendError, UsageError
from lakemend.lake import Lake
from lakemend.ops.plans import downstream_days
from lakemend.project.project import TableSpec
from lakemend.iceberg.files import day_files, day_filter, files_by_day, files_key
from lakemend.iceberg.history import lineage
from lakemend.iceberg.publish import PublishResult, replace_day_files, restore_tag
from lakemend.ops import unrecorded
from lakemend.ops.job import partition_job, run_scope
from lakemend.ops.runner import new_run_id


@dataclass(frozen=True)
class QuarantinePlan:
    table: str
    day: dt.date
    rows: int
    files: int
    snapshot: int  # the snapshot tagged as the restore point
    dependants: tuple[tuple[str, dt.date], ...]
    committed: unrecorded.Unrecorded | None = None
    """An earlier quarantine of the day, killed after its commit: only its records are left to write."""
    input_key: str | None = None
    """The key the day's record was built under: the quarantine's ledger row keeps it, so a rollback
    to before the quarantine can record the day as built again."""


def plan_quarantine(lake: Lake, spec: TableSpec, day: dt.date) -> QuarantinePlan:
    table = lake.table(spec.qualified)
    if table is None or table.current_snapshot() is None:
        raise UsageError(f"{spec.qualified} does not exist yet", "nothing to quarantine")
    files = day_files(table, day)
    committed = None if files else unrecorded.quarantined(lake, table, spec.qualified, day)
    if not files and committed is None:
        raise UsageError(f"{spec.qualified} has no published partition {day}", "see lakemend status")
    dependants = downstream_days(lake, {spec.qualified: {day}})
    dependant_days = tuple(sorted((t, d) for t, days in dependants.items() for d in days))
    input_key = (lake.state.partition_states(spec.qualified).get(day) or {}).get("input_key")
    if committed is None:
        return QuarantinePlan(spec.qualified, day, sum(f.record_count for f in files), len(files),
                              table.current_snapshot().snapshot_id, dependant_days, input_key=input_key)
    commit = table.snapshot_by_id(committed.snapshot_id)
    summary = commit.summary or {}
    return QuarantinePlan(spec.qualified, day, int(summary.get("deleted-records") or 0),
                          int(summary.get("deleted-data-files") or 0), commit.parent_snapshot_id, dependant_days,
                          committed, input_key)


def _mark_dependants_stale(lake: Lake, dependants: list[tuple[str, dt.date]], reason: str, run_id: str) -> None:
    for table, day in dependants:
        if day in lake.state.partition_states(table):
            lake.state.mark(table, day, "stale", reason, run_id)


def apply_quarantine(lake: Lake, plan: QuarantinePlan, reason: str) -> str:
    """Take the day out of the table in one new snapshot; its rows stay reachable via the tag.
    For a plan that finishes a killed quarantine (``plan.committed``), only the records are written."""
    run_id = new_run_id()
    spec = lake.project.table(plan.table)
    why = "quarantine" if plan.committed is None else f"quarantine: record what run {plan.committed.run_id} committed"
    with run_scope(lake, run_id, "quarantine", {"table": plan.table, "day": plan.day.isoformat()}, reason), \
            partition_job(lake, run_id=run_id, command="quarantine", spec=spec, day=plan.day, reason=reason,
                          why=why, input_key=plan.input_key, check_pause=False) as running:
        running.result.rows_read = plan.rows
        if plan.committed is None:
            running.published(replace_day_files(lake.table(plan.table), plan.day, [], run_id, "quarantine"))
        else:
            running.result.snapshot_before, running.result.snapshot_after = plan.snapshot, plan.committed.snapshot_id
        lake.state.quarantine_partition(plan.table, plan.day, reason, run_id)
        _mark_dependants_stale(lake, list(plan.dependants), f"input {plan.table} {plan.day} was quarantined", run_id)
    return run_id


# ----- rollback ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollbackPlan:
    table: str
    target: int
    target_label: str
    current: int
    days: tuple[dt.date, ...]  # days whose content changes
    diffs: tuple[PartitionDiff, ...]
    dependants: tuple[tuple[str, dt.date], ...]
    whole_table: bool
    unrecorded: tuple[unrecorded.Unrecorded, ...] = ()
    """Days already at the target that an earlier rollback to it, killed, published and did not record."""
    built_again: tuple[dt.date, ...] = ()
    """Changed days without a record now that come back with the files their quarantine took: they
    are recorded as built then (nothing to rebuild)."""
    unbuilt: tuple[dt.date, ...] = ()
    """Changed days without a record now that come back with files no quarantine of theirs took:
    they stay stale until rebuilt."""


def resolve_target(table, target: str) -> tuple[int, str]:  # noqa: ANN001
    """A snapshot id, a tag or branch name, or a timestamp (the snapshot current at that time)."""
    if target.isdigit():
        snapshot_id = int(target)
        if table.metadata.snapshot_by_id(snapshot_id) is None:
            qualified = ".".join(table.name()[-2:])
            raise UsageError(f"{qualified} has no snapshot {snapshot_id}", f"list its restore points: lakemend tags {qualified}")
        return snapshot_id, f"snapshot {snapshot_id}"
    ref = table.metadata.refs.get(target)
    if ref is not None:
        return ref.snapshot_id, f"tag {target}"
    try:
        when = dt.datetime.fromisoformat(target)
    except ValueError:
        tags = ", ".join(sorted(n for n, r in table.metadata.refs.items() if n != "main")) or "none"
        raise UsageError(f"{target!r} is not a snapshot id, tag or timestamp", f"tags of this table: {tags}") from None
    millis = int((when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp() * 1000)
    candidates = [e for e in table.metadata.snapshot_log if e.timestamp_ms <= millis]
    if not candidates:
        raise UsageError(f"the table had no snapshot at {target}", "pick a later time")
    return candidates[-1].snapshot_id, f"state at {target}"


def _ancestors(table, snapshot_id: int) -> set[int]:  # noqa: ANN001
    return {snapshot.snapshot_id for snapshot in lineage(table, snapshot_id)}


def plan_rollback(lake: Lake, spec: TableSpec, target: str, day: dt.date | None) -> RollbackPlan:
    table = lake.table(spec.qualified)
    if table is None or table.current_snapshot() is None:
        raise UsageError(f"{spec.qualified} does not exist yet", "nothing to roll back")
    snapshot_id, label = resolve_target(table, target)
    current = table.current_snapshot().snapshot_id
    if snapshot_id not in _ancestors(table, current):
        raise LakemendError(
            f"{label} ({snapshot_id}) is not an ancestor of the current state of {spec.qualified}",
            "roll back only to an earlier state of this table: a pre-<run_id> tag or a snapshot id from its history",
        )
    then, now = files_by_day(table, snapshot_id), files_by_day(table, current)
    changed = _changed_days(then, now)
    days = sorted(d for d in changed if day is None or d == day)
    left = unrecorded.rolled_back(lake, table, spec.qualified, snapshot_id, now, changed, day)
    diffs = []
    for changed_day in days:
        new_rows = table.scan(snapshot_id=snapshot_id, row_filter=day_filter(changed_day)).to_arrow()
        old_rows = table.scan(row_filter=day_filter(changed_day)).to_arrow()
        diffs.append(diff_partition(lake.engine, spec.qualified, changed_day, old_rows, new_rows, spec.unique_key))
    touched = set(days) | {u.day for u in left}
    dependants = downstream_days(lake, {spec.qualified: touched}) if touched else {}
    records = lake.state.partition_states(spec.qualified)
    returning = {d: [f.file_path for f in then[d]] for d in days if then.get(d) and d not in records}
    built_again = {d for d, paths in returning.items()
                   if _key_before_quarantine(lake, table, spec.qualified, d, paths) is not None}
    return RollbackPlan(spec.qualified, snapshot_id, label, current, tuple(days), tuple(diffs),
                        tuple(sorted((t, d) for t, ds in dependants.items() for d in ds)), whole_table=day is None,
                        unrecorded=left, built_again=tuple(sorted(built_again)),
                        unbuilt=tuple(sorted(set(returning) - built_again)))


def _target_files(table, plan: RollbackPlan) -> dict[dt.date, list]:  # noqa: ANN001
    """The target's files per day, refusing a target that vanished since the plan (e.g. expired)."""
    table.refresh()
    if table.metadata.snapshot_by_id(plan.target) is None:
        raise LakemendError(f"the rollback target {plan.target_label} ({plan.target}) of {plan.table} no longer exists "
                            "(expired since the plan was made)", "plan the rollback again with a target from its history")
    return files_by_day(table, plan.target)


def apply_rollback(lake: Lake, plan: RollbackPlan, reason: str) -> str:
    """Roll the plan's changed days back to the target, each day its own job (ledger row, lease, events,
    metrics, partition state), behind the restore point ``pre-<run_id>``; dependants are marked stale.

    How main moves depends on the engine and the scope:

    - per day (``--date``; ``plan.whole_table`` false), on every engine, and the whole table on an
      engine without its own writer (DuckDB): metadata only — each changed day is re-published from
      the target's own data files (nothing rewritten), one commit per day, in order. The first
      failure stops the rollback, is recorded as a failed job and run, and leaves the days already
      rolled back behind their restore point tag;
    - the whole table on an engine with its own writer (Spark): main itself is moved to the target
      with Iceberg's procedures (:func:`_move_main`), one commit for every day, so all its jobs
      succeed or fail together.

    Then the days an earlier, killed rollback to the same target published without recording them
    (``plan.unrecorded``) are recorded, each in its own job; nothing is published for them.
    """
    run_id = new_run_id()
    spec = lake.project.table(plan.table)
    args = {"table": plan.table, "to": plan.target, "days": [d.isoformat() for d in plan.days]}
    held = [(plan.table, d) for d in (*plan.days, *(left.day for left in plan.unrecorded))]
    with run_scope(lake, run_id, "rollback", args, reason, hold=held):
        table = lake.table(plan.table)
        target_files = cache(lambda: _target_files(table, plan))  # read once, in the first job that needs it
        recorded = set(lake.state.partition_states(plan.table))  # a day's job changes only that day's record
        if plan.whole_table and lake.writer is not None:
            if plan.days:
                _move_main(lake, plan, spec, run_id, reason)
            days: tuple[dt.date, ...] = ()
        else:
            days = plan.days
        for day in days:
            with partition_job(lake, run_id=run_id, command="rollback", spec=spec, day=day, reason=reason,
                               why=f"rollback to {plan.target_label}", check_pause=False) as running:
                files = target_files().get(day, [])  # a vanished target is the first job's failure
                result = replace_day_files(table, day, files, run_id, "rollback")
                running.published(result)
                _record_day(lake, table, plan.table, day, files, result.snapshot_after, run_id, day in recorded)
        for left in plan.unrecorded:
            by = f"run {left.run_id}" if left.run_id else "the move of main"
            with partition_job(lake, run_id=run_id, command="rollback", spec=spec, day=left.day, reason=reason,
                               why=f"rollback to {plan.target_label}: record what {by} published",
                               check_pause=False) as running:
                files = target_files().get(left.day, [])
                if {f.file_path for f in files} != {f.file_path for f in day_files(table, left.day)}:
                    raise LakemendError(f"{plan.table} {left.day} changed since the rollback was planned; "
                                        "nothing recorded for it", "plan the rollback again")
                running.result.snapshot_before = running.result.snapshot_after = left.snapshot_id
                _record_day(lake, table, plan.table, left.day, files, left.snapshot_id, run_id, left.day in recorded)
        _mark_dependants_stale(lake, list(plan.dependants), f"{plan.table} rolled back to {plan.target_label}", run_id)
    return run_id


def _record_day(lake: Lake, table, qualified: str, day: dt.date, files: list, snapshot_id: int | None,  # noqa: ANN001
                run_id: str, recorded: bool) -> None:
    """The partition state of a rolled-back day: the target's files (and no mark), or no partition at all.

    A day without a record (``recorded`` False) whose files are exactly those its newest quarantine
    took out is recorded under the input key it had then (rolling a quarantine back leaves the day
    as it was, not stale)."""
    if not files:
        lake.state.forget_partition(qualified, day)
        return
    paths = [f.file_path for f in files]
    key, rows = files_key(paths), sum(f.record_count for f in files)
    input_key = None if recorded else _key_before_quarantine(lake, table, qualified, day, paths)
    if input_key is not None:  # the record and the cleared mark in one transaction, as below
        lake.state.record_partition(qualified, day, input_key=input_key, files_key=key, snapshot_id=snapshot_id,
                                    run_id=run_id, rows=rows, files=paths)
    else:
        lake.state.restore_partition(qualified, day, key, snapshot_id, rows, paths)


def _key_before_quarantine(lake: Lake, table, qualified: str, day: dt.date, paths: list[str]) -> str | None:  # noqa: ANN001
    """The input key the day's record had when its newest quarantine ran, if that quarantine took out
    exactly ``paths`` (its restore point still in the table); else None."""
    quarantine = next((job for job in lake.state.list_jobs(status="succeeded", table=qualified, day=day)
                       if job["command"] == "quarantine"), None)
    if quarantine is None or quarantine["input_key"] is None:
        return None
    before = quarantine["snapshot_before"]
    if before is None or table.snapshot_by_id(before) is None:
        return None
    taken = {f.file_path for f in day_files(table, day, before)}
    return quarantine["input_key"] if taken == set(paths) else None


def _changed_days(then: dict[dt.date, list], now: dict[dt.date, list]) -> set[dt.date]:
    return {d for d in set(then) | set(now)
            if {f.file_path for f in then.get(d, [])} != {f.file_path for f in now.get(d, [])}}


def _move_main(lake: Lake, plan: RollbackPlan, spec: TableSpec, run_id: str, reason: str) -> None:
    """Whole-table rollback through the engine's writer: ``CALL <catalog>.system.rollback_to_snapshot``
    when the target is an ancestor of main, else ``set_current_snapshot`` — main points at the target
    snapshot itself (no data file written, no new snapshot).

    The jobs of every changed day are open around that one move, so the ledger, leases and metrics
    are those of a per-day rollback and all days succeed or fail with the move. Guards, in order:
    the target still exists; main still differs from the target in exactly the planned days (a
    commit to another day since the plan would be undone by moving main: refused, plan again); the
    restore point ``pre-<run_id>`` is tagged at main's current snapshot; then main moves. A commit
    to another day landing between that check and the move (a fraction of a second) would be
    undone too — it stays in the table's history, reachable by its snapshot id.
    """
    writer = lake.writer
    assert writer is not None
    table = lake.table(plan.table)
    with ExitStack() as jobs:
        running = [jobs.enter_context(partition_job(lake, run_id=run_id, command="rollback", spec=spec, day=day,
                                                    reason=reason, why=f"rollback to {plan.target_label}",
                                                    check_pause=False))
                   for day in plan.days]
        then = _target_files(table, plan)
        current = table.current_snapshot().snapshot_id
        changed = _changed_days(then, files_by_day(table, current))
        if changed != set(plan.days):
            moved = ", ".join(str(d) for d in sorted(changed ^ set(plan.days)))
            raise LakemendError(f"{plan.table} changed since the rollback was planned (days {moved} differ from the plan); "
                                "nothing was rolled back", "plan the rollback again")
        tag = restore_tag(run_id)
        if tag not in table.metadata.refs:
            writer.sql(f"ALTER TABLE {writer.identifier(plan.table)} CREATE TAG IF NOT EXISTS `{tag}` AS OF VERSION {current}")
        writer.move_main(plan.table, plan.target, ancestor=plan.target in _ancestors(table, current))
        table.refresh()
        after = table.current_snapshot()
        if after is None or after.snapshot_id != plan.target:
            raise LakemendError(f"{plan.table}: main is at {after.snapshot_id if after else None} after the rollback, "
                                f"not at {plan.target_label} ({plan.target})", "see lakemend tags and rerun the rollback")
        recorded = set(lake.state.partition_states(plan.table))
        for day, job in zip(plan.days, running, strict=True):
            files = then.get(day, [])
            result = PublishResult(current, after.snapshot_id, tuple(f.file_path for f in files),
                                   sum(f.record_count for f in files))
            job.published(result)
            _record_day(lake, table, plan.table, day, files, result.snapshot_after, run_id, day in recorded)
