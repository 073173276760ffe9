"""``lakemend backfill bronze`` / ``rebuild silver`` / ``refresh gold``: the runbook's three procedures."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lakemend.errors import UsageError
from lakemend.output import console, emit_json, emit_table

backfill_app = typer.Typer(help="Reprocess raw landing data into bronze (runbook: Bronze Layer Backfill).", no_args_is_help=True)
rebuild_app = typer.Typer(help="Rebuild silver tables from bronze (runbook: Silver Layer Rebuild).", no_args_is_help=True)
refresh_app = typer.Typer(help="Refresh gold tables from silver (runbook: Gold Layer Refresh).", no_args_is_help=True)

DateOpt = Annotated[Optional[str], typer.Option("--date", help="One day, YYYY-MM-DD.")]
StartOpt = Annotated[Optional[str], typer.Option("--start", help="First day of a range (inclusive).")]
EndOpt = Annotated[Optional[str], typer.Option("--end", help="Last day of a range (inclusive).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the plan and the row-level diff; write nothing.")]
DownstreamOpt = Annotated[bool, typer.Option("--downstream", help="Also rebuild every dependant partition (through same / window / upto).")]
ReasonOpt = Annotated[Optional[str], typer.Option("--reason", help="Why (stored in the ledger); else $LAKEMEND_REASON or a prompt.")]
ParallelOpt = Annotated[Optional[int], typer.Option("--max-parallel", min=1, help="Days of one table built at once (default: cores).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Run even on paused tables.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Accepted for uniform scripting; backfills do not ask.")]
WaitOpt = Annotated[Optional[float], typer.Option("--wait", help="Wait up to N seconds for another writer's lease instead of failing.")]
OutputOpt = Annotated[Optional[str], typer.Option("--output", "-o", help="text or json.")]


def _human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _print_plan(plan, output: str) -> None:  # noqa: ANN001
    rows = [
        [p.table, p.day, p.role, "skip (resumed)" if p.resumed else "rebuild",
         "?" if p.reads.rows < 0 else p.reads.rows, _human_bytes(p.reads.bytes), p.now.rows, _human_bytes(p.now.bytes)]
        for p in plan.partitions
    ]
    emit_table(f"Plan: {plan.command} — {len(plan.todo)} partition(s)", ["table", "day", "role", "action", "rows read (est)",
               "bytes read (est)", "rows now", "bytes now"], rows, output)
    if plan.resume_of:
        console.print(f"Resuming run {plan.resume_of}: {len(plan.partitions) - len(plan.todo)} partition(s) it published are kept.")
    tags = ", ".join(f"{t} @ {s}" for t, s in plan.restore_points)
    console.print(f"Restore point: each table's current snapshot is tagged pre-<run_id> before its first publish ({tags}).")


def _print_diff(diff) -> None:  # noqa: ANN001
    head = (f"[bold]{diff.table} {diff.day}[/]: {diff.rows_now} → {diff.rows_new} rows; "
            f"+{diff.added} added, -{diff.removed} removed, ~{diff.changed} changed")
    if diff.unchanged:
        head += " (no change)"
    console.print(head)
    if diff.column_changes:
        console.print("  changed columns: " + ", ".join(f"{c} ({n})" for c, n in diff.column_changes.items()))
    for sample in diff.samples:
        console.print("  " + "; ".join(f"{k}={v}" for k, v in sample.items()), markup=False)


def run_procedure(command: str, layer: str, name: str, date: str | None, start: str | None, end: str | None,
                  dry_run: bool, downstream: bool, reason: str | None, max_parallel: int | None, force: bool,
                  wait: float | None, output: str | None) -> None:
    from lakemend.ops.backfill import make_plan
    from lakemend.cli.app import _lake
    from lakemend.dates import resolve_days

    days = resolve_days(date, start, end)
    lake = _lake()
    plan = make_plan(lake, command=command, layer=layer, name=name, days=days, downstream=downstream)
    carry_out(lake, plan, dry_run=dry_run, reason=reason, max_parallel=max_parallel, force=force, wait=wait, output=output)


def carry_out(lake, plan, *, dry_run: bool, reason: str | None, max_parallel: int | None, force: bool,  # noqa: ANN001
              wait: float | None, output: str | None) -> None:
    """Print the plan; then either the dry-run diff, or apply it with a progress bar (exit 1 on failure)."""
    from lakemend.ops.backfill import ApplyOptions, apply, dry_run as preview, resolve_reason
    from lakemend.cli.app import _output
    from lakemend.cli.progress import with_progress
    from lakemend.ops.runner import default_parallelism

    fmt = _output(output)
    if dry_run:
        if fmt == "json":
            diffs = preview(lake, plan)
            emit_json({"plan": _plan_json(plan), "diffs": [d.__dict__ for d in diffs], "written": False})
            return
        _print_plan(plan, fmt)
        preview(lake, plan, on_diff=_print_diff)
        console.print("[bold]Dry run:[/] nothing was written.")
        return
    why = resolve_reason(reason)
    if fmt == "text":
        _print_plan(plan, fmt)
    if not plan.todo:
        console.print("Nothing to do.")
        return
    options = ApplyOptions(reason=why, max_parallel=max_parallel or default_parallelism(), force=force,
                           wait_seconds=wait or 0.0)
    report = with_progress(len(plan.todo), fmt, lambda hook: apply(lake, plan, options, on_event=hook))
    if report.failed:
        raise typer.Exit(1)


def _plan_json(plan) -> dict:  # noqa: ANN001
    return {
        "command": plan.command, "tables": plan.tables, "days": plan.days, "downstream": plan.downstream,
        "resume_of": plan.resume_of, "restore_points": [{"table": t, "snapshot_id": s} for t, s in plan.restore_points],
        "partitions": [{"table": p.table, "day": p.day, "role": p.role, "resumed": p.resumed,
                        "rows_read_estimate": p.reads.rows, "bytes_read_estimate": p.reads.bytes,
                        "rows_now": p.now.rows, "bytes_now": p.now.bytes} for p in plan.partitions],
    }


@backfill_app.command("bronze")
def backfill_bronze(
    source: Annotated[str, typer.Argument(help="Source name from lakemend.yaml, or all.")],
    day: Annotated[Optional[str], typer.Argument(metavar="[DATE]", help="Day to reprocess, YYYY-MM-DD (or use --date / --start --end).")] = None,
    date: DateOpt = None, start: StartOpt = None, end: EndOpt = None, dry_run: DryRunOpt = False,
    downstream: DownstreamOpt = False, reason: ReasonOpt = None, max_parallel: ParallelOpt = None,
    force: ForceOpt = False, yes: YesOpt = False, wait: WaitOpt = None, output: OutputOpt = None,
) -> None:
    """Reprocess one source's landing files for a day (or range) into bronze; other days are untouched.

    Example: [bold]lakemend backfill bronze hubspot 2025-10-26 --reason "CRM export re-sent"[/]
    """
    if day and date:
        raise UsageError("give the day once: as DATE or as --date", "e.g. lakemend backfill bronze orders 2025-10-26")
    run_procedure("backfill bronze", "bronze", source, day or date, start, end, dry_run, downstream, reason,
                  max_parallel, force, wait, output)


@rebuild_app.command("silver")
def rebuild_silver(
    table: Annotated[str, typer.Option("--table", help="Silver table (e.g. orders_clean), or all.")],
    date: DateOpt = None, start: StartOpt = None, end: EndOpt = None, dry_run: DryRunOpt = False,
    downstream: DownstreamOpt = False, reason: ReasonOpt = None, max_parallel: ParallelOpt = None,
    force: ForceOpt = False, yes: YesOpt = False, wait: WaitOpt = None, output: OutputOpt = None,
) -> None:
    """Rebuild silver partitions from bronze: clean, deduplicate, validate against the contract, publish.

    Example: [bold]lakemend rebuild silver --table orders_clean --date 2025-10-26 --dry-run[/]
    """
    run_procedure("rebuild silver", "silver", table, date, start, end, dry_run, downstream, reason, max_parallel,
                  force, wait, output)


@refresh_app.command("gold")
def refresh_gold(
    table: Annotated[str, typer.Option("--table", help="Gold table (e.g. customer_orders), or all.")],
    date: DateOpt = None, start: StartOpt = None, end: EndOpt = None, dry_run: DryRunOpt = False,
    downstream: DownstreamOpt = False, reason: ReasonOpt = None, max_parallel: ParallelOpt = None,
    force: ForceOpt = False, yes: YesOpt = False, wait: WaitOpt = None, output: OutputOpt = None,
) -> None:
    """Refresh gold partitions from silver: business logic, enrichment, PII masking, publish.

    Example: [bold]lakemend refresh gold --table customer_orders --date 2025-10-26[/]
    """
    run_procedure("refresh gold", "gold", table, date, start, end, dry_run, downstream, reason, max_parallel,
                  force, wait, output)
