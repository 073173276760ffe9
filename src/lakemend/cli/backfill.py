"""The commands that carry out a backfill plan: the runbook's three procedures (``backfill bronze``,
``rebuild silver``, ``refresh gold``), ``repair`` (the backfills that fix gaps, late data, stale
partitions) and ``runs resume`` (an interrupted backfill, rerun)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from lakemend.cli import context
from lakemend.cli import options as opt
from lakemend.cli.output import (
    Output,
    diff_json,
    plan_json,
    print_diff,
    print_plan,
    print_schema_change,
    schema_change_json,
    with_progress,
)
from lakemend.errors import UsageError

if TYPE_CHECKING:
    from lakemend.iceberg.catalog import SchemaChange
    from lakemend.lake import Lake
    from lakemend.ops.plans import BackfillPlan

backfill_app = typer.Typer(help="Reprocess raw landing data into bronze (runbook: Bronze Layer Backfill).", no_args_is_help=True)
rebuild_app = typer.Typer(help="Rebuild silver tables from bronze (runbook: Silver Layer Rebuild).", no_args_is_help=True)
refresh_app = typer.Typer(help="Refresh gold tables from silver (runbook: Gold Layer Refresh).", no_args_is_help=True)


def run_procedure(command: str, layer: str, name: str, date: str | None, start: str | None, end: str | None,
                  dry_run: bool, downstream: bool, reason: str | None, max_parallel: int | None, force: bool,
                  wait: float | None, output: str | None, allow_schema_change: bool = False) -> None:
    from lakemend.dates import resolve_days
    from lakemend.ops.backfill import make_plan

    out = context.output(output)
    days = resolve_days(date, start, end)
    lake = context.open_lake()
    plan = make_plan(lake, command=command, layer=layer, name=name, days=days, downstream=downstream)
    carry_out(lake, plan, out, dry_run=dry_run, reason=reason, max_parallel=max_parallel, force=force, wait=wait,
              allow_schema_change=allow_schema_change)


def carry_out(lake: Lake, plan: BackfillPlan, out: Output, *, dry_run: bool, reason: str | None,
              max_parallel: int | None, force: bool, wait: float | None, allow_schema_change: bool = False) -> None:
    """Print the plan; then either the dry-run diff, or apply it with a progress bar (exit 1 on failure)."""
    from lakemend.ops.backfill import ApplyOptions, apply
    from lakemend.ops.backfill import dry_run as preview
    from lakemend.ops.runner import default_parallelism

    if dry_run:
        print_plan(plan, out)
        changes = []

        def on_schema(change: SchemaChange) -> None:
            changes.append(change)
            print_schema_change(change, allow_schema_change, out)

        diffs = preview(lake, plan, on_diff=lambda diff: print_diff(diff, out), on_schema=on_schema)
        out.document({"plan": plan_json(plan), "schema_changes": [schema_change_json(c, allow_schema_change) for c in changes],
                      "diffs": [diff_json(d) for d in diffs], "written": False})
        out.text("[bold]Dry run:[/] nothing was written.")
        return
    why = context.resolve_reason(reason, out)
    print_plan(plan, out)
    if not plan.todo:
        out.document({"plan": plan_json(plan), "run_id": None, "jobs": [], "message": "Nothing to do."})
        out.text("Nothing to do.")
        return
    options = ApplyOptions(reason=why, max_parallel=max_parallel or default_parallelism(), force=force,
                           wait_seconds=wait or 0.0, allow_schema_change=allow_schema_change)
    report = with_progress(len(plan.todo), out, lambda hook: apply(lake, plan, options, on_event=hook))
    if report.failed:
        raise typer.Exit(1)


@backfill_app.command("bronze")
def backfill_bronze(
    source: Annotated[str, typer.Argument(help="Source name from lakemend.yaml, or all.")],
    day: Annotated[Optional[str], typer.Argument(metavar="[DATE]", help="Day to reprocess, YYYY-MM-DD (or use --date / --start --end).")] = None,
    date: opt.Date = None, start: opt.Start = None, end: opt.End = None, dry_run: opt.DryRun = False,
    downstream: opt.Downstream = False, reason: opt.Reason = None, max_parallel: opt.MaxParallel = None,
    force: opt.Force = False, yes: opt.Yes = False, wait: opt.Wait = None, output: opt.Output = None,
    allow_schema_change: opt.AllowSchemaChange = False,
) -> None:
    """Reprocess one source's landing files for a day (or range) into bronze; other days are untouched.

    Example: [bold]lakemend backfill bronze hubspot 2025-10-26 --reason "CRM export re-sent"[/]
    """
    if day and date:
        raise UsageError("give the day once: as DATE or as --date", "e.g. lakemend backfill bronze orders 2025-10-26")
    run_procedure("backfill bronze", "bronze", source, day or date, start, end, dry_run, downstream, reason,
                  max_parallel, force, wait, output, allow_schema_change)


@rebuild_app.command("silver")
def rebuild_silver(
    table: Annotated[str, typer.Option("--table", help="Silver table (e.g. orders_clean), or all.")],
    date: opt.Date = None, start: opt.Start = None, end: opt.End = None, dry_run: opt.DryRun = False,
    downstream: opt.Downstream = False, reason: opt.Reason = None, max_parallel: opt.MaxParallel = None,
    force: opt.Force = False, yes: opt.Yes = False, wait: opt.Wait = None, output: opt.Output = None,
    allow_schema_change: opt.AllowSchemaChange = False,
) -> None:
    """Rebuild silver partitions from bronze: clean, deduplicate, validate against the contract, publish.

    Example: [bold]lakemend rebuild silver --table orders_clean --date 2025-10-26 --dry-run[/]
    """
    run_procedure("rebuild silver", "silver", table, date, start, end, dry_run, downstream, reason, max_parallel,
                  force, wait, output, allow_schema_change)


@refresh_app.command("gold")
def refresh_gold(
    table: Annotated[str, typer.Option("--table", help="Gold table (e.g. customer_orders), or all.")],
    date: opt.Date = None, start: opt.Start = None, end: opt.End = None, dry_run: opt.DryRun = False,
    downstream: opt.Downstream = False, reason: opt.Reason = None, max_parallel: opt.MaxParallel = None,
    force: opt.Force = False, yes: opt.Yes = False, wait: opt.Wait = None, output: opt.Output = None,
    allow_schema_change: opt.AllowSchemaChange = False,
) -> None:
    """Refresh gold partitions from silver: business logic, enrichment, PII masking, publish.

    Example: [bold]lakemend refresh gold --table customer_orders --date 2025-10-26[/]
    """
    run_procedure("refresh gold", "gold", table, date, start, end, dry_run, downstream, reason, max_parallel,
                  force, wait, output, allow_schema_change)


def repair(
    missing: Annotated[bool, typer.Option("--missing", help="Build the partitions `lakemend gaps` lists.")] = False,
    late_data: Annotated[bool, typer.Option("--late", help="Rebuild the days `lakemend late` lists, their dependants and any partition still stale.")] = False,
    stale: Annotated[bool, typer.Option("--stale", help="Rebuild the partitions `lakemend status` shows stale: inputs, landing files or code changed.")] = False,
    dry_run: opt.DryRun = False, reason: opt.Reason = None, max_parallel: opt.MaxParallel = None,
    force: opt.Force = False, yes: opt.Yes = False, output: opt.Output = None,
    allow_schema_change: opt.AllowSchemaChange = False,
) -> None:
    """Plan and run the backfills that fix gaps, late data or stale partitions, in dependency order.

    Stale is decided from storage truth (fingerprints, input days' files, code), the same way for
    --late, --stale, `late` and `status`: rerun after an interruption and it plans what is left.
    Example: [bold]lakemend repair --missing --dry-run[/]
    """
    from lakemend.ops.plans import plan_backfill
    from lakemend.ops.recovery import find_gaps, find_late, find_stale

    out = context.output(output)
    if not (missing or late_data or stale):
        raise UsageError("say what to repair", "pass --missing, --late and/or --stale")
    lake = context.open_lake()
    targets: dict = defaultdict(set)
    if missing:
        for gap in find_gaps(lake, lake.project.ordered):
            day = gap.start
            while day <= gap.end:
                targets[gap.table].add(day)
                day = day.fromordinal(day.toordinal() + 1)
    if late_data:  # the late landing days and every partition still stale, e.g. what a killed repair left
        found, rest = find_late(lake)
        for item in found:
            targets[item.table].add(item.day)
        for table, days in rest.items():
            targets[table] |= days
    if stale:
        for table, days in find_stale(lake).items():
            targets[table] |= days
    kinds = [k for k, on in (("missing", missing), ("late", late_data), ("stale", stale)) if on]
    if not targets:
        message = f"Nothing to repair ({', '.join(kinds)})."
        out.document({"repair": kinds, "plan": None, "message": message})
        out.text(message)
        return
    ordered = {t.qualified: targets[t.qualified] for t in lake.project.ordered if t.qualified in targets}
    plan = plan_backfill(lake, command="repair", layer="all", targets=ordered, downstream=True,
                         args={"repair": kinds})
    carry_out(lake, plan, out, dry_run=dry_run, reason=reason, max_parallel=max_parallel, force=force, wait=None,
              allow_schema_change=allow_schema_change)


def runs_resume(
    run_id: Annotated[str, typer.Argument(help="The run to resume (see lakemend runs).")],
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (default: the original run's reason).")] = None,
    max_parallel: opt.MaxParallel = None,
    force: opt.Force = False,
    output: opt.Output = None,
) -> None:
    """Rerun an interrupted backfill with its original arguments; published days are kept.

    Example: [bold]lakemend runs resume 20251026T031500-a1b2c3[/]
    """
    context.output(output)
    lake = context.open_lake()
    record = lake.state.get_run(run_id)
    if record is None:
        raise UsageError(f"no run {run_id!r} in the ledger", "see lakemend runs")
    args = record["args"] or {}
    if "plan_key" not in args:
        raise UsageError(f"run {run_id} is a {record['command']!r} run, not a backfill", "rerun lakemend run with the same days instead")
    if record["status"] == "succeeded":
        raise UsageError(f"run {run_id} already succeeded", "nothing to resume")
    later = lake.state.later_success(args["plan_key"], record["started_at"])
    if later:
        raise UsageError(f"run {run_id} was completed by run {later}", "nothing to resume")
    days = args["days"]
    run_procedure(record["command"], args["layer"], args["name"], None, days[0], days[-1], False, args["downstream"],
                  reason or record["reason"], max_parallel, force, None, output, bool(args.get("allow_schema_change")))
