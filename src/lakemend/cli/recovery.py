"""Recovery commands: find what is wrong (gaps, late, verify) and take a partition or a table back
(quarantine, rollback). ``repair``, which rebuilds, is with the other backfills."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Optional

import typer

from lakemend.cli import context
from lakemend.cli import options as opt
from lakemend.cli.output import Output, diff_json, print_diff, progress_bar


def gaps(
    table: opt.Table = None,
    start: opt.Start = None,
    end: opt.End = None,
    output: opt.Output = None,
) -> None:
    """Missing partitions per table, as day ranges (expected: landing days for bronze, the inputs' days above).

    A partition whose data files were deleted from storage counts as missing. Reads metadata and
    file listings only; without --start / --end it looks at every expected day.
    Example: [bold]lakemend gaps --table bronze.orders[/]
    """
    from lakemend.dates import parse_day
    from lakemend.ops.recovery import find_gaps

    out = context.output(output)
    lake = context.open_lake()
    found = find_gaps(lake, context.tables(lake, table), parse_day(start, "--start") if start else None,
                      parse_day(end, "--end") if end else None)
    out.rows("Missing partitions", ["table", "from", "to", "days"],
             [[g.table, g.start, g.end, (g.end - g.start).days + 1] for g in found])
    if not found:
        out.text("No gaps.")


def late(output: opt.Output = None) -> None:
    """Landing days whose files changed after their bronze build, and the minimal downstream set to rebuild.

    Example: [bold]lakemend late[/]
    """
    from lakemend.ops.recovery import find_late

    out = context.output(output)
    found, downstream = find_late(context.open_lake())
    out.document({"late": [d.__dict__ for d in found],
                  "downstream": {t: sorted(days) for t, days in downstream.items()}})
    out.table("Late landing data", ["table", "day", "new files", "changed", "removed"],
              [[d.table, d.day, len(d.new), len(d.changed), len(d.removed)] for d in found])
    rows = [[t, ", ".join(str(d) for d in sorted(days))] for t, days in downstream.items()]
    if rows:
        out.table("Downstream partitions to rebuild", ["table", "days"], rows)
    out.text("Repair with: lakemend repair --late" if found else "No late data.")


def verify(
    table: opt.Table = None,
    date: opt.Date = None,
    start: opt.Start = None,
    end: opt.End = None,
    max_parallel: opt.VerifyParallel = None,
    output: opt.Output = None,
) -> None:
    """Prove published days are sound: files present and readable, counts match metadata, contract, no PII in gold.

    Without --date / --start / --end every published day is checked. Days are read side by side,
    one per core (--max-parallel caps it); a single big day has its columns read side by side.
    Exits 1 with one line per damaged partition. Example: [bold]lakemend verify --table silver.orders_clean[/]
    """
    from lakemend.dates import resolve_days
    from lakemend.ops.verify import verify as run_verify

    out = context.output(output)
    days = resolve_days(date, start, end, required=False) or None
    lake = context.open_lake()
    with progress_bar(out, 0, "verify") as update:
        damage = run_verify(lake, context.tables(lake, table), days, max_parallel=max_parallel,
                            on_day=lambda qualified, day, total: update(advance=1, total=total, description=f"{qualified} {day}"))
    out.document([d.__dict__ for d in damage])
    for item in damage:
        out.problem(f"{item.table} {item.day or '(table)'}: {item.reason}")
    if damage:
        raise typer.Exit(1)
    out.text("Verified: no damage found.")


def quarantine(
    table: opt.RequiredTable,
    date: Annotated[str, typer.Option("--date", help="The damaged day, YYYY-MM-DD.")],
    reason: opt.Reason = None,
    yes: opt.Yes = False,
    output: opt.Output = None,
) -> None:
    """Take a damaged partition out of the published table (restorable through its pre-<run_id> tag).

    The day is marked damaged (`lakemend gaps` lists it, `repair --missing` rebuilds it) and its
    dependants stale. Example: [bold]lakemend quarantine --table silver.orders_clean --date 2025-10-24 --reason "truncated file"[/]
    """
    from lakemend.dates import parse_day
    from lakemend.ops.partition_ops import apply_quarantine, plan_quarantine

    out = context.output(output)
    lake = context.open_lake()
    plan = plan_quarantine(lake, lake.project.find_table(table), parse_day(date))

    def show(target: Output) -> None:
        if plan.committed is not None:
            target.text(f"Quarantine {plan.table} {plan.day}: run {plan.committed.run_id} took its {plan.rows} rows in "
                        f"{plan.files} file(s) out of the table (snapshot {plan.committed.snapshot_id}; restore point: "
                        f"snapshot {plan.snapshot}) and was stopped before recording it; it is recorded now.")
        else:
            target.text(f"Quarantine {plan.table} {plan.day}: {plan.rows} rows in {plan.files} file(s) leave the table "
                        f"(its current snapshot {plan.snapshot} is tagged first, as a restore point named after the run).")
        if plan.dependants:
            target.text(f"Dependants it marks stale (rebuild them after with lakemend repair --stale): "
                        f"{_days_by_table(plan.dependants)}.")

    def document(run_id: str | None, message: str) -> None:
        out.document({"table": plan.table, "day": plan.day, "rows": plan.rows, "files": plan.files,
                      "snapshot": plan.snapshot, "dependants": [{"table": t, "day": d} for t, d in plan.dependants],
                      "run_id": run_id, "quarantined": run_id is not None, "message": message})

    show(out)
    why = context.resolve_reason(reason, out)
    # recording what a killed quarantine already published changes no data: only a new one asks
    if plan.committed is None and not context.confirm_destructive("Quarantine this partition?", yes, out, show_plan=show):
        document(None, "Nothing quarantined.")
        raise typer.Exit(1)
    run_id = apply_quarantine(lake, plan, why)
    tagged_by = run_id if plan.committed is None else plan.committed.run_id
    message = f"Quarantined {plan.table} {plan.day} (run {run_id}; {restore_point(lake, plan.table, tagged_by)})."
    document(run_id, message)
    out.text(message)


def rollback(
    table: opt.RequiredTable,
    to: Annotated[str, typer.Option("--to", help="Snapshot id, tag (e.g. pre-<run_id>) or timestamp.")],
    date: Annotated[Optional[str], typer.Option("--date", help="Only this day (default: the whole table).")] = None,
    reason: opt.Reason = None,
    yes: opt.Yes = False,
    output: opt.Output = None,
) -> None:
    """Restore a table (or one day) to an earlier snapshot, tag or time — after showing the diff.

    The target must be an ancestor of the current state. Behind a new restore point, each changed day
    is re-published from the target's own files (no data rewritten); with engine spark and no --date,
    main is moved to the target by Iceberg's rollback_to_snapshot / set_current_snapshot procedures.
    Dependants are marked stale. List a table's restore points: lakemend tags TABLE.
    Example: [bold]lakemend rollback --table silver.orders_clean --to pre-20251026T031500-a1b2c3[/]
    """
    from lakemend.dates import parse_day
    from lakemend.ops.partition_ops import apply_rollback, plan_rollback

    out = context.output(output)
    lake = context.open_lake()
    plan = plan_rollback(lake, lake.project.find_table(table), to, parse_day(date) if date else None)

    recorded = [left.day for left in plan.unrecorded]

    def show(target: Output) -> None:
        target.text(f"Roll back {plan.table} to {plan.target_label} ({plan.target}): {len(plan.days)} day(s) change.")
        for diff in plan.diffs:
            print_diff(diff, target)
        if recorded:
            target.text(f"Already at the target (published by an interrupted rollback, not yet recorded): "
                        f"{', '.join(str(d) for d in recorded)}.")
        if plan.built_again:
            target.text(f"Back as built before their quarantine (nothing to rebuild): "
                        f"{', '.join(str(d) for d in plan.built_again)}.")
        if plan.unbuilt:
            target.text(f"Back without a build record (stale until rebuilt: lakemend repair --stale): "
                        f"{', '.join(str(d) for d in plan.unbuilt)}.")
        if plan.dependants:
            target.text(f"Dependants it marks stale (rebuild them after with lakemend repair --stale): "
                        f"{_days_by_table(plan.dependants)}.")

    def document(run_id: str | None, message: str) -> None:
        out.document({"table": plan.table, "target": plan.target, "days": plan.days, "recorded": recorded,
                      "built_again": plan.built_again, "unbuilt": plan.unbuilt,
                      "diffs": [diff_json(d) for d in plan.diffs], "dependants": plan.dependants,
                      "run_id": run_id, "rolled_back": run_id is not None, "message": message})

    show(out)
    if not plan.days and not recorded:
        message = "Nothing to roll back: the table already matches the target."
        document(None, message)
        out.text(message)
        return
    why = context.resolve_reason(reason, out)
    # recording what is already published changes no data: only a plan with days to change asks
    if plan.days and not context.confirm_destructive("Roll back?", yes, out, show_plan=show):
        document(None, "Nothing rolled back.")
        raise typer.Exit(1)
    run_id = apply_rollback(lake, plan, why)
    also = f"; recorded {len(recorded)} day(s) an interrupted rollback had published" if recorded else ""
    message = (f"Rolled back {len(plan.days)} day(s) of {plan.table} "
               f"(run {run_id}; {restore_point(lake, plan.table, run_id)}){also}.")
    document(run_id, message)
    out.text(message)


def _days_by_table(entries: Sequence[tuple[str, dt.date]], listed: int = 6) -> str:
    """``table day`` pairs, each listed when there are few, else per table: how many days, first … last."""
    if len(entries) <= listed:
        return ", ".join(f"{table} {day}" for table, day in entries)
    by_table: dict[str, list[dt.date]] = {}
    for table, day in entries:
        by_table.setdefault(table, []).append(day)
    return ", ".join(f"{table} {len(days)} day(s) {min(days)} … {max(days)}" if len(days) > 1 else f"{table} {days[0]}"
                     for table, days in by_table.items())


def restore_point(lake, table: str, run_id: str) -> str:  # noqa: ANN001 - Lake, imported lazily
    """The run's restore point as it is in the table's metadata — never a tag that was not made."""
    from lakemend.iceberg.publish import restore_tag

    tag = restore_tag(run_id)
    current = lake.table(table)
    if current is not None and tag in current.metadata.refs:
        return f"restore point tag {tag}: lakemend rollback --table {table} --to {tag}"
    return "no restore point tag was needed"
