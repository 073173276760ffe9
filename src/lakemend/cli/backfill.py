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
    to_json,
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


def run_procedure(command: str, layer: str, names: str | list[str], date: str | None, start: str | None, end: str | None,
                  dry_run: bool, downstream: bool, reason: str | None, max_parallel: int | None, force: bool,
                  wait: float | None, output: str | None, allow_schema_change: bool = False, yes: bool = False,
                  batch_days: int | None = None) -> None:
    from lakemend.dates import resolve_days

    out = context.output(output)
    days = resolve_days(date, start, end)
    lake = context.open_lake(read_only=dry_run)
    plan = plan_procedure(lake, command, layer, [names] if isinstance(names, str) else list(names), days, downstream)
    carry_out(lake, plan, out, dry_run=dry_run, reason=reason, max_parallel=max_parallel, force=force, wait=wait,
              allow_schema_change=allow_schema_change, yes=yes, batch_days=batch_days)


def plan_procedure(lake: Lake, command: str, layer: str, names: list[str], days: list, downstream: bool) -> BackfillPlan:
    """The plan of one procedure over every table named (a repeated ``--table`` is honoured each
    time; the names are stored joined by commas so that ``runs resume`` plans the same tables)."""
    from lakemend.ops.backfill import make_plan, target_tables
    from lakemend.ops.plans import plan_backfill

    names = [n for name in names for n in name.split(",") if n] or names
    if len(names) == 1:
        return make_plan(lake, command=command, layer=layer, name=names[0], days=days, downstream=downstream)
    if "all" in names:
        raise UsageError(f"--table all selects every {layer} table", "give all alone, or name the tables")
    chosen = {t.qualified for name in names for t in target_tables(lake, layer, name)}
    tables = [t.qualified for t in lake.project.ordered if t.qualified in chosen]
    args = {"layer": layer, "name": ",".join(names), "days": [d.isoformat() for d in days], "downstream": downstream}
    return plan_backfill(lake, command=command, layer=layer, targets={t: set(days) for t in tables},
                         downstream=downstream, args=args)


def carry_out(lake: Lake, plan: BackfillPlan, out: Output, *, dry_run: bool, reason: str | None,
              max_parallel: int | None, force: bool, wait: float | None, allow_schema_change: bool = False,
              yes: bool = False, batch_days: int | None = None) -> None:
    """Print the plan; then either the dry-run diff, or — after "Apply? [y/N]" on a terminal
    (``context.confirm_apply``) — apply it with a progress bar (exit 1 on failure or a "no")."""
    from lakemend.ops.backfill import ApplyOptions, apply
    from lakemend.ops.backfill import dry_run as preview
    from lakemend.ops.runner import DEFAULT_BATCH_DAYS, default_parallelism

    if dry_run and lake.project.config.engine == "emr-serverless":  # the StartJobRun requests; nothing is called
        from lakemend.ops.remote import planned_requests
        from lakemend.ops.runner import new_run_id

        print_plan(plan, out)
        requests = planned_requests(lake.project, [(p.table, p.day) for p in plan.todo], run_id=new_run_id(),
                                    command=plan.command, reason=reason)
        out.document({"plan": plan_json(plan), "start_job_run_requests": requests, "written": False})
        out.text(f"StartJobRun requests ({len(requests)}, one per table and run of days; the run id is this preview's):")
        if not out.is_json:
            out.raw(to_json(requests) + "\n")
        out.text("[bold]Dry run:[/] nothing was sent to EMR Serverless and nothing was written.")
        return
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
    if not force:  # a paused table refuses before the plan is shown, not after it (a dry run is never refused)
        from lakemend.ops.backfill import check_not_paused_plan

        check_not_paused_plan(lake, plan)
    why = context.resolve_reason(reason, out)
    print_plan(plan, out)
    if not plan.todo:
        out.document({"plan": plan_json(plan), "run_id": None, "jobs": [], "message": "Nothing to do."})
        out.text("Nothing to do.")
        return
    if not context.confirm_apply(yes, out):
        out.document({"plan": plan_json(plan), "run_id": None, "jobs": [], "message": "Nothing changed."})
        raise typer.Exit(1)
    options = ApplyOptions(reason=why, max_parallel=max_parallel or default_parallelism(), force=force,
                           wait_seconds=wait or 0.0, allow_schema_change=allow_schema_change,
                           batch_days=batch_days or DEFAULT_BATCH_DAYS)
    report = with_progress(len(plan.todo), out, lambda hook: apply(lake, plan, options, on_event=hook))
    if report.failed:
        raise typer.Exit(1)


@backfill_app.command("bronze")
def backfill_bronze(
    source: Annotated[str, typer.Argument(help="Source name from lakemend.yaml, or all.")],
    day: Annotated[Optional[str], typer.Argument(metavar="[DATE]", help="Day to reprocess, YYYY-MM-DD (or use --date / --start --end).")] = None,
    date: opt.Date = None, start: opt.Start = None, end: opt.End = None, dry_run: opt.DryRun = False,
    downstream: opt.Downstream = False, reason: opt.Reason = None, max_parallel: opt.MaxParallel = None,
    batch_days: opt.BatchDays = None, force: opt.Force = False, yes: opt.Yes = False, wait: opt.Wait = None,
    output: opt.Output = None,
    allow_schema_change: opt.AllowSchemaChange = False,
) -> None:
    """Reprocess one source's landing files for a day (or range) into bronze; other days are untouched.

    Example: [bold]lakemend backfill bronze hubspot 2025-10-26 --reason "CRM export re-sent"[/]
    """
    if day and date:
        raise UsageError("give the day once: as DATE or as --date", "e.g. lakemend backfill bronze orders 2025-10-26")
    run_procedure("backfill bronze", "bronze", source, day or date, start, end, dry_run, downstream, reason,
                  max_parallel, force, wait, output, allow_schema_change, yes, batch_days)


@rebuild_app.command("silver")
def rebuild_silver(
    table: Annotated[list[str], typer.Option(
        "--table", metavar="TABLE", help="Silver table (e.g. orders_clean), or all; repeatable.")],
    date: opt.Date = None, start: opt.Start = None, end: opt.End = None, dry_run: opt.DryRun = False,
    downstream: opt.Downstream = False, reason: opt.Reason = None, max_parallel: opt.MaxParallel = None,
    batch_days: opt.BatchDays = None, force: opt.Force = False, yes: opt.Yes = False, wait: opt.Wait = None,
    output: opt.Output = None,
    allow_schema_change: opt.AllowSchemaChange = False,
) -> None:
    """Rebuild silver partitions from bronze: clean, deduplicate, validate against the contract, publish.

    Example: [bold]lakemend rebuild silver --table orders_clean --date 2025-10-26 --dry-run[/]
    """
    run_procedure("rebuild silver", "silver", table, date, start, end, dry_run, downstream, reason, max_parallel,
                  force, wait, output, allow_schema_change, yes, batch_days)


@refresh_app.command("gold")
def refresh_gold(
    table: Annotated[list[str], typer.Option(
        "--table", metavar="TABLE", help="Gold table (e.g. customer_orders), or all; repeatable.")],
    date: opt.Date = None, start: opt.Start = None, end: opt.End = None, dry_run: opt.DryRun = False,
    downstream: opt.Downstream = False, reason: opt.Reason = None, max_parallel: opt.MaxParallel = None,
    batch_days: opt.BatchDays = None, force: opt.Force = False, yes: opt.Yes = False, wait: opt.Wait = None,
    output: opt.Output = None,
    allow_schema_change: opt.AllowSchemaChange = False,
) -> None:
    """Refresh gold partitions from silver: business logic, enrichment, PII masking, publish.

    Example: [bold]lakemend refresh gold --table customer_orders --date 2025-10-26[/]
    """
    run_procedure("refresh gold", "gold", table, date, start, end, dry_run, downstream, reason, max_parallel,
                  force, wait, output, allow_schema_change, yes, batch_days)


def repair(
    missing: Annotated[bool, typer.Option("--missing", help="Build the partitions `lakemend gaps` lists.")] = False,
    late_data: Annotated[bool, typer.Option("--late", help="Rebuild the days `lakemend late` lists, their dependants and any partition still stale.")] = False,
    stale: Annotated[bool, typer.Option("--stale", help="Rebuild the partitions `lakemend status` shows stale: inputs, landing files or code changed.")] = False,
    dry_run: opt.DryRun = False, reason: opt.Reason = None, max_parallel: opt.MaxParallel = None,
    batch_days: opt.BatchDays = None, force: opt.Force = False, yes: opt.Yes = False, output: opt.Output = None,
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
    lake = context.open_lake(read_only=dry_run)
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
              allow_schema_change=allow_schema_change, yes=yes, batch_days=batch_days)


def runs_resume(
    run_id: Annotated[str, typer.Argument(help="The run to resume (see lakemend runs).")],
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (default: the original run's reason).")] = None,
    max_parallel: opt.MaxParallel = None,
    batch_days: opt.BatchDays = None,
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
    run_procedure(record["command"], args["layer"], args["name"].split(","), None, days[0], days[-1], False,
                  args["downstream"], reason or record["reason"], max_parallel, force, None, output,
                  bool(args.get("allow_schema_change")), yes=True, batch_days=batch_days)
