"""Benchmark: ``lakemend backfill bronze all --downstream`` over a month of the example lake.

Run from the repository root with the project's venv:

    .venv/bin/python bench/bench_backfill.py [--days 30] [--rows 100000] [--write-docs] [--profile] [--keep]

What it does:

1. Lands ``--days`` days from 2025-10-01 of example data (``rows`` orders a day plus the
   generator's late duplicates, ``rows // 4`` HubSpot contacts) ONCE, and ``lakemend init``s two
   identical example projects that hard-link those landing files. The projects are not copied
   after building: Iceberg metadata holds absolute paths, so each is built on its own.
2. Builds each lake with ``lakemend run --start S --end E`` (timed: the "build" rows).
3. Times ``LAKEMEND_REASON=bench lakemend backfill bronze all --start S --end E --downstream
   --max-parallel 1`` on the first lake and the same with ``--max-parallel 2`` on the second
   (2 sources × days bronze partitions, plus every silver and gold day downstream), each in its
   own subprocess (wall time, peak RSS from ``os.wait4``). Partitions built and job durations
   come from the run ledger (``lakemend runs --run ID -o json``) and each job's BackfillDurationSeconds
   sample (its own build and its share of the batch's commit; a ledger row spans its whole batch).
4. Does 1–3 again on a *tiny* lake (``--tiny-rows``, default 10 orders a day, same days), where
   the engine work is negligible: its backfill wall time divided by the partitions it built is
   the per-partition overhead outside the engine (plan, lease, ledger, metrics, Iceberg commits,
   restore tag). Target: < 30 ms per partition (issue 10).
5. Breaks the tiny backfill down once more on a third tiny lake, in a child process that wraps
   lakemend's own functions with wall-clock timers (no profiler overhead; each area's time is
   *exclusive* of the other areas it calls, so the areas add up to the wall time).
6. ``--profile`` also runs the tiny backfill under ``python -m cProfile`` on a fourth tiny lake and
   prints the cumulative time of lakemend's areas and the own time per module/package (printed
   only; cProfile inflates call-heavy code such as pydantic deep copies several-fold).
7. Prints Markdown tables; ``--write-docs`` puts them between ``<!-- bench_backfill:start -->`` and
   ``<!-- bench_backfill:end -->`` in docs/benchmarks.md with the machine, date and exact command.

This is a benchmark, not a test: it asserts nothing and exits 0 unless a subprocess fails.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import pstats
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import Run, busy_cpu_seconds, check, lakemend_exe, machine  # noqa: E402
from docs_section import write_section  # noqa: E402

START = dt.date(2025, 10, 1)
BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DOCS = REPO / "docs" / "benchmarks.md"
START_MARK = "<!-- bench_backfill:start -->"
END_MARK = "<!-- bench_backfill:end -->"
TARGET_MS = 30.0  # issue 10: overhead per partition inside a multi-day backfill
REASON = "bench"
TABLE_ORDER = (
    "bronze.hubspot_contacts", "bronze.orders", "silver.customers_clean", "silver.orders_clean",
    "gold.customer_orders", "gold.daily_revenue",
)


# ----- data --------------------------------------------------------------------------------------


@dataclass
class Step:
    """One measured command on one lake, with what its ledger says."""

    lake: str  # "100,000 orders/day" or "tiny (10 orders/day)"
    what: str  # build | backfill -p1 | backfill -p2
    run: Run
    partitions: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # "table day: error" of the failed jobs
    exit_code: int = 0
    job_seconds: dict[str, list[float]] = field(default_factory=dict)  # table → durations

    @property
    def durations(self) -> list[float]:
        return [s for values in self.job_seconds.values() for s in values]

    @property
    def ms_per_partition(self) -> float:
        return 1000 * self.run.wall / self.partitions if self.partitions else float("nan")

    @property
    def mean_job_ms(self) -> float:
        return 1000 * statistics.mean(self.durations) if self.durations else float("nan")

    @property
    def outside_jobs_ms(self) -> float:
        """Wall time not inside any job, per partition (only meaningful when jobs do not overlap)."""
        return 1000 * (self.run.wall - sum(self.durations)) / self.partitions if self.partitions else float("nan")


@dataclass(frozen=True)
class Landing:
    raw: Path
    orders: int
    contacts: int
    megabytes: float


# ----- set-up ------------------------------------------------------------------------------------


def days_range(days: int) -> tuple[dt.date, dt.date]:
    return START, START + dt.timedelta(days=days - 1)


def land(project: Path, days: int, rows: int) -> Landing:
    from lakemend.examples.data import generate

    first, last = days_range(days)
    raw = project / "landing"
    summary = generate(raw, first, last, rows=rows)
    orders = sum(d.records for d in summary.days if d.source == "orders")
    contacts = sum(d.records for d in summary.days if d.source == "hubspot")
    size = sum(f.stat().st_size for d in summary.days for f in d.files)
    return Landing(raw=raw, orders=orders, contacts=contacts, megabytes=size / 2**20)


def new_project(directory: Path, landing: Landing | None) -> Path:
    """``lakemend init`` an example project; hard-link the shared landing files into it."""
    check([lakemend_exe(), "init", str(directory), "--example", "company", "--no-data"])
    if landing is not None and landing.raw != directory / "landing":
        shutil.copytree(landing.raw, directory / "landing", copy_function=os.link, dirs_exist_ok=True)
    return directory


@contextlib.contextmanager
def reason_env():
    old = os.environ.get("LAKEMEND_REASON")
    os.environ["LAKEMEND_REASON"] = REASON
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("LAKEMEND_REASON", None)
        else:
            os.environ["LAKEMEND_REASON"] = old


def range_args(days: int) -> list[str]:
    first, last = days_range(days)
    return ["--start", first.isoformat(), "--end", last.isoformat()]


def build_args(days: int) -> list[str]:
    return ["run", *range_args(days)]


def backfill_args(days: int, parallel: int) -> list[str]:
    return ["backfill", "bronze", "all", *range_args(days), "--downstream", "--max-parallel", str(parallel)]


# ----- the ledger --------------------------------------------------------------------------------


def measure(cmd: list[str]) -> tuple[Run, int]:
    """Like ``bench_pipeline.measure`` (wall, ``os.wait4`` peak RSS, others' CPU share) but a
    failing command is reported with its exit code instead of raised: a backfill whose jobs
    partly fail exits 1 and its ledger tells what failed."""
    os.sync()
    busy_before = busy_cpu_seconds()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        others = busy_cpu_seconds() - busy_before - usage.ru_utime - usage.ru_stime
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code != 0:
        print(f"  ! {shlex.join(cmd)} exited {code}:\n{stdout[-1500:]}\n{stderr[-1500:]}", flush=True)
    return Run(wall=wall, peak_rss_mb=usage.ru_maxrss / 1024, stdout=stdout,
               others=max(0.0, others) / (wall * (os.cpu_count() or 1))), code


def ledger(project: Path) -> tuple[int, int, dict[str, list[float]], list[str]]:
    """(succeeded, failed, table → job seconds, errors) of the newest run in the project's ledger."""
    newest = json.loads(check([lakemend_exe(), "-C", str(project), "runs", "-o", "json", "--limit", "1"]))
    run_id = newest[0]["run_id"]
    jobs = json.loads(check([lakemend_exe(), "-C", str(project), "runs", "-o", "json", "--run", run_id,
                             "--limit", "1000000"]))
    seconds: dict[str, list[float]] = defaultdict(list)
    ok = bad = 0
    errors = []
    for job in jobs:
        if job["status"] == "succeeded":
            ok += 1
        else:
            bad += 1
            errors.append(f"{job['table_name']} {job['day']}: {job['error']}")
    # a job's own time is its BackfillDurationSeconds sample: its ledger row spans its whole batch
    # (opened with the batch, closed when the batch's one commit published it)
    import sqlite3

    with sqlite3.connect(project / ".lakemend" / "state.db") as db:
        for table, value in db.execute("SELECT table_name, value FROM metrics WHERE name = 'BackfillDurationSeconds' "
                                       "AND run_id = ?", (run_id,)):
            seconds[table].append(float(value))
    return ok, bad, dict(seconds), errors


def timed_step(project: Path, lake: str, what: str, args: list[str], cmd_prefix: list[str] | None = None) -> Step:
    cmd = (cmd_prefix or [lakemend_exe()]) + ["-C", str(project), *args]
    with reason_env():
        run, code = measure(cmd)
    step = Step(lake, what, run, exit_code=code)
    step.partitions, step.failed, step.job_seconds, step.errors = ledger(project)
    print(f"  {lake:<24} {what:<12} {run.wall:7.1f} s  {step.partitions} partitions  "
          f"{step.ms_per_partition:6.0f} ms/partition  mean job {step.mean_job_ms:6.0f} ms  "
          f"RSS {run.peak_rss_mb:,.0f} MB  others {run.others:.0%}", flush=True)
    return step


# ----- wall-clock breakdown (child process) ------------------------------------------------------

# (label, module, attribute) — attribute may be "Class.method"; names that no longer exist are skipped.
# Each target is wrapped where its callers look it up (``from x import f`` binds f in the caller).
TIMERS: tuple[tuple[str, str, str], ...] = (
    ("planning: make_plan (downstream, precautions, estimates)", "lakemend.ops.backfill", "make_plan"),
    ("planning: decide per partition (fingerprints, input key)", "lakemend.ops.runner", "decide"),
    ("pause checks", "lakemend.ops.backfill", "check_not_paused"),
    ("pause checks", "lakemend.ops.batch", "check_not_paused"),
    ("state DB: leases", "lakemend.state.leases", "acquire"),
    ("state DB: leases", "lakemend.state.leases", "release"),
    ("state DB: metrics", "lakemend.state.metrics", "record"),
    ("state DB: ledger + partition state", "lakemend.state.store", "StateStore.start_run"),
    ("state DB: ledger + partition state", "lakemend.state.store", "StateStore.finish_run"),
    ("state DB: ledger + partition state", "lakemend.state.store", "StateStore.start_job"),
    ("state DB: ledger + partition state", "lakemend.state.store", "StateStore.finish_job"),
    ("state DB: ledger + partition state", "lakemend.state.store", "StateStore.start_jobs"),
    ("state DB: ledger + partition state", "lakemend.state.store", "StateStore.finish_batch"),
    ("state DB: ledger + partition state", "lakemend.state.store", "StateStore.record_partition"),
    ("state DB: ledger + partition state", "lakemend.state.store", "StateStore.record_fingerprints"),
    ("state DB: ledger + partition state", "lakemend.state.store", "StateStore.partition_states"),
    ("state DB: ledger + partition state", "lakemend.state.store", "StateStore.fingerprints"),
    ("catalog: open", "lakemend.lake", "open_catalog"),
    ("catalog: load/refresh table (Lake.table, ensure_table)", "lakemend.lake", "Lake.table"),
    ("catalog: load/refresh table (Lake.table, ensure_table)", "lakemend.lake", "Lake.ensure_table"),
    ("catalog: published_days (manifest scan)", "lakemend.lake", "Lake.published_days"),
    ("engine: bronze ingest (build_bronze)", "lakemend.ops.batch", "build_bronze"),
    ("engine: model build (build_model, own part: model SQL, mask, dedup)", "lakemend.ops.batch", "build_model"),
    ("engine: DuckDB session", "lakemend.engines.duckdb", "DuckDBEngine.session"),
    ("engine: bind inputs (views over input files)", "lakemend.build.model", "bind_inputs"),
    ("engine: contract (_apply_contract, own part)", "lakemend.build.model", "_apply_contract"),
    ("engine: contract table checks", "lakemend.build.contracts", "table_checks"),
    ("catalog: input file planning (local_files_by_day, once per input and batch)", "lakemend.build.shared", "local_files_by_day"),
    ("catalog: recent row counts (partition_counts, inspect.partitions)", "lakemend.build.shared", "partition_counts"),
    ("publish: quarantine (_publish_quarantine, own part)", "lakemend.ops.batch", "_publish_quarantine"),
    ("publish: stage_day (own part: audit)", "lakemend.ops.batch", "stage_day"),
    ("publish: publish_days (own part: refresh, old files)", "lakemend.ops.batch", "publish_days"),
    ("publish: conform", "lakemend.iceberg.publish", "conform"),
    ("publish: write data files", "lakemend.iceberg.publish", "write_day_files"),
    ("publish: day_files (manifest scans)", "lakemend.iceberg.publish", "day_files"),
    ("publish: Iceberg commits (one per table and batch)", "lakemend.iceberg.publish", "_with_retries"),
    ("output: plan table + summary", "lakemend.cli.output", "print_plan"),
    ("output: plan table + summary", "lakemend.cli.output", "print_summary"),
)
COMMIT_LABEL = "publish: Iceberg commits (one per table and batch)"


class Timers:
    """Exclusive wall time per label: a label's time minus the time of timed calls inside it."""

    def __init__(self) -> None:
        self.exclusive: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.local = threading.local()
        self.lock = threading.Lock()

    def wrap(self, label_of, func):  # noqa: ANN001, ANN201
        @functools.wraps(func)
        def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            label = label_of(args)
            stack = self.local.__dict__.setdefault("stack", [])
            frame = [0.0]  # time of timed calls inside this one
            stack.append(frame)
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                stack.pop()
                if stack:
                    stack[-1][0] += elapsed
                with self.lock:
                    self.exclusive[label] += elapsed - frame[0]
                    self.calls[label] += 1
        return wrapper


def install_timers(timers: Timers) -> list[str]:
    import importlib

    missing = []
    for label, module_name, attribute in TIMERS:
        try:
            owner = importlib.import_module(module_name)
            *path, name = attribute.split(".")
            for part in path:
                owner = getattr(owner, part)
            func = getattr(owner, name)
        except (ImportError, AttributeError):
            missing.append(f"{module_name}.{attribute}")
            continue
        if label == COMMIT_LABEL:  # _with_retries(table, commit): name the commit (stage / publish)
            def label_of(args, _label=label):  # noqa: ANN001, ANN202
                commit = args[1] if len(args) > 1 else None
                return f"publish: Iceberg commit '{getattr(commit, '__name__', '?')}' (with retries)"
        else:
            def label_of(args, _label=label):  # noqa: ANN001, ANN202
                return _label
        setattr(owner, name, timers.wrap(label_of, func))
    return missing


def child_timed(out: Path, argv: list[str]) -> None:
    """Run the lakemend CLI in this process with timers on its areas; write them as JSON."""
    started = time.perf_counter()
    timers = Timers()
    missing = install_timers(timers)
    imported = time.perf_counter()
    from lakemend.cli.app import main as cli_main

    code = 0
    try:
        cli_main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    ended = time.perf_counter()
    out.write_text(json.dumps({"exclusive": timers.exclusive, "calls": timers.calls, "missing": missing,
                               "imports": imported - started, "main": ended - imported}))
    sys.exit(code)


@dataclass
class Breakdown:
    step: Step
    areas: dict[str, float]  # label → seconds (exclusive)
    calls: dict[str, int]
    missing: list[str]


def breakdown(project: Path, lake: str, days: int, work: Path) -> Breakdown:
    out = work / "timers.json"
    prefix = [sys.executable, str(Path(__file__).resolve()), "--child-timed", str(out), "--"]
    step = timed_step(project, lake, "backfill -p1 (timed)", backfill_args(days, 1), cmd_prefix=prefix)
    data = json.loads(out.read_text())
    areas = dict(data["exclusive"])
    timed = sum(areas.values())
    areas["start-up: interpreter + imports (process wall − in-process time)"] = step.run.wall - data["imports"] - data["main"]
    areas["start-up: imports for the timers (lakemend, duckdb, pyarrow)"] = data["imports"]
    areas["other lakemend code not timed (CLI, progress, runner loop, job set-up)"] = data["main"] - timed
    return Breakdown(step, areas, dict(data["calls"]), list(data["missing"]))


# ----- cProfile ----------------------------------------------------------------------------------

PROFILE_AREAS = {
    "backfill (apply)": ("backfill.py", "apply"),
    "planning (make_plan)": ("backfill.py", "make_plan"),
    "planning (decide)": ("runner.py", "decide"),
    "batches (run_batch)": ("batch.py", "run_batch"),
    "  bronze ingest (build_bronze)": ("bronze.py", "build_bronze"),
    "  model build (build_model)": ("model.py", "build_model"),
    "  quarantine (_publish_quarantine)": ("batch.py", "_publish_quarantine"),
    "  stage_day (write + audit)": ("publish.py", "stage_day"),
    "  publish_days (one commit per table and batch)": ("publish.py", "publish_days"),
    "    Iceberg commits (_with_retries)": ("publish.py", "_with_retries"),
    "    day_files": ("publish.py", "day_files"),
    "    write_day_files": ("publish.py", "write_day_files"),
    "  Lake.table (load/refresh)": ("lake.py", "table"),
    "  Lake.published_days": ("lake.py", "published_days"),
    "  leases.acquire": ("leases.py", "acquire"),
    "  leases.release": ("leases.py", "release"),
    "  metrics.record": ("metrics.py", "record"),
    "  ledger start_job": ("state.py", "start_job"),
    "  ledger finish_job": ("state.py", "finish_job"),
    "  record_partition": ("state.py", "record_partition"),
    "  record_fingerprints": ("state.py", "record_fingerprints"),
    "  pause check (why_paused)": ("state.py", "why_paused"),
}


def _is_lakemend(filename: str) -> bool:
    return f"{os.sep}lakemend{os.sep}" in filename and f"{os.sep}site-packages{os.sep}" not in filename


def _package(filename: str) -> str:
    if _is_lakemend(filename):
        name = "lakemend/" + filename.split(f"{os.sep}lakemend{os.sep}", 1)[1]
        return name + " (DuckDB's C calls land here)" if name.endswith("engines/duckdb.py") else name
    if f"{os.sep}site-packages{os.sep}" in filename:
        return filename.split(f"{os.sep}site-packages{os.sep}", 1)[1].split(os.sep)[0].removesuffix(".py")
    if filename.startswith("~") or filename == "<built-in>":
        return "builtins (C: locks, I/O, sqlite, …)"
    name = Path(filename).name
    return f"stdlib {name}" if name in ("copy.py", "threading.py", "socket.py", "getpass.py") else "stdlib (other)"


def profile(project: Path, days: int, work: Path, partitions_hint: int) -> None:
    prof = work / "backfill.prof"
    prefix = [sys.executable, "-m", "cProfile", "-o", str(prof), lakemend_exe()]
    step = timed_step(project, "tiny", "backfill -p1 (cProfile)", backfill_args(days, 1), cmd_prefix=prefix)
    parts = step.partitions or partitions_hint
    stats = pstats.Stats(str(prof)).stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _, ct, _) in stats.values())
    print(f"\ncProfile of the tiny backfill: {total:.1f} s profiled ({step.run.wall:.1f} s wall under the profiler), "
          f"{parts} partitions; times inflated by the profiler, compare shares.\n")
    print("| area (cumulative, areas nest) | s | ms/partition | share |\n| --- | ---: | ---: | ---: |")
    for area, (file, func) in PROFILE_AREAS.items():
        found = [v[3] for (f, _, n), v in stats.items() if _is_lakemend(f) and f.endswith(os.sep + file) and n == func]
        if found:
            cum = sum(found)
            print(f"| {area} | {cum:.1f} | {1000 * cum / parts:.0f} | {cum / total:.0%} |")
        else:
            print(f"| {area} | n/a | | |")
    own: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, tottime, _, _) in stats.items():
        own[_package(filename)] += tottime
    print("\nOwn time by module / package (adds up to the total):\n")
    print("| module / package | own s | share |\n| --- | ---: | ---: |")
    for name, seconds in sorted(own.items(), key=lambda kv: kv[1], reverse=True)[:20]:
        print(f"| {name} | {seconds:.1f} | {seconds / total:.0%} |")
    print("\nTop 15 cumulative functions outside the CLI/runner call chain:\n")
    chain = sorted(stats.items(), key=lambda kv: kv[1][3], reverse=True)
    jobs = [v[3] for (f, _, n), v in stats.items() if _is_lakemend(f) and n == "run_batch"]
    ceiling = 0.999 * sum(jobs) if jobs else 0.8 * total  # run_batch and the call chain above it
    shown = 0
    for (filename, line, name), (_, calls, tottime, cum, _) in chain:
        if cum >= ceiling or name == "<module>":
            continue
        print(f"  {cum:7.1f} s cum {tottime:7.1f} s own {calls:>9} calls  {_package(filename)}:{line} {name}")
        shown += 1
        if shown == 15:
            break


# ----- report ------------------------------------------------------------------------------------


def fmt(value: float, digits: int = 0) -> str:
    return "–" if value != value else f"{value:,.{digits}f}"  # NaN → dash


def results_table(steps: list[Step]) -> str:
    lines = [
        "| lake | command | partitions | wall s | ms / partition | mean job ms (metric) | outside jobs ms / partition | peak RSS MB | others' CPU |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in steps:
        outside = s.outside_jobs_ms if s.what.endswith("-p1") else float("nan")  # other runs build days side by side
        failed = f" ({s.failed} failed)" if s.failed else ""
        lines.append(f"| {s.lake} | {s.what} | {s.partitions}{failed} | {s.run.wall:,.1f} | {fmt(s.ms_per_partition)} | "
                     f"{fmt(s.mean_job_ms)} | {fmt(outside)} | {s.run.peak_rss_mb:,.0f} | {s.run.others:.0%} |")
    return "\n".join(lines)


def per_table(steps: list[Step]) -> str:
    head = "| table | " + " | ".join(f"{s.lake}, {s.what}" for s in steps) + " |"
    lines = [head, "| --- |" + " ---: |" * len(steps)]
    tables = [t for t in TABLE_ORDER if any(t in s.job_seconds for s in steps)]
    tables += sorted({t for s in steps for t in s.job_seconds} - set(tables))
    for table in tables:
        cells = []
        for s in steps:
            values = s.job_seconds.get(table, [])
            cells.append(f"{1000 * statistics.mean(values):,.0f} ({len(values)})" if values else "–")
        lines.append(f"| {table} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def breakdown_table(b: Breakdown) -> str:
    parts = b.step.partitions
    wall = b.step.run.wall
    lines = ["| area (exclusive wall time) | ms / partition | calls | share of wall |", "| --- | ---: | ---: | ---: |"]
    for label, seconds in sorted(b.areas.items(), key=lambda kv: kv[1], reverse=True):
        calls = b.calls.get(label)
        lines.append(f"| {label} | {1000 * seconds / parts:,.1f} | {calls if calls is not None else ''} | {seconds / wall:.0%} |")
    lines.append(f"| **total (wall)** | **{1000 * wall / parts:,.0f}** | | 100% |")
    return "\n".join(lines)


def grouped(b: Breakdown) -> dict[str, float]:
    """ms per partition by group: planning, state DB, catalog, publish, engine, start-up, other."""
    groups: dict[str, float] = defaultdict(float)
    for label, seconds in b.areas.items():
        key = label.split(":", 1)[0] if ":" in label else label
        key = {"other lakemend code not timed (CLI, progress, runner loop, job set-up)": "other"}.get(key, key)
        groups[key] += 1000 * seconds / b.step.partitions
    return dict(groups)


def verdict(tiny: Step, tiny_default: Step | None) -> str:
    def met(step: Step) -> str:
        return "met" if step.ms_per_partition < TARGET_MS else "**missed**"

    text = (f"Per-partition overhead outside the engine (tiny lake, `--max-parallel 1`: wall ÷ partitions): "
            f"**{tiny.ms_per_partition:,.0f} ms** — target < {TARGET_MS:.0f} ms {met(tiny)} "
            f"(mean job {tiny.mean_job_ms:,.0f} ms (BackfillDurationSeconds), {tiny.outside_jobs_ms:,.0f} ms per partition outside the jobs)")
    if tiny_default is not None:  # the default: one build thread per core, days of a batch built side by side
        text += (f"; with `--max-parallel 2` (the default on 2 cores): **{tiny_default.ms_per_partition:,.0f} ms** — "
                 f"{met(tiny_default)}")
    return text + "."


def speedups(steps: list[Step]) -> str:
    out = []
    for lake in dict.fromkeys(s.lake for s in steps):
        one = next((s for s in steps if s.lake == lake and s.what == "backfill -p1"), None)
        two = next((s for s in steps if s.lake == lake and s.what == "backfill -p2"), None)
        if one and two:
            out.append(f"{lake}: {one.run.wall / two.run.wall:.2f}× ({one.run.wall:,.1f} s → {two.run.wall:,.1f} s)")
    return "Speed-up of `--max-parallel 2` over `--max-parallel 1`: " + "; ".join(out) + "."


def section(args: argparse.Namespace, steps: list[Step], landing: Landing, tiny_landing: Landing,
            b: Breakdown | None, total_minutes: float) -> str:
    first, last = days_range(args.days)
    command = "python bench/bench_backfill.py " + shlex.join(sys.argv[1:])
    others = [s.run.others for s in steps]
    tiny = next(s for s in steps if s.lake.startswith("tiny") and s.what == "backfill -p1")
    tiny_two = next((s for s in steps if s.lake.startswith("tiny") and s.what == "backfill -p2"), None)
    big_steps = [s for s in steps if s.what.startswith("backfill") and not s.lake.startswith("tiny")]
    lines = [
        START_MARK,
        "## Backfill: a month of bronze with `--downstream` (`bench/bench_backfill.py`)",
        "",
        f"What is measured: the example company project with {args.days} days of landing data ({first} … {last}), built by "
        "`lakemend run --start … --end …`, then rebuilt by `LAKEMEND_REASON=bench lakemend backfill bronze all --start … "
        "--end … --downstream --max-parallel 1` and, on a second identical project (same landing files, built the "
        "same way — Iceberg metadata holds absolute paths, so lakes are not copied), with `--max-parallel 2` (days of "
        "a batch built at once, each in its own engine session; still one commit per table and batch). Every "
        "command runs in its own subprocess: *wall s* is its wall time, *peak RSS* its `ru_maxrss`. Partitions and "
        "job times are each job's BackfillDurationSeconds sample (its build and its share of its batch's one commit; "
        "the ledger row of a job spans its whole batch). The same is done on a *tiny* lake "
        f"({args.tiny_rows} orders a day, same days), where the engine work is negligible, so its wall time per "
        "partition is the overhead lakemend adds per partition (plan, pause check, lease, ledger, metrics, Iceberg "
        f"commits — one per table and batch —, restore tag). Target: **< {TARGET_MS:.0f} ms per partition**.",
        "",
        f"Measured {dt.date.today()} on {machine()}. Other processes used {min(others):.0%}–{max(others):.0%} of "
        "the CPUs during the runs (the machine is shared; more than a few % makes the times noisy). "
        f"The whole benchmark took {total_minutes:.0f} minutes.",
        "",
        f"Command: `{command}`.",
    ]
    if args.note:
        lines += ["", args.note]
    lines += [
        "",
        f"Landed: {landing.orders:,} order records ({args.rows:,} orders a day + late duplicates) and {landing.contacts:,} "
        f"contacts, {landing.megabytes:,.0f} MB; tiny lake: {tiny_landing.orders:,} order records and "
        f"{tiny_landing.contacts:,} contacts.",
        "",
        results_table(steps),
        "",
        speedups(steps),
        "",
        verdict(tiny, tiny_two),
        "",
        "Mean job milliseconds per table in the backfills (ledger; number of jobs in brackets):",
        "",
        per_table(big_steps + [s for s in steps if s.lake.startswith("tiny") and s.what.startswith("backfill")]),
    ]
    failures = [s for s in steps if s.failed or s.exit_code]
    if failures:
        lines += ["", "Failed jobs (the command exited non-zero; the other partitions were published):", ""]
        for s in failures:
            shown = "; ".join(f"`{e}`" for e in s.errors[:3]) or "no failed job in the ledger"
            more = f" (and {len(s.errors) - 3} more)" if len(s.errors) > 3 else ""
            lines.append(f"- {s.lake}, {s.what}: exit {s.exit_code}, {s.failed} failed — {shown}{more}")
    if b is not None:
        groups = grouped(b)
        summary = ", ".join(f"{name} {ms:,.0f}" for name, ms in sorted(groups.items(), key=lambda kv: kv[1], reverse=True))
        lines += [
            "",
            f"Where the tiny backfill's {b.step.ms_per_partition:,.0f} ms per partition go (a third tiny lake, the same "
            "backfill with `--max-parallel 1` run in-process under wall-clock timers wrapped around lakemend's "
            "functions; each area excludes the timed areas it calls, so they add up to the wall time; "
            f"{b.step.run.wall:,.1f} s wall here): by group, ms per partition: {summary}.",
            "",
            breakdown_table(b),
        ]
        if b.missing:
            lines += ["", "Not timed (the function no longer exists): " + ", ".join(f"`{m}`" for m in b.missing) + "."]
    lines.append(END_MARK)
    return "\n".join(lines)


def write_docs(text: str) -> None:
    write_section(DOCS, START_MARK, END_MARK, text)


# ----- main --------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="days from 2025-10-01 (default 30)")
    parser.add_argument("--rows", type=int, default=100_000, help="orders landed per day (contacts: rows // 4)")
    parser.add_argument("--tiny-rows", type=int, default=10, help="orders per day of the tiny lake (overhead)")
    parser.add_argument("--skip-big", action="store_true", help="only the tiny lake (quick overhead check)")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the timed breakdown of the tiny backfill")
    parser.add_argument("--profile", action="store_true", help="also cProfile the tiny backfill (printed only)")
    parser.add_argument("--note", default="", help="a sentence added to the docs section (e.g. why --rows was lowered)")
    parser.add_argument("--write-docs", action="store_true", help=f"update the section in {DOCS.relative_to(REPO)}")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (projects, profile)")
    args = parser.parse_args()
    if args.days < 1 or args.rows < 1 or args.tiny_rows < 1:
        parser.error("--days, --rows and --tiny-rows must be at least 1")
    return args


def lake_steps(work: Path, name: str, label: str, landing: Landing, days: int) -> list[Step]:
    """Build two identical lakes (timed), then backfill one with -p1 and the other with -p2."""
    steps = []
    projects = [work / f"{name}-p1", work / f"{name}-p2"]
    for index, project in enumerate(projects):
        if not project.exists():
            new_project(project, landing)
        step = timed_step(project, label, "build" if index == 0 else "build (2nd lake)", build_args(days))
        steps.append(step)
    for parallel, project in zip((1, 2), projects):
        steps.append(timed_step(project, label, f"backfill -p{parallel}", backfill_args(days, parallel)))
    return steps


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child-timed":
        rest = sys.argv[3:]
        child_timed(Path(sys.argv[2]), rest[1:] if rest[:1] == ["--"] else rest)
        return
    args = parse_args()
    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="lakemend-bench-backfill-"))
    print(f"Working in {work}", flush=True)
    try:
        steps: list[Step] = []
        landing = Landing(Path(), 0, 0, 0.0)
        if not args.skip_big:
            first = new_project(work / "big-p1", None)
            started = time.perf_counter()
            landing = land(first, args.days, args.rows)
            print(f"Landed {landing.orders:,} orders + {landing.contacts:,} contacts ({landing.megabytes:,.0f} MB) "
                  f"in {time.perf_counter() - started:.1f} s", flush=True)
            steps += lake_steps(work, "big", f"{args.rows:,} orders/day", landing, args.days)
        tiny_first = new_project(work / "tiny-p1", None)
        tiny_landing = land(tiny_first, args.days, args.tiny_rows)
        tiny_steps = lake_steps(work, "tiny", f"tiny ({args.tiny_rows} orders/day)", tiny_landing, args.days)
        steps += tiny_steps
        b = None
        if not args.no_breakdown:
            project = new_project(work / "tiny-timed", tiny_landing)
            timed_step(project, "tiny", "build", build_args(args.days))
            b = breakdown(project, "tiny", args.days, work)
        if args.skip_big:
            landing = tiny_landing
        text = section(args, steps, landing, tiny_landing, b, (time.perf_counter() - began) / 60)
        print("\n" + text.replace(START_MARK + "\n", "").replace("\n" + END_MARK, ""), flush=True)
        if args.write_docs:
            write_docs(text)
        if args.profile:
            project = new_project(work / "tiny-profile", tiny_landing)
            timed_step(project, "tiny", "build", build_args(args.days))
            profile(project, args.days, work, tiny_steps[-1].partitions)
    finally:
        if args.keep:
            print(f"\nKept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
