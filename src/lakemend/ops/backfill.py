"""The runbook's backfill, rebuild and refresh: plan → precautions → (dry-run diff | apply).

Apply takes every lease of the plan up front (a second writer fails fast), then runs the
partitions table by table through the same partition job as ``lakemend run``: each day staged
on a branch, audited, published in one commit behind the ``pre-<run_id>`` restore point. A
rerun of the same command resumes: days the interrupted attempt published are skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakemend.state import leases
from lakemend.build.diff import PartitionDiff, diff_in
from lakemend.errors import LakemendError
from lakemend.build.bronze import build_bronze
from lakemend.build.model import Overrides, build_model
from lakemend.build.shared import BuildSession
from lakemend.ops.job import check_not_paused
from lakemend.lake import Lake
from lakemend.ops.plans import BackfillPlan, PlannedPartition, plan_backfill
from lakemend.project.project import TableSpec
from lakemend.iceberg.catalog import SchemaChange, schema_diff
from lakemend.iceberg.files import day_filter, days_filter, partition_day
from lakemend.ops.runner import (DEFAULT_BATCH_DAYS, Decision, Execution, ProgressHook, RunReport, TableReads,
                                 execute_plan, new_run_id)

if TYPE_CHECKING:
    import pyarrow as pa

    from lakemend.build.result import Built
    from lakemend.engines.base import Session


def target_tables(lake: Lake, layer: str, name: str) -> list[TableSpec]:
    if layer == "bronze":
        return lake.project.source_tables(name)
    if name == "all":
        return lake.project.layer_tables(layer)
    return [lake.project.resolve_table(layer, name)]


def make_plan(lake: Lake, *, command: str, layer: str, name: str, days: list[dt.date], downstream: bool) -> BackfillPlan:
    tables = target_tables(lake, layer, name)
    args = {"layer": layer, "name": name, "days": [d.isoformat() for d in days], "downstream": downstream}
    targets = {t.qualified: set(days) for t in tables}
    return plan_backfill(lake, command=command, layer=layer, targets=targets, downstream=downstream, args=args)


def check_not_paused_plan(lake: Lake, plan: BackfillPlan) -> None:
    for table in dict.fromkeys(p.table for p in plan.todo):
        check_not_paused(lake, table)


def dry_run(lake: Lake, plan: BackfillPlan, on_diff: Callable[[PartitionDiff], None] | None = None,
            on_schema: Callable[[SchemaChange], None] | None = None) -> list[PartitionDiff]:
    """Build every planned partition in memory and diff it against what is published; write nothing.

    ``on_schema`` hears, once per table, how the built rows' columns differ from the table's
    schema (what the run would evolve, or refuse: ``SchemaChange.refusal``).

    Each run of one table's days is built as a batch builds them (``build.shared``: one engine
    session, each input's files planned once), what a table publishes now is planned once for
    all its days, and the diffs share one session: a year-long plan read every input's manifests
    three times a day and opened two sessions a day (a one-year ``refresh gold --dry-run`` of the
    example took 71 s). Each day still sees exactly the inputs, and the row counts, it sees built alone.
    """
    with lake.engine.session() as diff_con:
        run = _DryRun(lake, _PublishedRows(lake, plan.days_by_table()), diff_con, on_diff, on_schema)
        for days in _day_runs(plan.todo):
            run.build(days)
    return run.diffs


@dataclass
class _DryRun:
    """What a dry run carries from one table's days to the next: the rows built so far (a
    downstream day reads its rebuilt inputs from them), the schema changes told, the diffs."""

    lake: Lake
    published: _PublishedRows
    diff_con: Session
    on_diff: Callable[[PartitionDiff], None] | None
    on_schema: Callable[[SchemaChange], None] | None
    overrides: Overrides = field(default_factory=dict)
    schema_seen: dict[str, set[SchemaChange]] = field(default_factory=dict)
    diffs: list[PartitionDiff] = field(default_factory=list)

    def build(self, days: list[PlannedPartition]) -> None:
        """One table's days, in date order, built in one session."""
        from lakemend.engines import parser_engine

        spec = self.lake.project.table(days[0].table)
        engine = parser_engine() if spec.layer == "bronze" else self.lake.engine
        with BuildSession(self.lake, engine, spec, [part.day for part in days]) as shared:
            for part in days:
                try:
                    built = self._built(spec, part.day, shared)
                finally:
                    shared.settled(part.day)  # publishes nothing: the next day counts the published rows
                self.overrides[(part.table, part.day)] = built.rows
                self._tell_schema(part.table, built.rows.schema)
                diff = diff_in(self.diff_con, part.table, part.day, self.published.rows(part.table, part.day),
                               built.rows, spec.unique_key)
                self.diffs.append(diff)
                if self.on_diff:
                    self.on_diff(diff)

    def _built(self, spec: TableSpec, day: dt.date, shared: BuildSession) -> Built:
        if spec.layer == "bronze":
            from lakemend.ops.runner import bronze_fingerprints

            return build_bronze(self.lake, spec, day, bronze_fingerprints(self.lake, spec, day), "dry-run", shared)
        return build_model(self.lake, spec, day, self.overrides, shared)

    def _tell_schema(self, qualified: str, schema: pa.Schema) -> None:
        table = self.lake.table(qualified, refresh=False)
        if table is None:
            return
        change = schema_diff(qualified, table.schema(), schema)
        seen = self.schema_seen.setdefault(qualified, set())
        if not change.empty and change not in seen:
            seen.add(change)
            if self.on_schema:
                self.on_schema(change)


def _day_runs(parts: list[PlannedPartition]) -> list[list[PlannedPartition]]:
    """The parts in order, cut into runs of one table's days in date order (each built in one
    session: a day's ``row_count_vs_recent`` waits for the session's earlier days)."""
    runs: list[list[PlannedPartition]] = []
    for part in parts:
        if runs and runs[-1][-1].table == part.table and runs[-1][-1].day < part.day:
            runs[-1].append(part)
        else:
            runs.append([part])
    return runs


class _PublishedRows:
    """What each table publishes now, day by day, for the diffs: its files planned once for the
    plan's days of it, and each day read as ``table.scan(row_filter=day).to_arrow()`` reads it
    (pyiceberg's Arrow scan of that day's tasks). A day whose files are gone from storage diffs as empty."""

    def __init__(self, lake: Lake, days: dict[str, tuple[dt.date, ...]]) -> None:
        self.lake, self.days = lake, days
        self._planned: dict[str, tuple[Any, Any, dict[dt.date, list[Any]]] | None] = {}

    def rows(self, qualified: str, day: dt.date):  # noqa: ANN201 - pa.Table | None
        if qualified not in self._planned:
            self._planned[qualified] = self._plan(qualified)
        planned = self._planned[qualified]
        if planned is None:
            return None
        table, scan, tasks = planned
        from pyiceberg.io.pyarrow import ArrowScan

        try:
            return ArrowScan(table.metadata, table.io, scan.projection(), day_filter(day), scan.case_sensitive).to_table(
                tasks.get(day, []))
        except (FileNotFoundError, OSError):
            return None

    def _plan(self, qualified: str) -> tuple[Any, Any, dict[dt.date, list[Any]]] | None:
        table = self.lake.table(qualified)
        if table is None:
            return None
        scan = table.scan(row_filter=days_filter(self.days.get(qualified, ())))
        by_day: dict[dt.date, list[Any]] = {}
        try:
            for task in scan.plan_files():
                by_day.setdefault(partition_day(task.file.partition[0]), []).append(task)
        except (FileNotFoundError, OSError):
            return None
        return table, scan, by_day


@dataclass(frozen=True)
class ApplyOptions:
    reason: str
    max_parallel: int = 1
    force: bool = False
    wait_seconds: float = 0.0
    allow_schema_change: bool = False
    batch_days: int = DEFAULT_BATCH_DAYS  # days of one table published in one commit (ops/batch.py)


def apply(lake: Lake, plan: BackfillPlan, options: ApplyOptions, *, on_event: ProgressHook | None = None,
          debug: bool = False, run_id: str | None = None) -> RunReport:
    """Take the plan's leases, then rebuild its partitions in dependency order."""
    if not options.force:
        check_not_paused_plan(lake, plan)
    run_id = run_id or new_run_id()
    keys = [(p.table, p.day) for p in plan.todo]
    leases.acquire(lake.state, keys, run_id, wait_seconds=options.wait_seconds)
    planned = {(p.table, p.day) for p in plan.todo}

    def choose(target: Lake, spec: TableSpec, day: dt.date, reads: TableReads) -> Decision:
        if (spec.qualified, day) not in planned:
            return Decision(spec, day, "resumed", "published by the interrupted attempt")
        decision = reads.decide(target, spec, day, force=True)
        if decision.action == "no-input":
            raise LakemendError(f"{spec.qualified} {day}: {decision.why}", "the inputs vanished after planning; rerun")
        return decision

    tables = tuple(lake.project.table(t) for t in dict.fromkeys(p.table for p in plan.todo))
    args = {**plan.args, "resume_of": plan.resume_of}
    if options.allow_schema_change:  # so that `runs resume` carries it on
        args["allow_schema_change"] = True
    execution = Execution(command=plan.command, tables=tables, days=plan.days_by_table(), reason=options.reason,
                          args=args, choose=choose, force=options.force, max_parallel=options.max_parallel,
                          wait_seconds=options.wait_seconds, allow_schema_change=options.allow_schema_change,
                          batch_days=options.batch_days)
    try:
        return execute_plan(lake, execution, run_id=run_id, on_event=on_event, debug=debug)
    finally:
        leases.release(lake.state, run_id)
