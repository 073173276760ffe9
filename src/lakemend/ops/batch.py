"""A batch: one table over several days, built in one engine session and published in one commit.

The runner hands over the planned days of a table in batches (``--batch-days``). Each day is
built by exactly the SQL it would run alone (:mod:`lakemend.build.shared`), its rows written as
data files and audited — nothing is visible yet — and then every audited day is published in
**one Iceberg commit per table** (the quarantine table's first, then the table's), behind the
run's restore-point tag. A day that fails its build, contract or audit is left out and recorded
failed; the others publish.

The ledger stays one row per (table, day), written in one state-DB transaction when the batch
starts (with BackfillJobsStarted) and one when it ends (rows closed, partition states,
fingerprints, BackfillJobsSucceeded/Failed and durations); START/COMPLETE/FAIL events are
emitted per day, as :class:`~lakemend.ops.job.partition_job` does for a single job. A kill at any
moment leaves every day old or new (a commit is atomic; files written before it are
unreferenced, and vacuum removes them); the rerun decides day by day and rebuilds only what the
killed batch did not publish and record. An engine with its own Iceberg writer (Spark) builds
the batch in one session too but publishes day by day through its stage branches.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from lakemend.build.bronze import build_bronze
from lakemend.build.contracts import written_problems
from lakemend.build.ingest import QUARANTINE_SCHEMA
from lakemend.build.model import build_model
from lakemend.build.shared import BuildSession, BuildStopped
from lakemend.engines import parser_engine
from lakemend.errors import ContractFailed
from lakemend.iceberg.catalog import evolve_schema
from lakemend.iceberg.publish import (
    PublishResult,
    StagedDay,
    conform,
    publish_day,
    publish_days,
    stage_day,
)
from lakemend.lake import Lake
from lakemend.observe.events import JobEvent, emit
from lakemend.ops.job import (
    JobResult,
    PartitionJob,
    RunningJob,
    RunStopped,
    check_not_paused,
    job_gate,
    may_drop_stage_of,
    settle,
    stopping_runs,
)
from lakemend.interrupts import interrupts_deferred, stop_if_interrupted
from lakemend.ops.workers import in_threads
from lakemend.startup import work_begins
from lakemend.state import leases, metrics
from lakemend.state.guard import StateUnavailable
from lakemend.state.metrics import Dimensions
from lakemend.state.store import utcnow

if TYPE_CHECKING:
    from pyiceberg.table import Table

Started = Callable[[PartitionJob], None]


@dataclass(frozen=True)
class BatchOptions:
    """How the jobs of a batch run (the run's options)."""

    command: str
    reason: str | None
    force: bool = False  # also: paused tables are built
    wait_seconds: float = 0.0
    allow_schema_change: bool = False
    debug: bool = False
    threads: int = 1  # days built at once (the run's --max-parallel)


@dataclass
class _Day:
    """One day's job inside the batch: its ledger row, figures and what it will publish."""

    job: PartitionJob
    job_id: int
    event: JobEvent
    running: RunningJob
    seconds: float = 0.0
    staged: StagedDay | None = None
    quarantine: pa.Table | None = None
    published: PublishResult | None = None
    error: BaseException | None = None
    closed: bool = False

    def publish(self, published: PublishResult) -> None:
        self.published = published
        self.running.published(published)
        self.running.result.status = "succeeded"

    @property
    def result(self) -> JobResult:
        return self.running.result


def run_batch(lake: Lake, jobs: list[PartitionJob], run_id: str, options: BatchOptions,
              started: Started | None = None) -> list[JobResult]:
    """Build, audit and publish the days of one table (see the module docstring); one result per job.

    A failed day is recorded and returned, never raised; Ctrl-C closes every open day
    ``interrupted`` and is raised; a state DB that cannot be written stops the run.
    """
    if not jobs:
        return []
    spec = jobs[0].spec
    assert all(job.spec.qualified == spec.qualified for job in jobs), "a batch is one table"
    dims = Dimensions(spec.layer, spec.qualified, ",".join(lake.project.sources_of(spec.qualified)) or None)
    days = _open(lake, jobs, run_id, options, dims)
    keys = [(spec.qualified, job.day) for job in jobs]
    leased = False
    try:
        if not options.force:
            check_not_paused(lake, spec.qualified)
        leases.acquire(lake.state, keys, run_id, wait_seconds=options.wait_seconds)
        leased = True
        _build(lake, days, run_id, options, started)
        _publish(lake, [d for d in days if d.error is None], run_id, options)
    except StateUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - the pause check or a lease: every open day fails with it
        for day in days:
            if day.error is None and day.result.status != "succeeded":
                day.error = exc
    except BaseException as exc:  # Ctrl-C, SystemExit: recorded as interrupted, then it stops the run
        for day in days:
            if day.result.status != "succeeded":
                day.error = exc
        with interrupts_deferred():
            _close(lake, days, run_id, options, dims, leased)
        raise
    _close(lake, days, run_id, options, dims, leased)
    return [day.result for day in days]


def _open(lake: Lake, jobs: list[PartitionJob], run_id: str, options: BatchOptions, dims: Dimensions) -> list[_Day]:
    """The batch's ledger rows and BackfillJobsStarted, in one transaction; a START event per day."""
    spec = jobs[0].spec
    stop_if_interrupted()
    if run_id in stopping_runs:  # a worker thread picking up a batch of a run Ctrl-C already closed
        raise RunStopped(f"{run_id} was interrupted")
    current = lake.table(spec.qualified)
    snapshot = current.current_snapshot() if current is not None else None
    before = snapshot.snapshot_id if snapshot is not None else None
    with job_gate:
        if run_id in stopping_runs:
            raise RunStopped(f"{run_id} was interrupted")
        ids = lake.state.start_jobs(run_id, options.command, spec.layer, spec.qualified,
                                    [(job.day, job.input_key) for job in jobs], options.reason, before,
                                    [metrics.row(metrics.STARTED, 1, dims, run_id) for _ in jobs])
    days = []
    for job, job_id in zip(jobs, ids, strict=True):
        result = JobResult(spec.qualified, job.day, "failed", job.why, snapshot_before=before)
        event = JobEvent(kind="START", run_id=run_id, command=options.command, layer=spec.layer, table=spec.qualified,
                         day=job.day, reason=options.reason, at=utcnow(), source=dims.source, snapshot_before=before)
        emit(lake, event)
        days.append(_Day(job, job_id, event, RunningJob(result)))
    return days


def _build(lake: Lake, days: list[_Day], run_id: str, options: BatchOptions, started: Started | None) -> None:
    """Each day built, its schema evolved, its rows checked and written as data files (staged).

    Days are built in date order by up to ``options.threads`` threads, each with its own engine
    session (``build.shared``): one day of a few rows keeps an engine on one core, and one day's
    Parquet writing overlaps another's build; memory holds one day in flight per thread. The
    table itself (created, schema evolved) is touched by one thread at a time. An engine that
    publishes itself (Spark) builds the days one by one.
    """
    spec = days[0].job.spec
    engine = parser_engine() if spec.layer == "bronze" else lake.engine
    gate = _TableGate()
    threads = 1 if lake.writer is not None else max(1, min(options.threads, len(days)))
    with BuildSession(lake, engine, spec, [d.job.day for d in days], threads=threads) as shared:
        work_begins()  # the process's imports are done: collect garbage as usual from here

        def build(day: _Day) -> None:
            if started is not None:
                started(day.job)
            _build_day(lake, day, run_id, options, shared, gate)

        if lake.writer is not None:
            for day in days:
                stop_if_interrupted()
                build(day)
            return
        # Even one build thread is not the main thread: there a Ctrl-C reaches a running DuckDB
        # statement late, sometimes only when it ends; a main thread that only waits takes it at
        # once and interrupts the statements. Ctrl-C or the state DB: no more days start, the
        # running ones are interrupted (files written meanwhile stay unreferenced, vacuum removes
        # them). A day's own failure is recorded on the day; only StateUnavailable or BuildStopped
        # leaves a thread.
        in_threads(days, build, threads, name="lakemend-build", stop=shared.stop)


class _TableGate:
    """The table a batch builds, prepared by one build thread at a time: created on first use, and
    its schema evolved for a day's rows unless they have the schema it was last evolved for
    (the table has not changed since, so the answer would be "no change")."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._evolved_for: pa.Schema | None = None

    def prepare(self, lake: Lake, qualified: str, schema: pa.Schema, running: RunningJob, allow: bool) -> Table:
        with self._lock:
            table = lake.ensure_table(qualified, schema)
            if self._evolved_for is None or not schema.equals(self._evolved_for):
                running.evolved(evolve_schema(table, qualified, schema, allow=allow))
                self._evolved_for = schema
            return table


def _build_day(lake: Lake, day: _Day, run_id: str, options: BatchOptions, shared: BuildSession,
               gate: _TableGate) -> None:
    """Build one day and stage its rows (an engine with its own writer publishes them); a
    failure is recorded on the day. Settles the day in ``shared`` whatever happens."""
    job, running = day.job, day.running
    spec = job.spec
    began = time.perf_counter()
    try:
        if spec.layer == "bronze":
            built = build_bronze(lake, spec, job.day, job.fingerprints, run_id, shared)
        else:
            built = build_model(lake, spec, job.day, shared=shared)
        running.built(built)
        table = gate.prepare(lake, spec.qualified, built.rows.schema, running, options.allow_schema_change)
        rows = conform(table, built.rows, job.day)
        problems = written_problems(spec.contract, rows)
        if problems:
            raise ContractFailed(f"{spec.qualified} {job.day}: contract failed on the rows to write: {'; '.join(problems)}",
                                 "the published data is untouched; fix the model or the contract and rerun")
        if lake.writer is not None:  # the engine writes: its own write-audit-publish, day by day
            _publish_quarantine(lake, spec.qualified, {job.day: built.quarantine}, run_id, options)
            day.publish(publish_day(table, rows, job.day, run_id, drop_stale=may_drop_stage_of(lake, run_id),
                                    writer=lake.writer))
            shared.settled(job.day, rows.num_rows)
            return
        day.quarantine = built.quarantine
        shared.settled(job.day, rows.num_rows)
        try:
            day.staged = stage_day(table, rows, job.day)
        except Exception as exc:  # noqa: BLE001 - this day fails its audit; the batch goes on
            day.error = exc
    except (StateUnavailable, BuildStopped):
        raise
    except Exception as exc:  # noqa: BLE001 - this day fails; the batch goes on
        day.error = exc
    finally:
        shared.settled(job.day)  # a failed day publishes nothing (settling twice changes nothing)
        day.seconds += time.perf_counter() - began


def _publish(lake: Lake, days: list[_Day], run_id: str, options: BatchOptions) -> None:
    """The staged days in one commit per table: quarantine rows first, then the table itself."""
    staged = [d for d in days if d.staged is not None]
    if not staged:
        return
    spec = staged[0].job.spec
    began = time.perf_counter()
    try:
        _publish_quarantine(lake, spec.qualified, {d.job.day: d.quarantine for d in staged if d.quarantine is not None},
                            run_id, options)
        table = lake.table(spec.qualified, refresh=False)
        assert table is not None
        published = publish_days(table, [d.staged for d in staged if d.staged is not None], run_id,
                                 drop_stale=may_drop_stage_of(lake, run_id))
    except StateUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - nothing of the batch was published: every staged day fails
        for day in staged:
            day.error = exc
        return
    finally:
        share = (time.perf_counter() - began) / len(staged)
        for day in staged:
            day.seconds += share
    for day in staged:
        day.publish(published[day.job.day])
    _compact_if_due(table, run_id)


def _compact_if_due(table, run_id: str) -> None:  # noqa: ANN001 - pyiceberg Table
    """Keep planning flat as the table ages: past ``COMPACT_AT`` manifests, merge them in one commit
    that changes no data (``iceberg.maintenance``). Best effort: a lost race leaves it to the next
    batch or to ``vacuum``."""
    from pyiceberg.exceptions import CommitFailedException

    from lakemend.iceberg.maintenance import COMPACT_AT, compact_manifests, data_manifests

    if data_manifests(table) >= COMPACT_AT:
        try:
            compact_manifests(table, run_id)
        except CommitFailedException:
            table.refresh()


def _publish_quarantine(lake: Lake, qualified_source: str, rows_by_day: dict[dt.date, pa.Table], run_id: str,
                        options: BatchOptions) -> None:
    """Replace the days' quarantine rows in one commit (also with none, so a clean rebuild clears
    old ones); days with no quarantine rows that have none published are left alone."""
    qualified = f"quarantine.{qualified_source.split('.', 1)[1]}"
    present = set(lake.published_days(qualified, refresh=False)) if lake.table(qualified) is not None else set()
    wanted = {day: rows for day, rows in rows_by_day.items() if rows.num_rows or day in present}
    if not wanted:
        return
    table = lake.ensure_table(qualified, QUARANTINE_SCHEMA)
    evolve_schema(table, qualified, QUARANTINE_SCHEMA, allow=options.allow_schema_change)  # an older lakemend's layout
    staged = []
    for day, rows in sorted(wanted.items()):
        rows = rows.cast(QUARANTINE_SCHEMA)
        rows = rows.set_column(rows.schema.get_field_index("run_id"), "run_id", pa.array([run_id] * rows.num_rows, pa.string()))
        if lake.writer is not None:
            publish_day(table, rows, day, run_id, drop_stale=may_drop_stage_of(lake, run_id), writer=lake.writer)
        else:
            staged.append(stage_day(table, conform(table, rows, day), day))
    publish_days(table, staged, run_id, drop_stale=may_drop_stage_of(lake, run_id))


def _close(lake: Lake, days: list[_Day], run_id: str, options: BatchOptions, dims: Dimensions, leased: bool) -> None:
    """Every day's outcome recorded in one transaction; leases released; COMPLETE or FAIL per day."""
    closed, built, prints, samples = [], [], [], []
    for day in days:
        if day.closed:
            continue
        result = day.result
        _settle(lake, day, options)
        succeeded = result.status == "succeeded"
        closed.append((day.job_id, result.status, dict(
            rows_read=result.rows_read, rows_written=result.rows_written, rows_quarantined=result.rows_quarantined,
            rows_deduplicated=result.rows_deduplicated, snapshot_before=result.snapshot_before,
            snapshot_after=result.snapshot_after, error=result.error)))
        samples.append(metrics.row(metrics.SUCCEEDED if succeeded else metrics.FAILED, 1, dims, run_id))
        samples.append(metrics.row(metrics.DURATION, round(result.seconds, 3), dims, run_id))
        if succeeded and day.published is not None:
            built.append(dict(table=result.table, day=result.day, input_key=day.job.input_key,
                              files_key=day.published.files_key, files=day.published.files,
                              snapshot_id=result.snapshot_after, rows=result.rows_written))
            if day.job.spec.layer == "bronze":
                prints.append((result.table, result.day, day.job.fingerprints))
    try:
        lake.state.finish_batch(closed, built, prints, run_id, samples)
    finally:
        if leased:
            leases.release(lake.state, run_id, [(d.job.spec.qualified, d.job.day) for d in days])
    for day in days:
        if day.closed:
            continue
        day.closed = True
        result = day.result
        emit(lake, dataclasses.replace(
            day.event, kind="COMPLETE" if result.status == "succeeded" else "FAIL", at=utcnow(),
            inputs=day.running.inputs, snapshot_before=result.snapshot_before, snapshot_after=result.snapshot_after,
            rows_read=result.rows_read, rows_written=result.rows_written, rows_quarantined=result.rows_quarantined,
            rows_deduplicated=result.rows_deduplicated, seconds=result.seconds, error=result.error,
            extra=day.running.extra,
        ))


def _settle(lake: Lake, day: _Day, options: BatchOptions) -> None:
    """The day's final status and error message from what happened to it."""
    day.result.seconds = day.seconds
    settle(lake, day.result, day.error, debug=options.debug)
    if day.error is not None:
        day.result.rows_written, day.result.snapshot_after = 0, None
