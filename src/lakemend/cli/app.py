"""The ``lakemend`` command line: thin over the library, one error boundary.

Heavy libraries (pyiceberg, DuckDB, pyarrow) are imported inside commands so that
``lakemend --help`` stays instant.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import click
import typer

from lakemend.errors import LakemendError, UsageError
from lakemend.output import console, emit_json, emit_table, error

app = typer.Typer(
    name="lakemend",
    help="Safe backfill and recovery for a medallion data lake (bronze → silver → gold) on Apache Iceberg.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(help="The run ledger: every partition job lakemend ran, with its numbers.", no_args_is_help=False)
app.add_typer(runs_app, name="runs")


def _register() -> None:
    from lakemend.cli import backfill as cli_backfill
    from lakemend.cli import dq as cli_dq
    from lakemend.cli import incident as cli_incident
    from lakemend.cli import lineage as cli_lineage
    from lakemend.cli import logs as cli_logs
    from lakemend.cli import ops as cli_ops
    from lakemend.cli import recovery as cli_recovery
    from lakemend.cli import report as cli_report
    from lakemend.cli import vacuum as cli_vacuum

    app.add_typer(cli_backfill.backfill_app, name="backfill")
    app.add_typer(cli_backfill.rebuild_app, name="rebuild")
    app.add_typer(cli_backfill.refresh_app, name="refresh")
    app.add_typer(cli_incident.incident_app, name="incident")
    app.add_typer(cli_dq.dq_app, name="dq")
    for command in (cli_ops.pause, cli_ops.resume, cli_ops.status, cli_ops.metrics, cli_recovery.gaps,
                    cli_recovery.late, cli_recovery.verify, cli_recovery.repair, cli_recovery.quarantine,
                    cli_recovery.rollback):
        app.command()(command)
    app.command()(cli_vacuum.vacuum)
    app.command()(cli_report.report)
    app.command()(cli_lineage.lineage)
    runs_app.command("resume")(cli_ops.runs_resume)
    runs_app.command("logs")(cli_logs.runs_logs)


class Settings:
    project: Path | None = None
    output: str = "text"
    debug: bool = False


settings = Settings()

OutputOption = Annotated[
    Optional[str], typer.Option("--output", "-o", help="text (default) or json.", show_default=False)
]


def _output(value: str | None) -> str:
    chosen = value or settings.output
    if chosen not in ("text", "json"):
        raise UsageError(f"--output {chosen!r} is not supported", "use --output text or --output json")
    return chosen


@app.callback()
def _root(
    project: Annotated[
        Optional[Path], typer.Option("--project", "-C", help="Project folder (default: $LAKEMEND_PROJECT or the current folder).")
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="text or json, for every listing command.")] = "text",
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of unexpected errors.")] = False,
) -> None:
    settings.project = project
    settings.output = output
    settings.debug = debug or settings.debug


def _lake():  # noqa: ANN202 - imported lazily
    from lakemend.lake import Lake
    from lakemend.project.project import find_project_root

    root = settings.project.resolve() if settings.project else find_project_root()
    if settings.project and not (root / "lakemend.yaml").is_file():
        raise UsageError(f"--project {settings.project}: no lakemend.yaml there", "point --project at a lakemend project folder")
    return Lake.open(root)


# ----- init / generate ---------------------------------------------------------------------------


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new project (created if missing).")] = Path("."),
    example: Annotated[str, typer.Option("--example", help="Example project to start from.")] = "company",
    no_data: Annotated[bool, typer.Option("--no-data", help="Do not generate landing data.")] = False,
    rows: Annotated[int, typer.Option("--rows", min=1, help="Orders per day in the generated landing data.")] = 2000,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the project files of an existing project.")] = False,
) -> None:
    """Scaffold a working project: lakemend.yaml, models, contracts, aws/scripts and landing data.

    Example: [bold]lakemend init demo-lake --example company && cd demo-lake && lakemend run --start 2025-10-20 --end 2025-10-27[/]
    """
    from lakemend.project.scaffold import EXAMPLE_END, EXAMPLE_START, init_project

    target = init_project(directory, example, force=force)
    console.print(f"Created the [bold]{example}[/] project in {target}")
    if not no_data:
        from lakemend.examples.data import generate as generate_landing

        summary = generate_landing(target / "landing", EXAMPLE_START, EXAMPLE_END, rows=rows)
        records = sum(d.records for d in summary.days)
        console.print(f"Landed {records} records for {EXAMPLE_START} … {EXAMPLE_END} in {target / 'landing'}")
    console.print(f"Next: cd {directory} && lakemend run --start {EXAMPLE_START} --end {EXAMPLE_END}")


@app.command()
def generate(
    start: Annotated[str, typer.Option("--start", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="Last day, YYYY-MM-DD (inclusive).")],
    rows: Annotated[int, typer.Option("--rows", min=1, help="Orders per day (contacts: a quarter of it).")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files.")] = 7,
    fault: Annotated[
        Optional[list[str]],
        typer.Option("--fault", help="KIND:DATE[:SOURCE]; kinds: duplicates, malformed, bad-types, extra-column, missing-column, late, empty."),
    ] = None,
    output: OutputOption = None,
) -> None:
    """Land deterministic example data (HubSpot contacts, order CSVs) into the project's landing zone.

    Example: [bold]lakemend generate --start 2025-10-28 --end 2025-10-28 --fault malformed:2025-10-28:orders[/]
    """
    from lakemend.dates import parse_day
    from lakemend.examples.data import generate as generate_landing
    from lakemend.examples.data import parse_fault

    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if last < first:
        raise UsageError(f"--end {last} is before --start {first}", "swap them")
    faults = [parse_fault(f) for f in fault or []]
    lake = _lake()
    if not {"hubspot", "orders"} <= set(lake.project.config.sources):
        raise UsageError("generate makes data for the example sources hubspot and orders only", "use a project made by lakemend init --example company")
    summary = generate_landing(lake.project.raw, first, last, rows=rows, seed=seed, faults=faults)
    rows_out = [
        (d.source, d.day, len(d.files), d.records, d.duplicates, d.malformed, d.bad_types) for d in summary.days
    ]
    emit_table("Landed", ["source", "day", "files", "records", "duplicates", "malformed", "bad types"], rows_out, _output(output))


# ----- run -------------------------------------------------------------------------------------------


@app.command()
def run(
    date: Annotated[Optional[str], typer.Option("--date", help="One day, YYYY-MM-DD.")] = None,
    start: Annotated[Optional[str], typer.Option("--start", help="First day of a range.")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="Last day of a range (inclusive).")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why this run (stored in the ledger).")] = None,
    output: OutputOption = None,
) -> None:
    """The daily pipeline: bronze → silver → gold for every table and day, skipping what is up to date.

    Example: [bold]lakemend run --start 2025-10-20 --end 2025-10-27[/]
    """
    from lakemend.dates import resolve_days
    from lakemend.cli.progress import run_with_progress

    days = resolve_days(date, start, end)
    lake = _lake()
    report = run_with_progress(
        lake, command="run", days=days, tables=lake.project.ordered, reason=reason or os.environ.get("LAKEMEND_REASON"),
        output=_output(output), debug=settings.debug,
    )
    if report.failed:
        raise typer.Exit(1)


# ----- query ------------------------------------------------------------------------------------------


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="DuckDB SQL naming tables as layer.table, e.g. bronze.orders.")],
    output: OutputOption = None,
) -> None:
    """Run SQL over the lake's published tables.

    Example: [bold]lakemend query "SELECT COUNT(*) FROM bronze.orders WHERE day='2025-10-26'"[/]
    """
    from lakemend.ops.query import run_query

    result = run_query(_lake(), sql)
    emit_table(None, result.column_names, [tuple(r.values()) for r in result.to_pylist()], _output(output))


# ----- runs ---------------------------------------------------------------------------------------------


LEDGER_COLUMNS = [
    "run_id", "layer", "table_name", "day", "status", "rows_read", "rows_written", "rows_quarantined",
    "rows_deduplicated", "started_at", "ended_at", "user", "host", "reason", "snapshot_before", "snapshot_after", "error",
]


@runs_app.callback(invoke_without_command=True)
def runs(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option("--status", help="succeeded, failed or running.")] = None,
    table: Annotated[Optional[str], typer.Option("--table", help="layer.table, e.g. silver.orders_clean.")] = None,
    run_id: Annotated[Optional[str], typer.Option("--run", help="Only the jobs of this run.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest N jobs.")] = 50,
    output: OutputOption = None,
) -> None:
    """List the ledger: one line per partition job, newest first.

    Example: [bold]lakemend runs --status failed[/]
    """
    if ctx.invoked_subcommand:
        return
    from lakemend.state.store import as_rows

    if status and status not in ("succeeded", "failed", "running"):
        raise UsageError(f"--status {status!r} is not a job status", "use succeeded, failed or running")
    lake = _lake()
    if table and "." not in table:
        matches = [t for t in lake.project.tables if t.endswith("." + table)]
        table = matches[0] if len(matches) == 1 else table
    if table:
        lake.project.table(table)
    jobs = as_rows(lake.state.list_jobs(status=status, table=table, run_id=run_id, limit=limit))
    fmt = _output(output)
    if fmt == "json":
        emit_json([{k: j[k] for k in LEDGER_COLUMNS} for j in jobs])
        return
    shown = ["run_id", "table_name", "day", "status", "rows_read", "rows_written", "rows_quarantined", "rows_deduplicated", "ended_at", "reason", "error"]
    emit_table("Ledger (newest first)", [c.removeprefix("rows_").replace("table_name", "table") for c in shown],
               [[j[c] for c in shown] for j in jobs], fmt)


# ----- entry point --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every LakemendError becomes ``Error: <what> — <how to fix>`` and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    settings.debug = "--debug" in args or os.environ.get("LAKEMEND_DEBUG") == "1"
    try:
        result = app(args=args, prog_name="lakemend", standalone_mode=False)
    except click.exceptions.UsageError as exc:
        exc.show(file=sys.stderr)
        sys.exit(2)
    except click.exceptions.Abort:
        error("aborted")
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except LakemendError as exc:
        if settings.debug:
            traceback.print_exc()
        if settings.output == "json":
            print(f'{{"error": {__import__("json").dumps(str(exc))}}}', file=sys.stderr)
        error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        error("interrupted — rerun the same command to resume; published partitions are kept")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the one boundary for bugs
        if settings.debug:
            traceback.print_exc()
        error(f"unexpected {type(exc).__name__}: {exc} — rerun with --debug and report it")
        sys.exit(1)
    if isinstance(result, int) and result:
        sys.exit(result)




_register()

if __name__ == "__main__":
    main()
