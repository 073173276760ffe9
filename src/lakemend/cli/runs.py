"""``lakemend runs``: the run ledger, one line per partition job (``runs logs`` and ``runs resume``
are registered on the same group by app.py)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lakemend.cli import context
from lakemend.cli import options as opt
from lakemend.errors import UsageError

runs_app = typer.Typer(help="The run ledger: every partition job lakemend ran, with its numbers.", no_args_is_help=False)

LEDGER_COLUMNS = [
    "run_id", "layer", "table_name", "day", "status", "rows_read", "rows_written", "rows_quarantined",
    "rows_deduplicated", "started_at", "ended_at", "user", "host", "pid", "reason", "snapshot_before", "snapshot_after", "error",
    "external_id", "external_log_uri",  # the job run of an external engine (EMR Serverless) and its logs
]
JOB_STATUSES = ("succeeded", "failed", "running", "interrupted")
SHOWN = ["run_id", "table_name", "day", "status", "rows_read", "rows_written", "rows_quarantined", "rows_deduplicated",
         "ended_at", "reason", "error"]


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
    out.table("Ledger (newest first)", [c.removeprefix("rows_").replace("table_name", "table") for c in SHOWN],
              [[j[c] for c in SHOWN] for j in jobs])
