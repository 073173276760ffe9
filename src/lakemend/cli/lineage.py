"""``lakemend lineage``: which jobs wrote a day, from which inputs, when and why.

The answer comes from the OpenLineage events of the file transport (``<lineage.path>/<day>.jsonl``),
which carry the exact input days and snapshots each job read. Jobs the events do not know (lineage
sent elsewhere, or events older than the lineage sink) are filled in from the ledger, with the
inputs the project's mappings say they read (snapshot unknown).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from lakemend.output import console, emit_json, emit_table

if TYPE_CHECKING:
    from lakemend.lake import Lake

OutputOpt = Annotated[Optional[str], typer.Option("--output", "-o", help="text or json.")]
STATUS = {"START": "running", "COMPLETE": "succeeded", "FAIL": "failed"}


@dataclass
class InputSpan:
    table: str
    first_day: str | None
    last_day: str
    snapshot: int | None = None

    def describe(self) -> str:
        if self.first_day == self.last_day:
            days = self.last_day
        else:  # a window, or every day up to last_day (`upto`)
            days = f"{self.first_day} … {self.last_day}" if self.first_day else f"… {self.last_day}"
        return f"{self.table} [{days}]" + (f" @{self.snapshot}" if self.snapshot is not None else "")


@dataclass
class LineageJob:
    """One partition job that wrote the day."""

    started_at: str | None
    ended_at: str | None
    run_id: str
    command: str
    table: str
    day: str
    status: str
    reason: str | None = None
    inputs: list[InputSpan] = field(default_factory=list)
    snapshot_before: int | None = None
    snapshot_after: int | None = None
    rows_written: int | None = None
    incident: str | None = None
    error: str | None = None
    lineage_run_id: str | None = None
    source: str = "lineage"
    """Where this line comes from: ``lineage`` (the OpenLineage events) or ``ledger``."""

    def output(self) -> str:
        return f"{self.table} {self.day}" + (f" @{self.snapshot_after}" if self.snapshot_after is not None else "")


def from_events(events: list[dict[str, Any]]) -> list[LineageJob]:
    """Fold the START and COMPLETE / FAIL events of each OpenLineage run into one job."""
    jobs: dict[str, LineageJob] = {}
    for event in events:
        run = event.get("run") or {}
        facet = (run.get("facets") or {}).get("lakemend") or {}
        outputs = event.get("outputs") or [{}]
        out_facet = (outputs[0].get("outputFacets") or {}).get("lakemend") or {}
        key = run.get("runId") or ""
        job = jobs.get(key)
        if job is None:
            job = jobs[key] = LineageJob(
                started_at=None, ended_at=None, run_id=facet.get("runId", "?"), command=facet.get("command", "?"),
                table=facet.get("table") or outputs[0].get("name", "?"), day=facet.get("day") or out_facet.get("day", "?"),
                status="running", lineage_run_id=key)
        kind = event.get("eventType")
        if kind == "START":
            job.started_at = job.started_at or event.get("eventTime")
        else:
            job.ended_at = event.get("eventTime")
            job.status = STATUS.get(kind, str(kind).lower())
            job.inputs = [_span(i) for i in event.get("inputs") or []] or job.inputs
            job.rows_written = facet.get("rowsWritten")
            job.snapshot_after = out_facet.get("snapshotAfter")
            job.error = ((run.get("facets") or {}).get("errorMessage") or {}).get("message")
        job.reason = facet.get("reason", job.reason)
        job.incident = facet.get("incident", job.incident)
        job.snapshot_before = facet.get("snapshotBefore", job.snapshot_before)
    return list(jobs.values())


def _span(dataset: dict[str, Any]) -> InputSpan:
    days = (dataset.get("inputFacets") or {}).get("lakemend") or {}
    return InputSpan(dataset.get("name", "?"), days.get("firstDay"), days.get("lastDay", "?"), days.get("snapshotId"))


def from_ledger(lake: Lake, day: dt.date, known: set[str]) -> list[LineageJob]:
    """Ledger jobs of the day whose OpenLineage run is not in ``known``, inputs from the mappings."""
    from lakemend.errors import LakemendError
    from lakemend.observe.lineage import job_run_id
    from lakemend.project.sources import day_pattern

    jobs = []
    for row in reversed(lake.state.list_jobs(day=day, limit=100_000)):
        lineage_id = job_run_id(row["run_id"], row["table_name"], day)
        if lineage_id in known:
            continue
        inputs: list[InputSpan] = []
        try:
            spec = lake.project.table(row["table_name"])
        except LakemendError:  # a table since removed from lakemend.yaml
            spec = None
        if spec is not None and spec.layer == "bronze":
            inputs = [InputSpan(f"landing/{day_pattern(spec, day)}", day.isoformat(), day.isoformat())]
        elif spec is not None:
            for inp in spec.inputs:
                first, last = inp.window(day)
                inputs.append(InputSpan(inp.table, first.isoformat() if first else None, last.isoformat()))
        jobs.append(LineageJob(
            started_at=_iso(row["started_at"]), ended_at=_iso(row["ended_at"]), run_id=row["run_id"],
            command=row["command"], table=row["table_name"], day=day.isoformat(), status=row["status"],
            reason=row["reason"], inputs=inputs, snapshot_before=row["snapshot_before"],
            snapshot_after=row["snapshot_after"], rows_written=row["rows_written"], error=row["error"],
            lineage_run_id=lineage_id, source="ledger"))
    return jobs


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"


def jobs_of_day(lake: Lake, day: dt.date, table: str | None = None) -> list[LineageJob]:
    """Every job that wrote the day (events first, then the ledger), oldest first; with ``table``,
    only those writing or reading it."""
    from lakemend.observe.lineage import read_day

    events = read_day(lake.project, day)
    jobs = from_events(list(events)) if events is not None else []
    jobs += from_ledger(lake, day, {j.lineage_run_id for j in jobs if j.lineage_run_id})
    if table:
        jobs = [j for j in jobs if j.table == table or any(i.table == table for i in j.inputs)]
    return sorted(jobs, key=lambda j: (j.started_at or j.ended_at or ""))


def _table_name(lake: Lake, table: str) -> str:
    if "." not in table:
        matches = [t for t in lake.project.tables if t.split(".", 1)[1] == table]
        table = matches[0] if len(matches) == 1 else table
    return lake.project.table(table).qualified


def lineage(
    date: Annotated[str, typer.Option("--date", help="The partition day, YYYY-MM-DD.")],
    table: Annotated[Optional[str], typer.Option("--table", help="Only jobs writing or reading this table.")] = None,
    output: OutputOpt = None,
) -> None:
    """Which jobs wrote a day: when, which run, from which inputs (days @snapshot) to which output, status and why.

    Reads the OpenLineage events of the file transport, and the ledger for jobs they lack.
    Example: [bold]lakemend lineage --date 2025-10-26 --table silver.orders_clean[/]
    """
    from lakemend.cli.app import _lake, _output
    from lakemend.dates import parse_day

    day = parse_day(date)
    lake = _lake()
    found = jobs_of_day(lake, day, _table_name(lake, table) if table else None)
    fmt = _output(output)
    if fmt == "json":
        emit_json([asdict(j) for j in found])
        return
    rows = [[(j.started_at or j.ended_at or "")[:19].replace("T", " "), j.run_id, j.command,
             f"{', '.join(i.describe() for i in j.inputs) or '(none recorded)'} → {j.output()}",
             j.status + (f": {j.error}" if j.error else ""), j.reason or ""] for j in found]
    if rows:
        emit_table(f"Jobs that wrote {day} (UTC, oldest first)", ["started", "run", "command", "inputs → output",
                                                                   "status", "reason"], rows, fmt)
    else:
        console.print(f"No job wrote {day}" + (f" with {table}" if table else "") + ".")
