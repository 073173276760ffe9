"""``lakemend dq check``: the contract's checks on published partitions, stored for trends."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lakemend.output import console, emit_json, emit_table, error

dq_app = typer.Typer(help="Data quality of published partitions: contract checks, stored for trends.",
                     no_args_is_help=True)


@dq_app.command("check")
def check(
    table: Annotated[Optional[str], typer.Option("--table", help="layer.table or a unique table name (default: every table).")] = None,
    date: Annotated[Optional[str], typer.Option("--date", help="One day, YYYY-MM-DD.")] = None,
    start: Annotated[Optional[str], typer.Option("--start", help="First day of a range.")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="Last day of a range (inclusive).")] = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="text or json.")] = None,
) -> None:
    """Run the contract's checks on published days: row rules, unique, row_count, null_rate, freshness,
    row_count_vs_recent, schema. Every result is stored; exit 1 if any check fails.

    Example: [bold]lakemend dq check --table silver.orders_clean --date 2025-10-26[/]
    """
    from lakemend.cli.app import _lake, _output
    from lakemend.cli.recovery import _tables
    from lakemend.dates import resolve_days
    from lakemend.ops.dq import run_checks

    days = resolve_days(date, start, end)
    lake = _lake()
    report = run_checks(lake, _tables(lake, table), days)
    fmt = _output(output)
    if fmt == "json":
        emit_json([{"check_run": report.check_run, "table": r.table, "day": r.day, "check": r.check,
                    "observed": r.observed, "threshold": r.threshold, "passed": r.passed, "detail": r.detail}
                   for r in report.results])
    else:
        emit_table(f"DQ check {report.check_run}", ["table", "day", "check", "observed", "threshold", "result", "detail"],
                   [[r.table, r.day, r.check, r.observed, r.threshold, "pass" if r.passed else "FAIL", r.detail]
                    for r in report.results], fmt)
    failed = report.failed
    if failed:
        if fmt == "text":
            error(f"{len(failed)} of {len(report.results)} checks failed — inspect the rows with lakemend query, "
                  "then repair the partition (lakemend rebuild / repair) or fix the contract")
        raise typer.Exit(1)
    if fmt == "text":
        console.print(f"All {len(report.results)} checks passed.")
