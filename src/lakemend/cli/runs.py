"""``lakemend runs``: the run ledger, one line per partition job (``runs logs`` and ``runs resume``
are registered on the same group by app.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from lakemend.cli import context
from lakemend.cli import options as opt
from lakemend.errors import UsageError

if TYPE_CHECKING:
    from lakemend.cli.output import Output

runs_app = typer.Typer(help="The run ledger: every partition job lakemend ran, with its numbers.", no_args_is_help=False)

LEDGER_COLUMNS = [
    "run_id", "layer", "table_name", "day", "status", "rows_read", "rows_written", "rows_quarantined",
    "rows_deduplicated", "started_at", "ended_at", "user", "host", "pid", "reason", "snapshot_before", "snapshot_after", "error",
    "external_id", "external_log_uri",  # the job run of an external engine (EMR Serverless) and its logs
]
JOB_STATUSES = ("succeeded", "failed", "running", "interrupted")


@runs_app.callback(invoke_without_command=True)
def runs(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option(
        "--status", help="succeeded, failed, running or interrupted (its process died; rerun to resume).")] = None,
    table: opt.Table = None,
    run_id: Annotated[Optional[str], typer.Option("--run", help="Only the jobs of this run.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest N jobs.")] = 50,
    output: opt.Output = None,
) -> None:
    """List the ledger: one line per partition job, newest first (a job whose process was killed shows as interrupted).

    The table shows the numbers and the reason; --output json adds user, host, pid and the
    snapshots before and after each job (the restore points: see lakemend tags).

    Example: [bold]lakemend runs --status failed[/]
    """
    if ctx.invoked_subcommand:
        return
    from lakemend.state.store import as_rows

    out = context.output(output)
    if status and status not in JOB_STATUSES:
        raise UsageError(f"--status {status!r} is not a job status", "use succeeded, failed, running or interrupted")
    lake = context.open_lake()
    if table:  # every --table given: the newest jobs of any of them
        found = [j for spec in context.tables(lake, table)
                 for j in lake.state.list_jobs(status=status, table=spec.qualified, run_id=run_id, limit=limit)]
        found = sorted(found, key=lambda j: j["id"], reverse=True)[:limit]
    else:
        found = lake.state.list_jobs(status=status, run_id=run_id, limit=limit)
    jobs = as_rows(found)
    out.document([{k: j[k] for k in LEDGER_COLUMNS} for j in jobs])
    _print_by_run(out, jobs)


def _print_by_run(out: Output, jobs: list[dict[str, Any]]) -> None:
    """Text mode: the jobs under a heading per run (run id, when it ended, why), newest first,
    with their errors below the table, so a line fits a 100-column terminal unfolded."""
    from rich.markup import escape

    if not jobs:
        out.text("No partition jobs in the ledger match.")
        return
    by_run: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        by_run.setdefault(job["run_id"], []).append(job)
    out.text("[bold]Ledger[/] (newest first)")
    for run_id, run_jobs in by_run.items():
        out.text(f"\n[bold]{escape(run_id)}[/] {escape(_run_line(run_jobs))}", soft_wrap=True)
        out.table(None, ["table", "day", "status", "read", "written", "quarantined", "dedup."],
                  [[j["table_name"], j["day"], j["status"], j["rows_read"], j["rows_written"], j["rows_quarantined"],
                    j["rows_deduplicated"]] for j in run_jobs])
        for job in run_jobs:
            if job["error"]:
                message = escape(job["error"].rstrip()).replace("\n", "\n    ")
                out.text(f"  [red]error[/] {escape(job['table_name'])} {job['day']}: {message}")


def _run_line(jobs: list[dict[str, Any]]) -> str:
    """When the run's listed jobs ended (or that one still runs) and why the run was started."""
    if any(j["ended_at"] is None for j in jobs):
        when = "· running"
    else:
        when = "· ended " + max(j["ended_at"] for j in jobs)[:19].replace("T", " ") + " UTC"
    reasons = sorted({j["reason"] for j in jobs if j["reason"]})
    return when + (f" · reason: {'; '.join(reasons)}" if reasons else "")
