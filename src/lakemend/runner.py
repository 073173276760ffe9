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

from lakemend.jobs import JobResult, PartitionJob, run_partition_job
from lakemend.lake import Lake
from lakemend.project import TableSpec
from lakemend.publish import files_key
from lakemend.sources import content_key, fingerprint, landing_files
from lakemend.state import Fingerprint

EMPTY_FILES_KEY = files_key(())


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


def bronze_fingerprints(lake: Lake, spec: TableSpec, day: dt.date) -> tuple[Fingerprint, ...]:
    """Fingerprints of the day's landing files, reusing the recorded hash when size and mtime match."""
    known = {p.path: p for p in lake.state.fingerprints(spec.qualified, day)}
    prints = []
    for path in landing_files(lake.project, spec, day):
        stat = path.stat()
        relative = path.relative_to(lake.project.raw).as_posix()
        old = known.get(relative)
        mtime = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).isoformat()
        if old and old.size == stat.st_size and old.mtime == mtime:
            prints.append(old)
        else:
            prints.append(fingerprint(lake.project, path))
    return tuple(prints)


def decide(lake: Lake, spec: TableSpec, day: dt.date, published_cache: dict[str, dict[dt.date, str]],
           force: bool = False) -> Decision:
    """Whether (table, day) must be built now, and under which input key."""
    def published(qualified: str) -> dict[dt.date, str]:
        if qualified not in published_cache:
            published_cache[qualified] = lake.published_days(qualified)
        return published_cache[qualified]

    if spec.layer == "bronze":
        prints = bronze_fingerprints(lake, spec, day)
        if not prints:
            return Decision(spec, day, "no-input", "no landing files")
        input_key = _key(spec.code_hash, content_key(list(prints)))
    else:
        built = {t: lake.state.partition_states(t) for t in {i.table for i in spec.inputs}}
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
    previous = lake.state.partition_states(spec.qualified).get(day)
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


ProgressHook = Callable[[str, JobResult | Decision], None]


def execute(lake: Lake, *, command: str, days: list[dt.date], tables: list[TableSpec], reason: str | None,
            run_id: str | None = None, force: bool = False, on_event: ProgressHook | None = None,
            debug: bool = False) -> RunReport:
    """Build the given tables × days in dependency order; record the run in the ledger."""
    run_id = run_id or new_run_id()
    report = RunReport(run_id)
    started = time.perf_counter()
    lake.state.start_run(run_id, command, {"days": [d.isoformat() for d in days], "tables": [t.qualified for t in tables]}, reason)
    failed_tables: set[tuple[str, dt.date]] = set()
    try:
        for spec in tables:
            cache: dict[str, dict[dt.date, str]] = {}
            for day in days:
                if any((inp.table, day) in failed_tables for inp in spec.inputs):
                    decision = Decision(spec, day, "blocked", "an input failed in this run")
                    failed_tables.add((spec.qualified, day))
                    report.skipped.append(decision)
                    _emit(on_event, "skipped", decision)
                    continue
                decision = decide(lake, spec, day, cache, force=force)
                if decision.action != "build":
                    report.skipped.append(decision)
                    _emit(on_event, "skipped", decision)
                    continue
                _emit(on_event, "start", decision)
                job = PartitionJob(spec, day, decision.input_key, decision.why, decision.fingerprints)
                result = run_partition_job(lake, job, run_id, command, reason, debug=debug)
                report.results.append(result)
                cache.pop(spec.qualified, None)
                if result.status != "succeeded":
                    failed_tables.add((spec.qualified, day))
                _emit(on_event, "done", result)
    except BaseException as exc:
        lake.state.finish_run(run_id, "failed", f"interrupted: {type(exc).__name__}")
        raise
    report.seconds = time.perf_counter() - started
    status = "failed" if report.failed else "succeeded"
    lake.state.finish_run(run_id, status, f"{len(report.failed)} partition job(s) failed" if report.failed else None)
    return report


def _emit(hook: ProgressHook | None, event: str, payload: JobResult | Decision) -> None:
    if hook:
        hook(event, payload)


def default_parallelism() -> int:
    return os.cpu_count() or 1
