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
    from lakemend.cli import _lake, _output
    from lakemend.dates import parse_day
    from lakemend.recovery import find_gaps

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
    from lakemend.cli import _lake, _output
    from lakemend.recovery import find_late

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
    from lakemend.cli import _lake, _output
    from lakemend.dates import resolve_days
    from lakemend.recovery import verify as run_verify

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

    from lakemend.cli import _lake
    from lakemend.cli_backfill import carry_out
    from lakemend.plans import plan_backfill
    from lakemend.recovery import find_gaps, find_late, find_stale

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
