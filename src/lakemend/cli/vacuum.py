"""``lakemend vacuum``: the one command that deletes data files — plan, confirm, apply."""

from __future__ import annotations

import datetime as dt
import os
import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lakemend.errors import UsageError
from lakemend.output import console, emit_json, err_console

if TYPE_CHECKING:
    from lakemend.ops.vacuum import VacuumPlan, VacuumResult

OutputOpt = Annotated[Optional[str], typer.Option("--output", "-o", help="text or json.")]


def vacuum(
    older_than: Annotated[str, typer.Option(
        "--older-than", help="Retention: keep snapshots, restore points and files younger than this (7d, 12h, 30m; 0d keeps only what is current).",
    )] = "7d",
    table: Annotated[Optional[list[str]], typer.Option(
        "--table", help="layer.table or a unique table name; repeatable (default: every table, quarantine included).",
    )] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; expire and delete nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (required without a terminal).")] = False,
    output: OutputOpt = None,
) -> None:
    """Expire old snapshots and restore points, then delete the files no kept snapshot needs.

    The only command that deletes data files; files younger than the retention are never deleted (a write may be in progress). Asks first (default No); --yes skips the question. Example: [bold]lakemend vacuum --older-than 7d --dry-run[/]
    """
    from lakemend.cli.app import _lake, _output
    from lakemend.ops.vacuum import apply_vacuum, human_bytes, parse_retention, plan_vacuum

    fmt = _output(output)
    retention = parse_retention(older_than)
    lake = _lake()
    plan = plan_vacuum(lake, retention, table)
    warehouse = str(lake.project.warehouse)
    if fmt == "text":
        print_plan(plan, warehouse, console)
    if plan.empty or dry_run:
        _finish(plan, None, fmt, "Dry run: nothing expired or deleted." if dry_run and not plan.empty else "Nothing to vacuum.")
        return
    if not _confirmed(plan, yes, fmt, warehouse):
        _finish(plan, None, fmt, "Nothing deleted.")
        raise typer.Exit(1)
    result = apply_vacuum(lake, plan)
    if fmt == "text":
        _print_result(result)
    _finish(plan, result, fmt, f"Vacuumed: {result.files_deleted} file(s) deleted, {human_bytes(result.bytes_freed)} freed.")


def _confirmed(plan: VacuumPlan, yes: bool, fmt: str, warehouse: str) -> bool:
    """--yes, else ask on a terminal (default No); without a terminal refuse (exit 2)."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(f"vacuum would {plan.describe()} and needs a confirmation, but there is no terminal to ask",
                         "pass --yes to confirm (or --dry-run to only look)")
    if fmt == "json":  # stdout carries one JSON document: show the plan to the person on stderr
        print_plan(plan, warehouse, err_console)
    action = plan.describe()
    return typer.confirm(f"{action[0].upper()}{action[1:]}? This cannot be undone", default=False, err=True)


def _finish(plan: VacuumPlan, result: VacuumResult | None, fmt: str, message: str) -> None:
    if fmt == "json":
        emit_json({"plan": plan.to_dict(), "result": result.to_dict() if result else None, "message": message})
    else:
        console.print(message)


# ----- rendering ----------------------------------------------------------------------------------------


def _table(title: str, columns: list[str], rows: list[list[object]]) -> Table:
    out = Table(title=title, header_style="bold")
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*[escape("" if v is None else str(v)) for v in row])
    return out


def print_plan(plan: VacuumPlan, warehouse: str, target: Console) -> None:
    """The summary per table, the refs dropped or kept, and every file to delete."""
    from lakemend.ops.vacuum import human_bytes

    cutoff = f"{plan.cutoff:%Y-%m-%d %H:%M:%S} UTC"
    summary = [[t.table, len(t.snapshots_expire), len(t.snapshots_kept), len(t.refs_dropped),
                len(t.refs) - len(t.refs_dropped), len(t.files), human_bytes(t.bytes)] for t in plan.tables]
    target.print(_table(f"Vacuum plan — keep what is younger than {cutoff}", ["table", "snapshots to expire", "snapshots kept",
                        "refs to drop", "refs kept", "files to delete", "size"], summary))
    refs = [[t.table, r.name, r.kind, r.snapshot_id, r.action, r.why]
            for t in plan.tables for r in t.refs if r.name != "main"]
    if refs:
        target.print(_table("Restore points and branches", ["table", "ref", "kind", "snapshot", "action", "why"], refs))
    files = [[t.table, f.kind, os.path.relpath(f.path, warehouse), human_bytes(f.size),
              f"{dt.datetime.fromtimestamp(f.mtime, dt.UTC):%Y-%m-%d %H:%M}"]
             for t in plan.tables for f in t.files]
    if files:
        target.print(_table("Files to delete", ["table", "kind", "file", "size", "modified (UTC)"], files))


def _print_result(result: VacuumResult) -> None:
    from lakemend.ops.vacuum import human_bytes

    rows = [[t.table, t.snapshots_expired, len(t.refs_dropped), t.files_deleted, human_bytes(t.bytes_freed), len(t.files_skipped)]
            for t in result.tables]
    console.print(_table("Vacuumed", ["table", "snapshots expired", "refs dropped", "files deleted", "freed",
                                      "kept (in use again or changed since the plan)"], rows))
