"""``lakemend dq check``: the contract's checks on published partitions, stored for trends."""

from __future__ import annotations

import typer

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
    output: opt.Output = None,
) -> None:
    """Run the contract's checks on published days: row rules, unique, row_count, null_rate, freshness,
    row_count_vs_recent, schema. Every result is stored; exit 1 if any check fails.

    Example: [bold]lakemend dq check --table silver.orders_clean --date 2025-10-26[/]
    """
    from lakemend.dates import resolve_days
    from lakemend.ops.dq import run_checks

    out = context.output(output)
    days = resolve_days(date, start, end)
    lake = context.open_lake()
    report = run_checks(lake, context.tables(lake, table), days)
    out.document([{"check_run": report.check_run, "table": r.table, "day": r.day, "check": r.check,
                   "observed": r.observed, "threshold": r.threshold, "passed": r.passed, "detail": r.detail}
                  for r in report.results])
    out.table(f"DQ check {report.check_run}", ["table", "day", "check", "observed", "threshold", "result", "detail"],
              [[r.table, r.day, r.check, r.observed, r.threshold, "pass" if r.passed else "FAIL", r.detail]
               for r in report.results])
    failed = report.failed
    if failed:
        out.problem(f"{len(failed)} of {len(report.results)} checks failed — inspect the rows with lakemend query, "
                    "then repair the partition (lakemend rebuild / repair) or fix the contract")
        raise typer.Exit(1)
    out.text(f"All {len(report.results)} checks passed.")
