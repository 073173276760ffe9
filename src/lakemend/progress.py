"""Progress bar while partition jobs run, and the summary table after."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lakemend.jobs import JobResult
from lakemend.lake import Lake
from lakemend.output import console, emit_json, emit_table, error
from lakemend.project import TableSpec
from lakemend.runner import Decision, RunReport, execute


def run_with_progress(lake: Lake, *, command: str, days: list[dt.date], tables: list[TableSpec], reason: str | None,
                      output: str, debug: bool = False, force: bool = False) -> RunReport:
    total = len(days) * len(tables)
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=output == "json",
    )
    with progress:
        task = progress.add_task("planning", total=total)

        def on_event(event: str, payload: JobResult | Decision) -> None:
            if event == "start":
                assert isinstance(payload, Decision)
                progress.update(task, description=f"{payload.spec.qualified} {payload.day}")
            else:
                progress.advance(task)

        report = execute(lake, command=command, days=days, tables=tables, reason=reason, on_event=on_event,
                         debug=debug, force=force)
    print_summary(report, output)
    return report


def print_summary(report: RunReport, output: str) -> None:
    per_table: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    for result in report.results:
        row = per_table[result.table]
        row["built" if result.status == "succeeded" else "failed"] += 1
        for name in ("rows_read", "rows_written", "rows_quarantined", "rows_deduplicated"):
            row[name] += getattr(result, name)
    for decision in report.skipped:
        per_table[decision.spec.qualified][decision.action] += 1
    if output == "json":
        emit_json({
            "run_id": report.run_id,
            "seconds": round(report.seconds, 3),
            "tables": {t: dict(v) for t, v in per_table.items()},
            "jobs": [{"table": r.table, "day": r.day, "status": r.status, "why": r.why, "rows_read": r.rows_read,
                      "rows_written": r.rows_written, "rows_quarantined": r.rows_quarantined,
                      "rows_deduplicated": r.rows_deduplicated, "error": r.error} for r in report.results],
        })
        return
    columns = ["table", "built", "up to date", "no input", "failed", "rows read", "written", "quarantined", "deduplicated"]
    rows = [
        [table, v["built"], v["up-to-date"], v["no-input"] + v["blocked"], v["failed"], v["rows_read"], v["rows_written"],
         v["rows_quarantined"], v["rows_deduplicated"]]
        for table, v in per_table.items()
    ]
    emit_table(f"Run {report.run_id}", columns, rows, "text")
    built = sum(1 for r in report.results if r.status == "succeeded")
    up_to_date = sum(1 for d in report.skipped if d.action == "up-to-date")
    console.print(
        f"{built} partition(s) built, {up_to_date} up to date, {len(report.failed)} failed in {report.seconds:.1f} s"
    )
    for result in report.failed:
        error(f"{result.table} {result.day}: {result.error}")
    if report.failed:
        console.print(f"See the ledger: lakemend runs --run {report.run_id} --status failed")
