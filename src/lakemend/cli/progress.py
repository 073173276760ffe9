"""Progress bar while partition jobs run, and the summary table after."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lakemend.ops.job import JobResult
from lakemend.lake import Lake
from lakemend.output import console, emit_json, emit_table, error
from lakemend.project.project import TableSpec
from lakemend.ops.runner import Decision, ProgressHook, RunReport, execute


def run_with_progress(lake: Lake, *, command: str, days: list[dt.date], tables: list[TableSpec], reason: str | None,
                      output: str, debug: bool = False, force: bool = False) -> RunReport:
    return with_progress(
        len(days) * len(tables), output,
        lambda hook: execute(lake, command=command, days=days, tables=tables, reason=reason, on_event=hook,
                             debug=debug, force=force),
    )


def with_progress(total: int, output: str, work: Callable[[ProgressHook], RunReport]) -> RunReport:
    """Run ``work`` with a progress bar fed by its job events, then print the summary."""
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

        report = work(on_event)
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
    columns = ["table", "built", "skipped", "no input", "failed", "rows read", "written", "quarantined", "deduplicated"]
    rows = [
        [table, v["built"], v["up-to-date"] + v["resumed"], v["no-input"] + v["blocked"], v["failed"], v["rows_read"], v["rows_written"],
         v["rows_quarantined"], v["rows_deduplicated"]]
        for table, v in per_table.items()
    ]
    emit_table(f"Run {report.run_id}", columns, rows, "text")
    built = sum(1 for r in report.results if r.status == "succeeded")
    up_to_date = sum(1 for d in report.skipped if d.action == "up-to-date")
    resumed = sum(1 for d in report.skipped if d.action == "resumed")
    resumed_text = f", {resumed} already published by the interrupted attempt" if resumed else ""
    console.print(
        f"{built} partition(s) built, {up_to_date} up to date{resumed_text}, {len(report.failed)} failed "
        f"in {report.seconds:.1f} s (run {report.run_id}, restore point tag pre-{report.run_id})"
    )
    for result in report.failed:
        error(f"{result.table} {result.day}: {result.error}")
    if report.failed:
        console.print(f"See the ledger: lakemend runs --run {report.run_id} --status failed")
