"""``lakemend dq check``: the contract's checks on published partitions, stored for trends."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from lakemend.cli import context
from lakemend.cli import options as opt

dq_app = typer.Typer(help="Data quality of published partitions: contract checks, stored for trends.",
                     no_args_is_help=True)


@dq_app.command("check")
def check(
    table: opt.Table = None,
    date: opt.Date = None,
    start: opt.Start = None,
    end: opt.End = None,
    failed_only: Annotated[bool, typer.Option("--failed", help="Show only the checks that failed (all are still run and stored).")] = False,
    output: opt.Output = None,
) -> None:
    """Run the contract's checks on published days: row rules, unique, row_count, null_rate, freshness,
    row_count_vs_recent, schema. Every result is stored; exit 1 if any check fails.

    The days are required: --date DAY, or --start DAY --end DAY. The failures are listed again at
    the end (or only them, with --failed).
    Example: [bold]lakemend dq check --table silver.orders_clean --date 2025-10-26 --failed[/]
    """
    from lakemend.dates import resolve_days
    from lakemend.ops.dq import run_checks

    out = context.output(output)
    days = resolve_days(date, start, end)
    lake = context.open_lake()
    report = run_checks(lake, context.tables(lake, table), days)
    failed = report.failed
    shown = failed if failed_only else report.results
    out.document([{"check_run": report.check_run, "table": r.table, "day": r.day, "check": r.check,
                   "observed": r.observed, "threshold": r.threshold, "passed": r.passed, "detail": r.detail}
                  for r in shown])
    title = f"DQ check {report.check_run}" + (" — failed checks only" if failed_only else "")
    if shown:
        out.table(title, ["table", "day", "check", "observed", "threshold", "result", "detail"],
                  [[r.table, r.day, r.check, r.observed, r.threshold, "pass" if r.passed else "FAIL", r.detail]
                   for r in shown])
    if failed:
        if not failed_only:  # the failures again where the eye lands: after a table of hundreds of rows
            out.text(f"[bold]Failed checks ({len(failed)}):[/]")
            for r in failed:
                out.text(f"  {escape(r.table)} {r.day} {escape(r.check)}: observed {escape(str(r.observed))}, "
                         f"threshold {escape(str(r.threshold))}" + (f" — {escape(str(r.detail))}" if r.detail else ""))
        out.problem(f"{len(failed)} of {len(report.results)} checks failed — inspect the rows with lakemend query, "
                    "then repair the partition (lakemend rebuild / repair) or fix the contract")
        raise typer.Exit(1)
    out.text(f"All {len(report.results)} checks passed.")
