"""Backfill / rebuild / refresh plans: built before anything is written, printed by --dry-run.

A plan lists the target partitions, their downstream partitions (with ``--downstream``), the
restore point each table gets, and estimates of rows and bytes read and written — all from the
landing listing and Iceberg metadata, never from data files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field

from lakemend.errors import PreconditionFailed
from lakemend.iceberg.files import PartitionStats, partition_stats
from lakemend.lake import Lake
from lakemend.ops.reads import LakeReads
from lakemend.project.project import TableSpec
from lakemend.project.sources import expected_location, landing_files


@dataclass(frozen=True)
class PlannedPartition:
    table: str
    day: dt.date
    role: str  # target | downstream
    reads: PartitionStats
    now: PartitionStats  # what is published now (to be replaced)
    resumed: bool = False  # already published by an earlier attempt of this same backfill


@dataclass(frozen=True)
class BackfillPlan:
    command: str
    layer: str
    tables: tuple[str, ...]
    days: tuple[dt.date, ...]
    downstream: bool
    key: str
    partitions: tuple[PlannedPartition, ...]
    restore_points: tuple[tuple[str, int | None], ...]  # (table, snapshot tagged pre-<run_id>)
    resume_of: str | None = None
    args: dict = field(default_factory=dict)

    @property
    def todo(self) -> list[PlannedPartition]:
        return [p for p in self.partitions if not p.resumed]

    def days_by_table(self) -> dict[str, tuple[dt.date, ...]]:
        out: dict[str, list[dt.date]] = defaultdict(list)
        for part in self.todo:
            out[part.table].append(part.day)
        return {t: tuple(sorted(d)) for t, d in out.items()}


def plan_key(command: str, tables: list[str], days: list[dt.date], downstream: bool) -> str:
    """Identifies "the same backfill" so that a rerun resumes it."""
    blob = json.dumps([command, sorted(tables), [d.isoformat() for d in days], downstream])
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def downstream_days(lake: Lake, targets: dict[str, set[dt.date]]) -> dict[str, set[dt.date]]:
    """Every dependant partition of the targets, transitively, through the partition mappings.

    Candidate days of a dependant are the days it has published plus the days being rebuilt
    upstream, so an ``upto`` input cascades to every later published day.
    """
    found: dict[str, set[dt.date]] = defaultdict(set)
    frontier = {t: set(days) for t, days in targets.items()}
    reads = LakeReads(lake)  # each dependant's built days read once
    while frontier:
        next_frontier: dict[str, set[dt.date]] = defaultdict(set)
        for upstream, days in frontier.items():
            for spec, inp in lake.project.dependants(upstream):
                candidates = sorted(reads.built_days(spec.qualified) | days)
                for changed in days:
                    for day in inp.affected(changed, candidates):
                        if day not in found[spec.qualified] and day not in targets.get(spec.qualified, set()):
                            found[spec.qualified].add(day)
                            next_frontier[spec.qualified].add(day)
        frontier = {t: d for t, d in next_frontier.items() if d}
    return found


def _check_inputs(lake: Lake, spec: TableSpec, day: dt.date, planned: set[tuple[str, dt.date]], reads: LakeReads) -> None:
    """Landing data for bronze; published (or planned) `same` inputs for silver and gold (each
    input's built days read once per plan: a year-long plan scanned the input's manifests each day)."""
    if spec.layer == "bronze":
        if not landing_files(lake.project, spec, day):
            raise PreconditionFailed(
                f"no landing data for {spec.qualified} on {day}: expected files at {expected_location(lake.project, spec, day)}",
                "check that the source delivered (runbook: verify source data is available), then rerun",
            )
        return
    for inp in spec.inputs:
        if not reads.exists(inp.table) and not any(t == inp.table for t, _ in planned):
            raise PreconditionFailed(f"input table {inp.table} of {spec.qualified} does not exist",
                                     f"build it first, e.g. lakemend run --date {day}")
        if inp.mapping == "same" and (inp.table, day) not in planned:
            if day not in reads.built_days(inp.table):
                raise PreconditionFailed(f"{spec.qualified} {day} reads {inp.table} {day}, which is not built",
                                         "backfill the upstream day first, or add --downstream to the upstream backfill")


def _previous_attempt(lake: Lake, key: str) -> tuple[str | None, set[tuple[str, dt.date]]]:
    """The unfinished attempts of the same backfill since its last success, and what they published.

    A partition counts as done when its recorded build still belongs to one of those attempts
    (a later run may have rebuilt it since; then it is simply rebuilt again).
    """
    attempts = []
    for row in lake.state.list_runs(limit=500):
        if (row["args"] or {}).get("plan_key") != key:
            continue
        if row["status"] == "succeeded":
            break
        attempts.append(row["run_id"])
    if not attempts:
        return None, set()
    done = set()
    states: dict[str, dict] = {}
    for run_id in attempts:
        for job in lake.state.list_jobs(run_id=run_id, status="succeeded", limit=100000):
            table = job["table_name"]
            if table not in states:
                states[table] = lake.state.partition_states(table)
            state = states[table].get(job["day"])
            if state and state["run_id"] in attempts:
                done.add((table, job["day"]))
    return attempts[0], done


def plan_backfill(lake: Lake, *, command: str, layer: str, targets: dict[str, set[dt.date]],
                  downstream: bool, args: dict, resume: bool = True) -> BackfillPlan:
    """Plan the rebuild of the target partitions (and their dependants): checks precautions, writes nothing."""
    days = sorted(set().union(*targets.values())) if targets else []
    extra = downstream_days(lake, targets) if downstream else {}
    planned: list[tuple[TableSpec, dt.date, str]] = []
    for spec in lake.project.ordered:
        for day in sorted(targets.get(spec.qualified, set())):
            planned.append((spec, day, "target"))
        for day in sorted(extra.get(spec.qualified, set())):
            planned.append((spec, day, "downstream"))
    keys = {(s.qualified, d) for s, d, _ in planned}
    reads = LakeReads(lake)
    for spec, day, _ in planned:
        _check_inputs(lake, spec, day, keys, reads)
    key = plan_key(command, [f"{t}:{','.join(sorted(d.isoformat() for d in ds))}" for t, ds in targets.items()], days, downstream)
    resume_of, done = _previous_attempt(lake, key) if resume else (None, set())
    stats_cache: dict[str, dict[dt.date, PartitionStats]] = {}

    def stats(qualified: str) -> dict[dt.date, PartitionStats]:
        if qualified not in stats_cache:
            stats_cache[qualified] = partition_stats(lake.table(qualified))
        return stats_cache[qualified]

    partitions = []
    for spec, day, role in planned:
        partitions.append(PlannedPartition(
            table=spec.qualified, day=day, role=role, reads=_estimate_reads(lake, spec, day, stats),
            now=stats(spec.qualified).get(day, PartitionStats()), resumed=(spec.qualified, day) in done,
        ))
    restore_points = []
    for qualified in dict.fromkeys(p.table for p in partitions):
        table = lake.table(qualified)
        snapshot = table.current_snapshot() if table is not None else None
        restore_points.append((qualified, snapshot.snapshot_id if snapshot else None))
    return BackfillPlan(command=command, layer=layer, tables=tuple(targets), days=tuple(days),
                        downstream=downstream, key=key, partitions=tuple(partitions),
                        restore_points=tuple(restore_points), resume_of=resume_of, args={**args, "plan_key": key})


def _estimate_reads(lake: Lake, spec: TableSpec, day: dt.date, stats) -> PartitionStats:  # noqa: ANN001
    if spec.layer == "bronze":
        files = landing_files(lake.project, spec, day)
        size = sum(f.stat().st_size for f in files)
        return PartitionStats(rows=-1, bytes=size)  # rows of raw files are not known without reading them
    rows = size = 0
    for inp in spec.inputs:
        first, last = inp.window(day)
        for d, s in stats(inp.table).items():
            if (first is None or d >= first) and d <= last:
                rows += s.rows
                size += s.bytes
    return PartitionStats(rows, size)
