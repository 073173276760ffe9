"""Recovery commands: gaps, late, verify, repair."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lakemend.errors import UsageError
from lakemend.output import console, emit_json, emit_table, error

OutputOpt = Annotated[Optional[str], typer.Option("--output", "-o", help="text or json.")]
TableOpt = Annotated[Optional[str], typer.Option("--table", help="layer.table (default: every table).")]


def _tables(lake, table: str | None):  # noqa: ANN001, ANN202
    if not table:
        return lake.project.ordered
    if "." not in table:
        matches = [t for t in lake.project.tables if t.split(".", 1)[1] == table]
        table = matches[0] if len(matches) == 1 else table
    return [lake.project.table(table)]


def gaps(
    table: TableOpt = None,
    start: Annotated[Optional[str], typer.Option("--start", help="First day to look at.")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="Last day to look at.")] = None,
    output: OutputOpt = None,
) -> None:
    """Missing partitions per table, as day ranges (expected: landing days for bronze, the inputs' days above).

    A partition whose data files were deleted from storage counts as missing. Reads metadata and
    file listings only. Example: [bold]lakemend gaps --table bronze.orders[/]
    """
    from lakemend.cli.app import _lake, _output
    from lakemend.dates import parse_day
    from lakemend.ops.recovery import find_gaps

    lake = _lake()
    found = find_gaps(lake, _tables(lake, table), parse_day(start, "--start") if start else None,
                      parse_day(end, "--end") if end else None)
    rows = [[g.table, g.start, g.end, (g.end - g.start).days + 1] for g in found]
    emit_table("Missing partitions", ["table", "from", "to", "days"], rows, _output(output))
    if not found and _output(output) == "text":
        console.print("No gaps.")


def late(output: OutputOpt = None) -> None:
    """Landing days whose files changed after their bronze build, and the minimal downstream set to rebuild.

    Example: [bold]lakemend late[/]
    """
    from lakemend.cli.app import _lake, _output
    from lakemend.ops.recovery import find_late

    lake = _lake()
    found, downstream = find_late(lake)
    fmt = _output(output)
    if fmt == "json":
        emit_json({"late": [d.__dict__ for d in found],
                   "downstream": {t: sorted(days) for t, days in downstream.items()}})
        return
    emit_table("Late landing data", ["table", "day", "new files", "changed", "removed"],
               [[d.table, d.day, len(d.new), len(d.changed), len(d.removed)] for d in found], fmt)
    rows = [[t, ", ".join(str(d) for d in sorted(days))] for t, days in downstream.items()]
    if rows:
        emit_table("Downstream partitions to rebuild", ["table", "days"], rows, fmt)
    console.print("Repair with: lakemend repair --late" if found else "No late data.")


def verify(
    table: TableOpt = None,
    date: Annotated[Optional[str], typer.Option("--date", help="One day.")] = None,
    start: Annotated[Optional[str], typer.Option("--start", help="First day.")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="Last day.")] = None,
    output: OutputOpt = None,
) -> None:
    """Prove published days are sound: files present and readable, counts match metadata, contract, no PII in gold.

    Exits 1 with one line per damaged partition. Example: [bold]lakemend verify --table silver.orders_clean[/]
    """
    from lakemend.cli.app import _lake, _output
    from lakemend.dates import resolve_days
    from lakemend.ops.recovery import verify as run_verify

    days = resolve_days(date, start, end, required=False) or None
    lake = _lake()
    damage = run_verify(lake, _tables(lake, table), days)
    fmt = _output(output)
    if fmt == "json":
        emit_json([d.__dict__ for d in damage])
    else:
        for item in damage:
            error(f"{item.table} {item.day or '(table)'}: {item.reason}")
        if not damage:
            console.print("Verified: no damage found.")
    if damage:
        raise typer.Exit(1)


def repair(
    missing: Annotated[bool, typer.Option("--missing", help="Build the partitions `lakemend gaps` lists.")] = False,
    late_data: Annotated[bool, typer.Option("--late", help="Rebuild the days `lakemend late` lists, and their dependants.")] = False,
    stale: Annotated[bool, typer.Option("--stale", help="Rebuild partitions whose inputs or code changed.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and the row-level diff; write nothing.")] = False,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (else $LAKEMEND_REASON or a prompt).")] = None,
    max_parallel: Annotated[Optional[int], typer.Option("--max-parallel", min=1)] = None,
    force: Annotated[bool, typer.Option("--force", help="Run even on paused tables.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Accepted for uniform scripting.")] = False,
    output: OutputOpt = None,
) -> None:
    """Plan and run the backfills that fix gaps, late data or stale partitions, in dependency order.

    Example: [bold]lakemend repair --missing --dry-run[/]
    """
    from collections import defaultdict

    from lakemend.cli.app import _lake
    from lakemend.cli.backfill import carry_out
    from lakemend.ops.plans import plan_backfill
    from lakemend.ops.recovery import find_gaps, find_late, find_stale

    if not (missing or late_data or stale):
        raise UsageError("say what to repair", "pass --missing, --late and/or --stale")
    lake = _lake()
    targets: dict = defaultdict(set)
    if missing:
        for gap in find_gaps(lake, lake.project.ordered):
            day = gap.start
            while day <= gap.end:
                targets[gap.table].add(day)
                day = day.fromordinal(day.toordinal() + 1)
    if late_data:
        for item in find_late(lake)[0]:
            targets[item.table].add(item.day)
    if stale:
        for table, days in find_stale(lake).items():
            targets[table] |= days
    kinds = [k for k, on in (("missing", missing), ("late", late_data), ("stale", stale)) if on]
    if not targets:
        console.print(f"Nothing to repair ({', '.join(kinds)}).")
        return
    ordered = {t.qualified: targets[t.qualified] for t in lake.project.ordered if t.qualified in targets}
    plan = plan_backfill(lake, command="repair", layer="all", targets=ordered, downstream=True,
                         args={"repair": kinds})
    carry_out(lake, plan, dry_run=dry_run, reason=reason, max_parallel=max_parallel, force=force, wait=None, output=output)


def confirm_destructive(question: str, yes: bool) -> None:
    """Destructive commands ask, default No; --yes skips the question; no terminal and no --yes: refuse."""
    import sys

    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("this command changes published data and there is no terminal to confirm on",
                         "rerun with --yes once you have read the plan")
    if not typer.confirm(question, default=False):
        raise typer.Exit(1)


def quarantine(
    table: Annotated[str, typer.Option("--table", help="layer.table (or a unique table name).")],
    date: Annotated[str, typer.Option("--date", help="The damaged day, YYYY-MM-DD.")],
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (else $LAKEMEND_REASON or a prompt).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Take a damaged partition out of the published table (restorable through its pre-<run_id> tag).

    The day is marked damaged (`lakemend gaps` lists it, `repair --missing` rebuilds it) and its
    dependants stale. Example: [bold]lakemend quarantine --table silver.orders_clean --date 2025-10-24 --reason "truncated file"[/]
    """
    from lakemend.ops.backfill import resolve_reason
    from lakemend.cli.app import _lake
    from lakemend.dates import parse_day
    from lakemend.ops.partition_ops import apply_quarantine, plan_quarantine

    lake = _lake()
    spec = _tables(lake, table)[0]
    plan = plan_quarantine(lake, spec, parse_day(date))
    console.print(f"Quarantine {plan.table} {plan.day}: {plan.rows} rows in {plan.files} file(s) leave the table "
                  f"(snapshot {plan.snapshot} is tagged pre-<run_id> first).")
    if plan.dependants:
        console.print("Marked stale: " + ", ".join(f"{t} {d}" for t, d in plan.dependants))
    why = resolve_reason(reason)
    confirm_destructive("Quarantine this partition?", yes)
    run_id = apply_quarantine(lake, plan, why)
    console.print(f"Quarantined {plan.table} {plan.day} (run {run_id}; restore point tag pre-{run_id}).")


def rollback(
    table: Annotated[str, typer.Option("--table", help="layer.table (or a unique table name).")],
    to: Annotated[str, typer.Option("--to", help="Snapshot id, tag (e.g. pre-<run_id>) or timestamp.")],
    date: Annotated[Optional[str], typer.Option("--date", help="Only this day (default: the whole table).")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (else $LAKEMEND_REASON or a prompt).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    output: OutputOpt = None,
) -> None:
    """Restore a table (or one day) to an earlier snapshot, tag or time — after showing the diff.

    The target must be an ancestor of the current state. Each changed day is re-published from the
    target's own files behind a new restore point; dependants are marked stale.
    Example: [bold]lakemend rollback --table silver.orders_clean --to pre-20251026T031500-a1b2c3[/]
    """
    from lakemend.ops.backfill import resolve_reason
    from lakemend.cli.app import _lake, _output
    from lakemend.cli.backfill import _print_diff
    from lakemend.dates import parse_day
    from lakemend.ops.partition_ops import apply_rollback, plan_rollback

    lake = _lake()
    spec = _tables(lake, table)[0]
    plan = plan_rollback(lake, spec, to, parse_day(date) if date else None)
    fmt = _output(output)
    if fmt == "json":
        emit_json({"table": plan.table, "target": plan.target, "days": plan.days,
                   "diffs": [d.__dict__ for d in plan.diffs], "dependants": plan.dependants})
    else:
        console.print(f"Roll back {plan.table} to {plan.target_label} ({plan.target}): {len(plan.days)} day(s) change.")
        for diff in plan.diffs:
            _print_diff(diff)
    if not plan.days:
        console.print("Nothing to roll back: the table already matches the target.")
        return
    why = resolve_reason(reason)
    confirm_destructive("Roll back?", yes)
    run_id = apply_rollback(lake, plan, why)
    console.print(f"Rolled back {len(plan.days)} day(s) of {plan.table} (run {run_id}; restore point tag pre-{run_id}).")
