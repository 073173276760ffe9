"""Run partition jobs in dependency order, skipping partitions that are already up to date.

A partition is up to date when the state DB recorded a build with the same *input key* (code
hash + the identity of every input day it reads) and the day's files in Iceberg are still the
ones that build published. Upstream tables are built before their dependants are planned, so a
dependant sees the new input identity of a day that was just rebuilt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lakemend.iceberg.files import EMPTY_FILES_KEY
from lakemend.lake import Lake
from lakemend.ops.reads import LakeReads
from lakemend.ops.workers import in_threads
from lakemend.project.project import Project, TableSpec
from lakemend.project.sources import (Fingerprint, LandingListing, ListedFile, content_key, fingerprint,
                                      landing_entries, landing_listing)
from lakemend.project.storage import mtime_iso

if TYPE_CHECKING:  # the job lifecycle (and the state DB's SQLAlchemy with it) loads when jobs run: ``status``
    from lakemend.ops.job import JobResult, PartitionJob  # only asks ``decide`` of every built day


def new_run_id() -> str:
    now = dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Decision:
    spec: TableSpec
    day: dt.date
    action: str  # build | up-to-date | no-input
    why: str
    input_key: str = ""
    fingerprints: tuple[Fingerprint, ...] = ()


@dataclass
class RunReport:
    run_id: str
    results: list[JobResult] = field(default_factory=list)
    skipped: list[Decision] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.results if r.status != "succeeded"]


def _key(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def bronze_fingerprints(lake: Lake, spec: TableSpec, day: dt.date,
                        recorded: list[Fingerprint] | None = None,
                        listed: list[ListedFile] | None = None) -> tuple[Fingerprint, ...]:
    """Fingerprints of the day's landing files, reusing the recorded hash when size and mtime match
    (``recorded``: the day's recorded fingerprints when the caller read them already; ``listed``:
    the day's landing files when the caller listed the table's landing zone already)."""
    if recorded is None:
        recorded = lake.state_reader.fingerprints(spec.qualified, day)
    if listed is None:
        listed = landing_entries(lake.project, spec, day)
    known = {p.path: p for p in recorded}

    def still_valid(item: ListedFile) -> Fingerprint | None:
        """The recorded fingerprint, when the file's size and mtime are what was recorded."""
        stat, old = item.stat(), known.get(item.relative)
        return old if old and old.size == stat.st_size and old.mtime == mtime_iso(stat) else None

    reused = [still_valid(item) for item in listed]
    hashed = iter(_hashed(lake.project, [item for item, old in zip(listed, reused, strict=True) if old is None]))
    return tuple(old if old is not None else next(hashed) for old in reused)


def _hashed(project: Project, items: list[ListedFile]) -> list[Fingerprint]:
    """The fingerprints of new or changed landing files; several are hashed side by side
    (hashlib works outside the GIL)."""
    if len(items) < 2:
        return [fingerprint(project, item.path) for item in items]
    hashed: list[Fingerprint] = []
    in_threads(items, lambda item: fingerprint(project, item.path), min(len(items), default_parallelism()),
               name="lakemend-hash", each=hashed.append)
    return hashed


def _listed_day(lake: Lake, spec: TableSpec, day: dt.date,
                landing_cache: dict[str, LandingListing | None] | None) -> list[ListedFile] | None:
    """The day's landing files from the table's one listing in ``landing_cache`` (made on first use),
    or None without a cache or for a pattern that must be listed day by day."""
    if landing_cache is None:
        return None
    if spec.qualified not in landing_cache:
        landing_cache[spec.qualified] = landing_listing(lake.project, spec)
    listing = landing_cache[spec.qualified]
    return None if listing is None else listing.get(day, [])


def decide(lake: Lake, spec: TableSpec, day: dt.date, published_cache: dict[str, dict[dt.date, str]],
           force: bool = False, *, states_cache: dict[str, dict[dt.date, dict]] | None = None,
           prints_cache: dict[str, dict[dt.date, list[Fingerprint]]] | None = None,
           landing_cache: dict[str, LandingListing | None] | None = None) -> Decision:
    """Whether (table, day) must be built now, and under which input key.

    A day that must be built although it was built before is *stale*: ``recovery.find_stale``
    asks this for every built partition (with ``states_cache``, ``prints_cache`` and
    ``landing_cache``, the recorded builds, the landing fingerprints and the landing files read
    once per table, as nothing is written while it looks).
    """
    def published(qualified: str) -> dict[dt.date, str]:
        return published_days_of(lake, qualified, published_cache)

    def recorded(qualified: str) -> dict[dt.date, dict]:
        if states_cache is None:
            return lake.state_reader.partition_states(qualified)
        if qualified not in states_cache:
            states_cache[qualified] = lake.state_reader.partition_states(qualified)
        return states_cache[qualified]

    if spec.layer == "bronze":
        recorded_prints = None
        if prints_cache is not None:
            if spec.qualified not in prints_cache:
                prints_cache[spec.qualified] = lake.state_reader.fingerprints_by_day(spec.qualified)
            recorded_prints = prints_cache[spec.qualified].get(day, [])
        prints = bronze_fingerprints(lake, spec, day, recorded_prints, _listed_day(lake, spec, day, landing_cache))
        if not prints:
            return Decision(spec, day, "no-input", "no landing files")
        input_key = _key(spec.code_hash, content_key(list(prints)))
    else:
        built = {t: recorded(t) for t in {i.table for i in spec.inputs}}
        parts = [spec.code_hash]
        for inp in spec.inputs:
            days = published(inp.table)
            if inp.mapping == "same" and day not in days and day not in built[inp.table]:
                return Decision(spec, day, "no-input", f"{inp.table} has no partition {day}")
            first, last = inp.window(day)
            for d in sorted(days):
                if (first is None or d >= first) and d <= last:
                    parts.append(f"{inp.table}|{d}|{days[d]}")
        input_key = _key(*parts)
        prints = ()
    previous = recorded(spec.qualified).get(day)
    current_files = published(spec.qualified).get(day, EMPTY_FILES_KEY)
    if force:
        why = "forced"
    elif previous is None:
        why = "new partition"
    elif previous["files_key"] != current_files:
        why = "published files changed outside lakemend"
    elif previous["input_key"] != input_key:
        why = "input or code changed"
    else:
        return Decision(spec, day, "up-to-date", "inputs unchanged", input_key)
    return Decision(spec, day, "build", why, input_key, prints)


def plan_run(lake: Lake, days: list[dt.date], tables: list[TableSpec]) -> list[Decision]:
    """What ``run`` would do for tables × days, writing nothing (``run --dry-run``).

    Each partition is decided as the run decides it; a partition that looks up to date (or has no
    input yet) but reads a day this plan builds upstream is shown as built, since the run builds
    inputs first and then sees their new identity.
    """
    building: set[tuple[str, dt.date]] = set()
    decisions: list[Decision] = []
    reads = LakeReads(lake)  # each table's records, landing fingerprints and listing read once (nothing is written)
    for spec in tables:
        cache: dict[str, dict[dt.date, str]] = {}
        for day in days:
            decision = decide(lake, spec, day, cache, states_cache=reads.states, prints_cache=reads.prints,
                              landing_cache=reads.landing)
            if decision.action != "build" and spec.inputs:
                fed = [inp.table for inp in spec.inputs if _reads_built_day(inp, day, building)]
                missing = [inp for inp in spec.inputs if inp.mapping == "same" and
                           day not in published_days_of(lake, inp.table, cache) and (inp.table, day) not in building]
                if fed and not missing:
                    why = "new partition" if decision.action == "no-input" else f"input rebuilt first: {', '.join(fed)}"
                    decision = Decision(spec, day, "build", why)
            if decision.action == "build":
                building.add((spec.qualified, day))
            decisions.append(decision)
    return decisions


def published_days_of(lake: Lake, qualified: str, cache: dict[str, dict[dt.date, str]]) -> dict[dt.date, str]:
    """Day → files key of a table's current snapshot, read once per table into ``cache`` — from the
    state DB when its records provably are the current snapshot's, else from the manifests."""
    if qualified not in cache:
        cache[qualified] = lake.published_days(qualified, from_state=True)
    return cache[qualified]


def _reads_built_day(inp, day: dt.date, building: set[tuple[str, dt.date]]) -> bool:  # noqa: ANN001 - an Input
    first, last = inp.window(day)
    return any(table == inp.table and (first is None or first <= built) and built <= last for table, built in building)


@dataclass
class TableReads:
    """What deciding one table's days reads once for all of them: the published days and the
    recorded builds of the table and its inputs (nothing deciding writes; the runner builds the
    table only after all its days are decided, and its inputs before)."""

    published: dict[str, dict[dt.date, str]] = field(default_factory=dict)
    states: dict[str, dict[dt.date, dict]] = field(default_factory=dict)

    def decide(self, lake: Lake, spec: TableSpec, day: dt.date, force: bool = False) -> Decision:
        return decide(lake, spec, day, self.published, force, states_cache=self.states)


ProgressHook = Callable[[str, "JobResult | Decision"], None]
DEFAULT_BATCH_DAYS = 31
"""Days of one table per batch: one Iceberg commit each. A batch holds one day's rows in memory at
a time (plus its quarantined records), so the bound is about commit size and how much work a
kill throws away, not memory."""
Chooser = Callable[[Lake, TableSpec, dt.date, TableReads], Decision]


def choose_changed(lake: Lake, spec: TableSpec, day: dt.date, reads: TableReads) -> Decision:
    """The daily pipeline: build what is new or whose inputs changed."""
    return reads.decide(lake, spec, day)


@dataclass(frozen=True)
class Execution:
    """What to run: tables in dependency order, each with its days, and how to choose per partition."""

    command: str
    tables: tuple[TableSpec, ...]
    days: dict[str, tuple[dt.date, ...]]
    reason: str | None
    args: dict
    choose: Chooser = choose_changed
    force: bool = False
    max_parallel: int = 1  # days of one table built at once (threads of a batch, ops/batch.py)
    wait_seconds: float = 0.0
    allow_schema_change: bool = False  # let a job remove or rename a table's columns (see iceberg.catalog)
    batch_days: int = DEFAULT_BATCH_DAYS  # days of one table built and published together (ops/batch.py)


def execute(lake: Lake, *, command: str, days: list[dt.date], tables: list[TableSpec], reason: str | None,
            run_id: str | None = None, force: bool = False, on_event: ProgressHook | None = None,
            debug: bool = False, max_parallel: int | None = None, allow_schema_change: bool = False,
            batch_days: int = DEFAULT_BATCH_DAYS) -> RunReport:
    """The daily pipeline over tables × days (see ``execute_plan`` for the general form);
    ``max_parallel``: days of one table built at once (default: one per core)."""
    plan = Execution(command=command, tables=tuple(tables), days={t.qualified: tuple(days) for t in tables},
                     reason=reason, args={"days": [d.isoformat() for d in days], "tables": [t.qualified for t in tables]},
                     force=force, max_parallel=max_parallel or default_parallelism(), allow_schema_change=allow_schema_change,
                     batch_days=batch_days)
    return execute_plan(lake, plan, run_id=run_id, on_event=on_event, debug=debug)


def execute_plan(lake: Lake, plan: Execution, *, run_id: str | None = None, on_event: ProgressHook | None = None,
                 debug: bool = False) -> RunReport:
    """Run partition jobs table by table (inputs first); the days of one table in batches, each
    built by up to ``plan.max_parallel`` threads (ops/batch.py).

    The run is recorded in the ledger before the first job and closed after the last; an
    interruption closes it as failed, and each published day stays published (atomic per day).
    """
    from lakemend.ops.job import PartitionJob, run_scope

    run_id = run_id or new_run_id()
    report = RunReport(run_id)
    started = time.perf_counter()
    failed: set[tuple[str, dt.date]] = set()
    with run_scope(lake, run_id, plan.command, plan.args, plan.reason):
        for spec in plan.tables:
            reads = TableReads()  # per table: what it reads was written before (its inputs) or is written after
            jobs: list[PartitionJob] = []
            for day in plan.days.get(spec.qualified, ()):
                if any((inp.table, day) in failed for inp in spec.inputs if inp.mapping == "same"):
                    decision = Decision(spec, day, "blocked", "an input failed in this run")
                else:
                    decision = plan.choose(lake, spec, day, reads)
                if decision.action != "build":
                    if decision.action == "blocked":
                        failed.add((spec.qualified, day))
                    report.skipped.append(decision)
                    _emit(on_event, "skipped", decision)
                    continue
                jobs.append(PartitionJob(spec, day, decision.input_key, decision.why, decision.fingerprints))
            for result in _run_wave(lake, jobs, run_id, plan, on_event, debug):
                report.results.append(result)
                if result.status != "succeeded":
                    failed.add((result.table, result.day))
        report.seconds = time.perf_counter() - started
        if report.failed:
            lake.state.finish_run(run_id, "failed", f"{len(report.failed)} partition job(s) failed")
    return report


def batches_of(jobs: list[PartitionJob], batch_days: int) -> list[list[PartitionJob]]:
    """The jobs of one table cut into batches of at most ``batch_days`` days, in day order."""
    ordered = sorted(jobs, key=lambda job: job.day)
    size = max(1, batch_days)
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


def _run_wave(lake: Lake, jobs: list[PartitionJob], run_id: str, plan: Execution, on_event: ProgressHook | None,
              debug: bool) -> list[JobResult]:
    """The jobs of one table, batch after batch (ops/batch.py); a batch builds up to
    ``plan.max_parallel`` of its days at once and publishes them in one commit."""
    if lake.project.config.engine == "emr-serverless":  # the work runs remotely: see ops/remote.py
        from lakemend.ops.remote import RemoteRun, run_remote

        remote = RemoteRun(run_id, plan.command, plan.reason, force=plan.force, wait_seconds=plan.wait_seconds, debug=debug,
                           max_parallel=plan.max_parallel)
        return run_remote(lake, jobs, remote, done=lambda result: _emit(on_event, "done", result),
                          started=lambda job: _emit(on_event, "start", Decision(job.spec, job.day, "build", job.why)))
    from lakemend.ops.batch import BatchOptions, run_batch  # the builders: not for status / late, which only decide

    options = BatchOptions(plan.command, plan.reason, force=plan.force, wait_seconds=plan.wait_seconds,
                           allow_schema_change=plan.allow_schema_change, debug=debug, threads=plan.max_parallel)
    results: list[JobResult] = []
    for batch in batches_of(jobs, plan.batch_days):
        for result in run_batch(lake, batch, run_id, options,
                                started=lambda job: _emit(on_event, "start", Decision(job.spec, job.day, "build", job.why))):
            _emit(on_event, "done", result)
            results.append(result)
    return results


def _emit(hook: ProgressHook | None, event: str, payload: JobResult | Decision) -> None:
    if hook:
        hook(event, payload)


def default_parallelism() -> int:
    return os.cpu_count() or 1
