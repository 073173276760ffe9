"""The runbook's backfill, rebuild and refresh: plan → precautions → (dry-run diff | apply).

Apply takes every lease of the plan up front (a second writer fails fast), then runs the
partitions table by table through the same partition job as ``lakemend run``: each day staged
on a branch, audited, published in one commit behind the ``pre-<run_id>`` restore point. A
rerun of the same command resumes: days the interrupted attempt published are skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from lakemend.state import leases
from lakemend.build.diff import PartitionDiff, diff_partition
from lakemend.errors import LakemendError
from lakemend.build.bronze import build_bronze
from lakemend.build.model import Overrides, build_model
from lakemend.ops.job import check_not_paused
from lakemend.lake import Lake
from lakemend.ops.plans import BackfillPlan, plan_backfill
from lakemend.project.project import TableSpec
from lakemend.iceberg.catalog import SchemaChange, schema_diff
from lakemend.iceberg.files import day_filter
from lakemend.ops.runner import (DEFAULT_BATCH_DAYS, Decision, Execution, ProgressHook, RunReport, TableReads,
                                 execute_plan, new_run_id)


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
    """
    from lakemend.ops.runner import bronze_fingerprints

    overrides: Overrides = {}
    diffs = []
    schema_seen: dict[str, set[SchemaChange]] = {}
    for part in plan.todo:
        spec = lake.project.table(part.table)
        if spec.layer == "bronze":
            built = build_bronze(lake, spec, part.day, bronze_fingerprints(lake, spec, part.day), "dry-run")
        else:
            built = build_model(lake, spec, part.day, overrides)
        overrides[(part.table, part.day)] = built.rows
        table = lake.table(part.table, refresh=False)
        if table is not None:
            change = schema_diff(part.table, table.schema(), built.rows.schema)
            seen = schema_seen.setdefault(part.table, set())
            if not change.empty and change not in seen:
                seen.add(change)
                if on_schema:
                    on_schema(change)
        old = _published_rows(lake, part.table, part.day)
        diff = diff_partition(lake.engine, part.table, part.day, old, built.rows, spec.unique_key)
        diffs.append(diff)
        if on_diff:
            on_diff(diff)
    return diffs


def _published_rows(lake: Lake, qualified: str, day: dt.date):  # noqa: ANN202 - pa.Table | None
    """What is published for the day; a day whose files are gone from storage diffs as empty."""
    table = lake.table(qualified)
    if table is None:
        return None
    try:
        return table.scan(row_filter=day_filter(day)).to_arrow()
    except (FileNotFoundError, OSError):
        return None


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
