"""The job lifecycle: every change to a published partition goes through it.

Quarantine and rollback (and each day of an EMR Serverless unit) open a :func:`partition_job`
around the work on one (table, day) — as pyiceberg's ``Transaction`` wraps a commit. On entry it
counts BackfillJobsStarted, writes the ledger row, emits START, checks the pause flag and takes
the partition's lease; on exit — clean, failed or interrupted — it releases the lease, counts
Succeeded/Failed and the duration, closes the ledger row and emits COMPLETE or FAIL. ``run``,
backfill / rebuild / refresh and repair build whole batches of days
(:func:`lakemend.ops.batch.run_batch`), which do the same for each day with one state-DB
transaction per batch end, from the pieces here (:func:`settle`, the pause check, the gate).
So no mutating operation can skip the ledger, the logs, lineage or metrics, and no job row is
left ``running`` by an exception.

:func:`run_scope` does the same for the run that groups the jobs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext as _nothing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakemend.errors import ContractFailed, LakemendError, PartitionPaused
from lakemend.lake import Lake
from lakemend.observe.events import InputRead, JobEvent, emit
from lakemend.observe.redact import redact
from lakemend.project.project import TableSpec
from lakemend.state import leases, metrics
from lakemend.state.metrics import Dimensions
from lakemend.project.sources import Fingerprint
from lakemend.state.store import INTERRUPTED, PauseFlags, utcnow
from lakemend.interrupts import interrupts_deferred

if TYPE_CHECKING:  # only named in annotations: ``status`` imports this module without pyarrow
    from lakemend.build.result import Built
    from lakemend.iceberg.catalog import SchemaChange
    from lakemend.iceberg.publish import PublishResult


@dataclass(frozen=True)
class PartitionJob:
    """A planned build of one partition, with the input identity it will be recorded under."""

    spec: TableSpec
    day: dt.date
    input_key: str
    why: str
    fingerprints: tuple[Fingerprint, ...] = ()


@dataclass
class JobResult:
    table: str
    day: dt.date
    status: str
    why: str = ""
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    rows_deduplicated: int = 0
    seconds: float = 0.0
    error: str | None = None
    snapshot_before: int | None = None
    snapshot_after: int | None = None
    schema_change: SchemaChange | None = None  # the table's schema evolution this job made, if any


@dataclass
class RunningJob:
    """What the body of a :func:`partition_job` reports back: figures, snapshots, inputs read."""

    result: JobResult
    inputs: tuple[InputRead, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def built(self, built: Built) -> None:
        self.inputs = built.inputs
        self.result.rows_read = built.rows_read
        self.result.rows_deduplicated = built.rows_deduplicated
        self.result.rows_quarantined = built.quarantine.num_rows

    def evolved(self, change: SchemaChange) -> None:
        if not change.empty:
            self.result.schema_change = change
            self.extra["schema_change"] = change.as_dict()

    def published(self, published: PublishResult) -> None:
        self.result.rows_written = published.rows
        self.result.snapshot_before = published.snapshot_before
        self.result.snapshot_after = published.snapshot_after


def check_not_paused(lake: Lake, table: str) -> None:
    flag = PauseFlags(lake.state).why_paused(table)
    if flag:
        scope = "all tables are" if flag["table_name"] == "*" else f"{table} is"
        raise PartitionPaused(
            f"{scope} paused since {flag['since']:%Y-%m-%d %H:%M} UTC by {flag['user']}: {flag['reason']}",
            f"lakemend resume {'--all' if flag['table_name'] == '*' else '--table ' + table}, or pass --force",
        )


@contextmanager
def run_scope(lake: Lake, run_id: str, command: str, args: dict[str, Any], reason: str | None,
              hold: Iterable[tuple[str, dt.date]] = (), wait_seconds: float = 0.0) -> Iterator[None]:
    """The ledger's run row: opened first, closed ``succeeded`` on a clean exit, else ``failed``
    (``interrupted`` for Ctrl-C or an exit request).

    ``hold``: partitions whose leases the whole run takes up front — all or none, so a second
    writer is refused before anything changes — and releases at the end. While the run is open a
    heartbeat renews every lease it holds (these, the ones a backfill took before opening it, and
    each job's), so a run longer than ``leases.LEASE_SECONDS`` keeps them. The body may close the
    run itself (the runner does, with its count of failed jobs); an exception always closes it.
    A run whose process is killed cannot close itself: the next store opened on this host closes
    it ``interrupted`` (``StateStore.close_interrupted``).
    """
    lake.state.start_run(run_id, command, args, reason)
    try:
        with leases.heartbeat(lake.state, run_id):
            held = list(hold)
            if held:
                leases.acquire(lake.state, held, run_id, wait_seconds=wait_seconds)
            yield
    except BaseException as exc:
        if isinstance(exc, Exception):
            lake.state.finish_run(run_id, "failed", redact(lake.project, str(exc) or type(exc).__name__))
        else:  # Ctrl-C, SystemExit: the run and every job still open in it (a worker thread's) closed interrupted
            with interrupts_deferred(), job_gate:  # no worker opens a job row while they are closed
                stopping_runs.add(run_id)
                message = f"interrupted: {type(exc).__name__}"
                lake.state.finish_run(run_id, INTERRUPTED, message)
                for row in lake.state.list_jobs(status="running", run_id=run_id, limit=10_000):
                    lake.state.finish_job(row["id"], INTERRUPTED, error=message)
                interrupted_runs.append(InterruptedRun(run_id, command, resume_hint(run_id, args)))
        raise
    else:
        record = lake.state.get_run(run_id)
        if record is not None and record["status"] == "running":
            lake.state.finish_run(run_id, "succeeded")
    finally:
        leases.release(lake.state, run_id)


@dataclass(frozen=True)
class InterruptedRun:
    """A run of this process closed ``interrupted`` by Ctrl-C: what the CLI tells the person."""

    run_id: str
    command: str
    resume: str  # how to pick up where it stopped


interrupted_runs: list[InterruptedRun] = []
"""The runs this process closed as interrupted, oldest first (read by the CLI's error boundary)."""

job_gate = threading.Lock()
stopping_runs: set[str] = set()
"""Runs closed as interrupted: a worker thread that picked up one of their jobs just before
Ctrl-C opens no ledger row for it (the row would be left ``running`` when the process exits)."""


class RunStopped(KeyboardInterrupt):
    """Raised in a worker thread for a job of a run that Ctrl-C already closed."""


def resume_hint(run_id: str, args: dict[str, Any]) -> str:
    """How to finish an interrupted run: a backfill plan resumes by id; anything else by being rerun
    (every command skips what is already up to date or published)."""
    if "plan_key" in (args or {}):
        return f"rerun the same command or lakemend runs resume {run_id}"
    return "rerun the same command"


def may_drop_stage_of(lake: Lake, run_id: str) -> Callable[[str], bool]:
    """For ``publish_day``: whether a leftover stage branch of another run may be dropped — only
    when that run is in the ledger and no longer running (finished, failed or interrupted; one
    still marked running whose process has died meanwhile is closed as interrupted here)."""
    def finished(other: str) -> bool:
        if other == run_id:
            return False
        status = lake.state.run_status(other)
        if status == "running" and other in lake.state.close_interrupted():
            return True
        return status not in (None, "running")

    return finished


def settle(lake: Lake, result: JobResult, exc: BaseException | None, *, debug: bool = False) -> None:
    """A job's final status and error from the exception that ended it (None: it stands as it is).

    A contract failure keeps the figures the build read before the check; a lakemend error keeps
    its message, another exception its type too (and its traceback with ``--debug``); Ctrl-C or
    an exit request makes the job ``interrupted``. Messages are redacted.
    """
    if exc is None:
        return
    result.status = "failed"
    if isinstance(exc, ContractFailed) and exc.rows_read is not None:  # what the build read before the check
        result.rows_read = exc.rows_read
        result.rows_quarantined = exc.rows_quarantined or 0
        result.rows_deduplicated = exc.rows_deduplicated or 0
    if isinstance(exc, LakemendError):
        result.error = redact(lake.project, str(exc))
    elif isinstance(exc, Exception):
        result.error = redact(lake.project, f"{type(exc).__name__}: {exc}")
        if debug:
            traceback.print_exception(exc)
    else:  # Ctrl-C, SystemExit: recorded as interrupted, then it stops the run
        result.status = INTERRUPTED
        result.error = f"interrupted: {type(exc).__name__}"


class partition_job:  # noqa: N801 - used like a function: ``with partition_job(...) as running``
    """One partition job from ledger row to COMPLETE/FAIL event; see the module docstring.

    Any failure — in the pause check, the lease or the body — is recorded (ledger row
    ``failed`` with the redacted message, BackfillJobsFailed, a FAIL event) and then raised;
    the caller decides whether the run goes on. ``result`` is readable after the block either way.
    """

    def __init__(self, lake: Lake, *, run_id: str, command: str, spec: TableSpec, day: dt.date, reason: str | None,
                 why: str = "", input_key: str | None = None, check_pause: bool = True, wait_seconds: float = 0.0,
                 debug: bool = False) -> None:
        self.lake, self.run_id, self.command, self.spec, self.day = lake, run_id, command, spec, day
        self.reason, self.input_key, self.check_pause = reason, input_key, check_pause
        self.wait_seconds, self.debug = wait_seconds, debug
        self.result = JobResult(spec.qualified, day, "failed", why)
        self.running = RunningJob(self.result)

    @property
    def key(self) -> tuple[str, dt.date]:
        return (self.spec.qualified, self.day)

    def __enter__(self) -> RunningJob:
        lake, spec = self.lake, self.spec
        if self.run_id in stopping_runs:  # checked again with the ledger row, under the gate
            raise RunStopped(f"{self.run_id} was interrupted")
        self.started = time.perf_counter()
        self.dims = Dimensions(spec.layer, spec.qualified, ",".join(lake.project.sources_of(spec.qualified)) or None)
        metrics.record(lake.state, metrics.STARTED, 1, self.dims, self.run_id)
        current = lake.table(spec.qualified)
        before = current.current_snapshot().snapshot_id if current is not None and current.current_snapshot() else None
        self.result.snapshot_before = before
        with job_gate:
            if self.run_id in stopping_runs:
                raise RunStopped(f"{self.run_id} was interrupted")
            self.job_id = lake.state.start_job(self.run_id, self.command, spec.layer, spec.qualified, self.day,
                                               self.reason, before, self.input_key)
        self.event = JobEvent(kind="START", run_id=self.run_id, command=self.command, layer=spec.layer,
                              table=spec.qualified, day=self.day, reason=self.reason, at=utcnow(),
                              source=self.dims.source, snapshot_before=before)
        emit(lake, self.event)
        try:
            if self.check_pause:
                check_not_paused(lake, spec.qualified)
            leases.acquire(lake.state, [self.key], self.run_id, wait_seconds=self.wait_seconds)
        except BaseException as exc:
            self._finish(exc)
            raise
        return self.running

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.result.status = "succeeded"
        self._finish(exc)

    def _finish(self, exc: BaseException | None) -> None:
        lake, result = self.lake, self.result
        settle(lake, result, exc, debug=self.debug)
        leases.release(lake.state, self.run_id, [self.key])
        result.seconds = time.perf_counter() - self.started
        succeeded = result.status == "succeeded"
        metrics.record(lake.state, metrics.SUCCEEDED if succeeded else metrics.FAILED, 1, self.dims, self.run_id)
        metrics.record(lake.state, metrics.DURATION, round(result.seconds, 3), self.dims, self.run_id)
        with interrupts_deferred() if result.status == INTERRUPTED else _nothing():
            lake.state.finish_job(
                self.job_id, result.status, rows_read=result.rows_read, rows_written=result.rows_written,
                rows_quarantined=result.rows_quarantined, rows_deduplicated=result.rows_deduplicated,
                snapshot_before=result.snapshot_before, snapshot_after=result.snapshot_after, error=result.error,
            )
        emit(lake, dataclasses.replace(
            self.event, kind="COMPLETE" if succeeded else "FAIL", at=utcnow(), inputs=self.running.inputs,
            snapshot_before=result.snapshot_before, snapshot_after=result.snapshot_after, rows_read=result.rows_read,
            rows_written=result.rows_written, rows_quarantined=result.rows_quarantined,
            rows_deduplicated=result.rows_deduplicated, seconds=result.seconds, error=result.error,
            extra=self.running.extra,
        ))
