"""Set-up and the daily pipeline: ``init``, ``generate``, ``run``, ``query``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from lakemend.cli import context
from lakemend.cli import options as opt
from lakemend.cli.output import Output, with_progress
from lakemend.errors import UsageError

if TYPE_CHECKING:
    from lakemend.lake import Lake
    from lakemend.ops.runner import Decision


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new project (created if missing).")] = Path("."),
    example: Annotated[Optional[str], typer.Option(
        "--example", help="Start from this example project (company) with its landing data; without it: a blank project.")] = None,
    no_data: Annotated[bool, typer.Option("--no-data", help="With --example: do not generate landing data.")] = False,
    rows: Annotated[int, typer.Option("--rows", min=1, help="Orders per day in the generated landing data.")] = 2000,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the project files of an existing project.")] = False,
    output: opt.Output = None,
) -> None:
    """Make a project: lakemend.yaml, aws/scripts, landing/, a git-ignored masking key — blank, or an example with data.

    Blank: lakemend.yaml holds commented examples of a source, a silver and a gold table.

    Example: [bold]lakemend init my-lake[/]

    Example: [bold]lakemend init demo-lake --example company && cd demo-lake && lakemend run --start 2025-10-20 --end 2025-10-27[/]
    """
    from lakemend.project.scaffold import EXAMPLE_END, EXAMPLE_START, init_project

    out = context.output(output)
    target = init_project(directory, example, force=force)
    if example is None:
        next_step = f"edit {directory / 'lakemend.yaml'} (sources, silver, gold), land files under {directory / 'landing'}, then lakemend ls"
        out.document({"project": str(target), "example": None, "landed": None, "next": next_step})
        out.text(f"Created a blank project in {target}")
        out.text(f"Next: {next_step}")
        return
    out.text(f"Created the [bold]{example}[/] project in {target}")
    landed = None
    if not no_data:
        from lakemend.examples.data import generate as generate_landing

        summary = generate_landing(target / "landing", EXAMPLE_START, EXAMPLE_END, rows=rows)
        records = sum(d.records for d in summary.days)
        landed = {"start": EXAMPLE_START, "end": EXAMPLE_END, "records": records, "path": str(target / "landing")}
        out.text(f"Landed {records} records for {EXAMPLE_START} … {EXAMPLE_END} in {target / 'landing'}")
    next_step = f"cd {directory} && lakemend run --start {EXAMPLE_START} --end {EXAMPLE_END}"
    out.document({"project": str(target), "example": example, "landed": landed, "next": next_step})
    out.text(f"Next: {next_step}")


def generate(
    start: Annotated[str, typer.Option("--start", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="Last day, YYYY-MM-DD (inclusive).")],
    rows: Annotated[int, typer.Option("--rows", min=1, help="Orders per day (contacts: a quarter of it).")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files.")] = 7,
    fault: Annotated[
        Optional[list[str]],
        typer.Option("--fault", help="KIND:DATE[:SOURCE]; kinds: duplicates, malformed, bad-types, extra-column, missing-column, late, empty."),
    ] = None,
    output: opt.Output = None,
) -> None:
    """Land deterministic example data (HubSpot contacts, order CSVs) into the project's landing zone.

    Example: [bold]lakemend generate --start 2025-10-28 --end 2025-10-28 --fault malformed:2025-10-28:orders[/]
    """
    from lakemend.dates import parse_day
    from lakemend.examples.data import generate as generate_landing
    from lakemend.examples.data import parse_fault

    out = context.output(output)
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if last < first:
        raise UsageError(f"--end {last} is before --start {first}", "swap them")
    faults = [parse_fault(f) for f in fault or []]
    lake = context.open_lake()
    if not {"hubspot", "orders"} <= set(lake.project.config.sources):
        raise UsageError("generate makes data for the example sources hubspot and orders only", "use a project made by lakemend init --example company")
    if not isinstance(lake.project.raw, Path):
        raise UsageError(f"generate writes to a local landing zone; this profile's is {lake.project.raw}",
                         "generate locally, then copy the files: aws s3 sync landing/ s3://…")
    summary = generate_landing(lake.project.raw, first, last, rows=rows, seed=seed, faults=faults)
    out.rows("Landed", ["source", "day", "files", "records", "duplicates", "malformed", "bad types"],
             [(d.source, d.day, len(d.files), d.records, d.duplicates, d.malformed, d.bad_types) for d in summary.days])


def run(
    date: opt.Date = None,
    start: opt.Start = None,
    end: opt.End = None,
    select: opt.Select = None,
    exclude: opt.Exclude = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print what would be built, up to date or without input per table and day; write nothing.")] = False,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why this run (stored in the ledger); else $LAKEMEND_REASON.")] = None,
    output: opt.Output = None,
    allow_schema_change: opt.AllowSchemaChange = False,
    batch_days: opt.BatchDays = None,
    max_parallel: opt.MaxParallel = None,
) -> None:
    """The daily pipeline: bronze → silver → gold for every table (or the selected ones) and day, skipping what is up to date.

    Example: [bold]lakemend run --start 2025-10-20 --end 2025-10-27 --select 'silver.*+' --dry-run[/]
    """
    from lakemend.dates import resolve_days
    from lakemend.ops.runner import DEFAULT_BATCH_DAYS, execute, plan_run

    out = context.output(output)
    days = resolve_days(date, start, end)
    lake = context.open_lake(read_only=dry_run)
    tables = lake.project.select(select or [], exclude or [])
    if dry_run:
        decisions = plan_run(lake, days, tables)
        _print_run_plan(lake, decisions, out)
        return
    why = reason or os.environ.get("LAKEMEND_REASON")
    report = with_progress(
        len(days) * len(tables), out,
        lambda hook: execute(lake, command="run", days=days, tables=tables, reason=why, on_event=hook,
                             debug=context.settings.debug, allow_schema_change=allow_schema_change,
                             batch_days=batch_days or DEFAULT_BATCH_DAYS, max_parallel=max_parallel),
    )
    _explain_no_input(lake, report.skipped, out)
    if report.failed:
        raise typer.Exit(1)


def _no_input_lines(lake: Lake, decisions: list[Decision]) -> list[str]:
    """One line per source and day that had no landing files, naming where lakemend looked."""
    from lakemend.project.sources import expected_location

    lines = []
    for d in decisions:
        if d.action == "no-input" and d.spec.layer == "bronze":
            where = expected_location(lake.project, d.spec, d.day)
            lines.append(f"No landing files for source {d.spec.source} ({d.spec.qualified}) on {d.day}: looked for {where}")
    return lines


def _explain_no_input(lake: Lake, skipped: list[Decision], out: Output) -> None:
    for line in _no_input_lines(lake, skipped):
        out.note(line)


def _print_run_plan(lake: Lake, decisions: list[Decision], out: Output) -> None:
    counts = {action: sum(1 for d in decisions if d.action == action) for action in ("build", "up-to-date", "no-input")}
    out.document({"plan": [{"table": d.spec.qualified, "day": d.day, "action": d.action, "why": d.why} for d in decisions],
                  "counts": counts, "written": False})
    out.table(f"Plan: run — {counts['build']} partition(s) to build", ["table", "day", "action", "why"],
              [[d.spec.qualified, d.day, d.action, d.why] for d in decisions])
    _explain_no_input(lake, decisions, out)
    out.text(f"{counts['build']} to build, {counts['up-to-date']} up to date, {counts['no-input']} without input.")
    out.text("[bold]Dry run:[/] nothing was written.")


def query(
    sql: Annotated[str, typer.Argument(help="DuckDB SQL naming tables as layer.table, e.g. bronze.orders.")],
    output: opt.Output = None,
) -> None:
    """Run SQL over the lake's published tables.

    Example: [bold]lakemend query "SELECT COUNT(*) FROM bronze.orders WHERE day='2025-10-26'"[/]
    """
    from lakemend.ops.query import run_query

    out = context.output(output)
    result = run_query(context.open_lake(), sql)
    out.rows(None, result.column_names, [tuple(r.values()) for r in result.to_pylist()])
