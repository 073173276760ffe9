"""``lakemend vacuum``: the one command that deletes data files — plan, confirm, apply."""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from lakemend.cli import context
from lakemend.cli import options as opt
from lakemend.cli.output import Output

if TYPE_CHECKING:
    from lakemend.ops.vacuum import VacuumPlan, VacuumResult


def vacuum(
    older_than: Annotated[str, typer.Option(
        "--older-than", help="Retention: keep snapshots, restore points and files younger than this (7d, 12h, 30m; 0d keeps only what is current).",
    )] = "7d",
    table: Annotated[Optional[list[str]], typer.Option(
        "--table", help="layer.table or a unique table name; repeatable (default: every table, quarantine included).",
    )] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; expire and delete nothing.")] = False,
    yes: opt.Yes = False,
    output: opt.Output = None,
) -> None:
    """Expire old snapshots and restore points, then delete the files no kept snapshot needs.

    The only command that deletes data files; files younger than the retention are never deleted (a write may be in progress). Asks first (default No); --yes skips the question. Example: [bold]lakemend vacuum --older-than 7d --dry-run[/]
    """
    from lakemend.ops.vacuum import apply_vacuum, parse_retention, plan_vacuum
    from lakemend.units import human_bytes

    out = context.output(output)
    retention = parse_retention(older_than)
    lake = context.open_lake()
    plan = plan_vacuum(lake, retention, table)
    warehouse = str(lake.project.warehouse)
    print_plan(plan, warehouse, out)
    if plan.empty or dry_run:
        _finish(plan, None, out, "Dry run: nothing expired or deleted." if dry_run and not plan.empty else "Nothing to vacuum.")
        return
    action = plan.describe()
    confirmed = context.confirm_destructive(
        f"{action[0].upper()}{action[1:]}? This cannot be undone", yes, out,
        show_plan=lambda person: print_plan(plan, warehouse, person),
        refusal=f"vacuum would {action} and needs a confirmation, but there is no terminal to ask",
        fix="pass --yes to confirm (or --dry-run to only look)")
    if not confirmed:
        _finish(plan, None, out, "Nothing deleted.")
        raise typer.Exit(1)
    result = apply_vacuum(lake, plan)
    _print_result(result, out)
    _finish(plan, result, out, f"Vacuumed: {result.files_deleted} file(s) deleted, {human_bytes(result.bytes_freed)} freed.")


def _finish(plan: VacuumPlan, result: VacuumResult | None, out: Output, message: str) -> None:
    out.document({"plan": plan.to_dict(), "result": result.to_dict() if result else None, "message": message})
    out.text(message)


# ----- rendering ----------------------------------------------------------------------------------------


def print_plan(plan: VacuumPlan, warehouse: str, out: Output) -> None:
    """The summary per table, the refs dropped or kept, and every file to delete."""
    from lakemend.units import human_bytes

    cutoff = f"{plan.cutoff:%Y-%m-%d %H:%M:%S} UTC"
    summary = [[t.table, len(t.snapshots_expire), len(t.snapshots_kept), len(t.refs_dropped),
                len(t.refs) - len(t.refs_dropped), len(t.files), human_bytes(t.bytes)] for t in plan.tables]
    out.table(f"Vacuum plan — keep what is younger than {cutoff}", ["table", "snapshots to expire", "snapshots kept",
              "refs to drop", "refs kept", "files to delete", "size"], summary)
    refs = [[t.table, r.name, r.kind, r.snapshot_id, r.action, r.why]
            for t in plan.tables for r in t.refs if r.name != "main"]
    if refs:
        out.table("Restore points and branches", ["table", "ref", "kind", "snapshot", "action", "why"], refs)
    upkeep = [[t.table, ", ".join(f"{key}={value}" for key, value in t.properties) or "–",
               "yes" if t.compact else "–", len(t.paths_to_record) or "–"]
              for t in plan.tables if t.properties or t.compact or t.paths_to_record]
    if upkeep:
        out.table("Table upkeep (no data changes)", ["table", "properties to set", "compact manifests",
                                                      "partition records to get their file paths"], upkeep)
    files = [[t.table, f.kind, os.path.relpath(f.path, warehouse), human_bytes(f.size),
              f"{dt.datetime.fromtimestamp(f.mtime, dt.UTC):%Y-%m-%d %H:%M}"]
             for t in plan.tables for f in t.files]
    if files:
        out.table("Files to delete", ["table", "kind", "file", "size", "modified (UTC)"], files)


def _print_result(result: VacuumResult, out: Output) -> None:
    from lakemend.units import human_bytes

    rows = [[t.table, t.snapshots_expired, len(t.refs_dropped), t.files_deleted, human_bytes(t.bytes_freed), len(t.files_skipped),
             t.paths_recorded] for t in result.tables]
    out.table("Vacuumed", ["table", "snapshots expired", "refs dropped", "files deleted", "freed",
                           "kept (in use again or changed since the plan)", "records given their file paths"], rows)
