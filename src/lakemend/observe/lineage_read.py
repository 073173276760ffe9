"""The reading side of lineage: which jobs wrote a day, from which inputs, when and why.

The answer comes from the OpenLineage events of the file transport (``<lineage.path>/<day>.jsonl``,
written by :mod:`lakemend.observe.lineage`), which carry the exact input days and snapshots each
job read. Jobs the events do not know (lineage sent elsewhere, or events older than the lineage
sink) are filled in from the ledger, with the inputs the project's mappings say they read
(snapshot unknown).

Also the conventions both sides share: where the file transport keeps a day's events
(:func:`day_file`) and the OpenLineage run id of a partition job (:func:`job_run_id`).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakemend.errors import LakemendError
from lakemend.project.sources import day_pattern

if TYPE_CHECKING:
    from lakemend.lake import Lake
    from lakemend.project.project import Project

_RUN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:lakemend:partition-job")
STATUS = {"START": "running", "COMPLETE": "succeeded", "FAIL": "failed"}


# ----- shared with the writing side ------------------------------------------------------------------


def job_run_id(run_id: str, table: str, day: dt.date) -> str:
    """The OpenLineage run id of one partition job: the same for its START and its COMPLETE / FAIL."""
    return str(uuid.uuid5(_RUN_NAMESPACE, f"{run_id}/{table}/{day.isoformat()}"))


def lineage_dir(project: Project) -> Path:
    return project.local(project.config.lineage.path)


def day_file(project: Project, day: dt.date) -> Path:
    return lineage_dir(project) / f"{day.isoformat()}.jsonl"


# ----- raw events -------------------------------------------------------------------------------------


def read_day(project: Project, day: dt.date) -> Iterator[dict[str, Any]] | None:
    """The events of the day's file, in the order written; None when there is no file."""
    path = day_file(project, day)
    if not path.is_file():
        return None
    return _read_lines(path)


def _read_lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash mid-write: skip it, keep the rest


# ----- jobs of a day ----------------------------------------------------------------------------------


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


def jobs_of_day(lake: Lake, day: dt.date, table: str | Collection[str] | None = None) -> list[LineageJob]:
    """Every job that wrote the day (events first, then the ledger), oldest first; with ``table``
    (qualified names, one or several), only those writing or reading one of them."""
    events = read_day(lake.project, day)
    jobs = from_events(list(events)) if events is not None else []
    jobs += from_ledger(lake, day, {j.lineage_run_id for j in jobs if j.lineage_run_id})
    if table:
        wanted = {table} if isinstance(table, str) else set(table)
        jobs = [j for j in jobs if j.table in wanted or any(i.table in wanted for i in j.inputs)]
    return sorted(jobs, key=lambda j: (j.started_at or j.ended_at or ""))


@dataclass(frozen=True)
class TableEdge:
    """One edge of a table's lineage: ``source`` is read by ``target`` through ``mapping``."""

    source: str
    target: str
    mapping: str


@dataclass(frozen=True)
class TableLineage:
    """A table's place in the graph: every edge upstream and downstream of it (transitively), the
    landing sources it comes from, and its newest jobs from the ledger."""

    table: str
    sources: list[str]
    upstream: list[TableEdge]
    downstream: list[TableEdge]
    recent: list[dict[str, Any]]


def table_lineage(lake: Lake, qualified: str, recent: int = 10) -> TableLineage:
    """``lineage --table T`` without a day: from the project's graph and the ledger (no data read)."""
    project = lake.project
    up_names = [qualified, *project.upstream(qualified)]
    upstream = [TableEdge(i.table, name, i.mapping) for name in up_names for i in project.tables[name].inputs]
    down_names = [qualified, *project.downstream(qualified)]
    downstream = [TableEdge(name, spec.qualified, i.mapping) for name in down_names
                  for spec, i in project.dependants(name)]
    jobs = lake.state.list_jobs(table=qualified, limit=recent)
    keep = ("run_id", "day", "status", "rows_written", "ended_at", "reason")
    return TableLineage(qualified, project.sources_of(qualified), list(dict.fromkeys(upstream)),
                        list(dict.fromkeys(downstream)), [{k: j.get(k) for k in keep} for j in jobs])
