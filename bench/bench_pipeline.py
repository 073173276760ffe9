"""Benchmark: one day of the example company lake through ``lakemend run`` vs plain DuckDB.

Run from the repository root with the project's venv:

    .venv/bin/python bench/bench_pipeline.py [--rows 1000000] [--days 1] [--repeat 1] [--write-docs] [--profile] [--keep]

What it does:

1. ``lakemend init DIR --example company --no-data`` in a temp folder, then lands ONE day
   (2025-10-26) of example data: ``rows`` orders (plus the generator's late duplicates) and
   ``rows // 4`` HubSpot contacts.
2. Times ``lakemend run --date 2025-10-26`` (bronze → silver → gold, 6 tables) in its own
   subprocess, in a fresh project per repeat (the landing files are hard-linked, not copied).
3. Times ``bench/duckdb_baseline.py`` — the same day done by hand with DuckDB alone, every layer
   written to Parquet — in its own subprocess.
4. Prints a Markdown table: wall seconds (median of the repeats), orders landed per second,
   peak RSS (``ru_maxrss`` of the child from ``os.wait4``, max over the repeats), ratio to DuckDB,
   and how much of the CPUs other processes took meanwhile (``/proc/stat``), since that skews times.
   ``--write-docs`` puts it between ``<!-- bench_pipeline:start -->`` and
   ``<!-- bench_pipeline:end -->`` in docs/benchmarks.md (the file is created if missing).
5. ``--days N`` (N > 1): the N days ending 2025-10-26 instead, ``rows`` orders each, built by
   ``lakemend run --start … --end …`` and by the baseline day after day in one connection; its
   section (``<!-- bench_pipeline_range:start -->`` … ``end``) is kept apart from the one-day one.
6. ``--profile`` also runs the build once under ``python -m cProfile`` and prints lakemend's
   top 15 cumulative hotspots and the time per area (not written to the docs).

This is a benchmark, not a test: it asserts nothing and exits 0 unless a subprocess fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import pstats
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from docs_section import write_section

DAY = dt.date(2025, 10, 26)
BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DOCS = REPO / "docs" / "benchmarks.md"
BASELINE = BENCH / "duckdb_baseline.py"
START_MARK = "<!-- bench_pipeline:start -->"
END_MARK = "<!-- bench_pipeline:end -->"
RANGE_START_MARK = "<!-- bench_pipeline_range:start -->"
RANGE_END_MARK = "<!-- bench_pipeline_range:end -->"
RANGE_RATIO_TARGET = 1.3  # issue 10: the 6-table example over a range vs a plain DuckDB script
RATIO_TARGET = 1.5
RSS_TARGET_MB = 2048
TABLES = (
    "bronze.hubspot_contacts", "bronze.orders", "silver.customers_clean", "silver.orders_clean",
    "gold.customer_orders", "gold.daily_revenue",
)
DOCS_INTRO = """# Benchmarks

Numbers measured by the scripts in `bench/`; each section below is rewritten by its script
with `--write-docs`, together with the machine and the exact command that produced it.

## Pipeline: one day, lakemend vs plain DuckDB (`bench/bench_pipeline.py`)

What is measured: one day (2025-10-26) of the example company project (`lakemend init --example
company`), built from its landing files to all 6 tables (bronze → silver → gold), once by
`lakemend run --date 2025-10-26` and once by `bench/duckdb_baseline.py`, a hand-written DuckDB
script that runs the same model SQL, deduplication and masking and writes every table to ZSTD
Parquet (no quarantine, no contract checks, no Iceberg commits, no ledger). Each engine runs in
its own subprocess: *wall s* is its wall time (median over the repeats, min–max in brackets), *rows/s* is order
records landed divided by wall time, *peak RSS* is the subprocess's `ru_maxrss` (from `os.wait4`).

Targets: lakemend at most **1.5×** the wall time of plain DuckDB, peak RSS at most **2 GB**.

"""


@dataclass
class Run:
    """One measured subprocess."""

    wall: float
    peak_rss_mb: float
    stdout: str
    others: float  # share of all CPUs that other processes used meanwhile: it skews the times
    cpu: float = 0.0  # user + system CPU seconds of the process (``os.wait4``)


@dataclass
class Engine:
    """The repeats of one engine, and the seconds it spent per table (from its last repeat)."""

    name: str
    runs: list[Run] = field(default_factory=list)
    per_table: dict[str, float] = field(default_factory=dict)
    rows_written: dict[str, int] = field(default_factory=dict)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return max(r.peak_rss_mb for r in self.runs)


@dataclass(frozen=True)
class Landing:
    raw: Path
    orders: int
    contacts: int
    megabytes: float
    first: dt.date = DAY
    last: dt.date = DAY

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def range_args(self, single: str = "--date") -> list[str]:
        """The command-line days: ``--date D`` (or ``single``) for one, ``--start --end`` for several."""
        if self.first == self.last:
            return [single, self.last.isoformat()]
        return ["--start", self.first.isoformat(), "--end", self.last.isoformat()]


# ----- subprocesses ---------------------------------------------------------------------------


def lakemend_exe() -> str:
    """The ``lakemend`` console script next to this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "lakemend"
    return str(beside) if beside.exists() else shutil.which("lakemend") or "lakemend"


def busy_cpu_seconds() -> float:
    """CPU seconds all processes have used since boot (``/proc/stat``; idle and iowait excluded)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def measure(cmd: list[str], cwd: Path | None = None) -> Run:
    """Run ``cmd`` to completion; wall time and the child's own peak RSS (``os.wait4``)."""
    os.sync()  # flush the previous run's writes so they do not land in this run's time
    busy_before = busy_cpu_seconds()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        others = busy_cpu_seconds() - busy_before - usage.ru_utime - usage.ru_stime
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited {proc.returncode}:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    return Run(wall=wall, peak_rss_mb=usage.ru_maxrss / 1024, stdout=stdout,
               others=max(0.0, others) / (wall * (os.cpu_count() or 1)), cpu=usage.ru_utime + usage.ru_stime)


def check(cmd: list[str], cwd: Path | None = None) -> str:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


# ----- set-up --------------------------------------------------------------------------------


def new_project(directory: Path, landing: Landing | None = None) -> Path:
    """``lakemend init`` a fresh example project; hard-link an existing landing day into it."""
    check([lakemend_exe(), "init", str(directory), "--example", "company", "--no-data"])
    if landing is not None:
        shutil.copytree(landing.raw, directory / "landing", copy_function=os.link, dirs_exist_ok=True)
    return directory


def land_days(project: Path, rows: int, days: int = 1) -> Landing:
    """``rows`` orders a day for the ``days`` days ending on DAY."""
    from lakemend.examples.data import generate

    raw = project / "landing"
    first = DAY - dt.timedelta(days=days - 1)
    summary = generate(raw, first, DAY, rows=rows)
    records = {source: sum(d.records for d in summary.days if d.source == source) for source in ("orders", "hubspot")}
    size = sum(f.stat().st_size for d in summary.days for f in d.files)
    return Landing(raw=raw, orders=records["orders"], contacts=records["hubspot"], megabytes=size / 2**20,
                   first=first, last=DAY)


# ----- the two engines -------------------------------------------------------------------------


def lakemend_ledger(project: Path) -> tuple[dict[str, float], dict[str, int]]:
    """Per table, from the run ledger of a project: seconds from its first job's start to its last
    job's end (the days of a batch share their start and end), and rows written over its days."""
    jobs = json.loads(check([lakemend_exe(), "-C", str(project), "runs", "-o", "json", "--limit", "100000"]))
    spans: dict[str, tuple[dt.datetime, dt.datetime]] = {}
    rows: dict[str, int] = {}
    for job in jobs:
        started, ended = dt.datetime.fromisoformat(job["started_at"]), dt.datetime.fromisoformat(job["ended_at"])
        first, last = spans.get(job["table_name"], (started, ended))
        spans[job["table_name"]] = (min(first, started), max(last, ended))
        rows[job["table_name"]] = rows.get(job["table_name"], 0) + int(job["rows_written"] or 0)
    return {table: (last - first).total_seconds() for table, (first, last) in spans.items()}, rows


def run_lakemend(engine: Engine, work: Path, landing: Landing, index: int) -> None:
    project = new_project(work / f"lakemend-{index}", landing)
    engine.runs.append(measure([lakemend_exe(), "-C", str(project), "run", *landing.range_args()]))
    engine.per_table, engine.rows_written = lakemend_ledger(project)


def run_baseline(engine: Engine, work: Path, project: Path, landing: Landing, index: int) -> None:
    out = work / f"duckdb-{index}"
    run = measure([sys.executable, str(BASELINE), "--project", str(project), "--out", str(out), *landing.range_args("--day")])
    engine.runs.append(run)
    tables = json.loads(run.stdout.strip().splitlines()[-1])["tables"]
    engine.per_table = {name: t["seconds"] for name, t in tables.items()}
    engine.rows_written = {name: int(t["rows"]) for name, t in tables.items()}


# ----- profile -----------------------------------------------------------------------------------

# area → (file, function) whose cumulative time it is; names that no longer exist show as n/a
AREAS = {
    "bronze job (build_bronze)": ("bronze.py", "build_bronze"),
    "  CSV ingest (_read_csv_file)": ("ingest.py", "_read_csv_file"),
    "  JSONL ingest (_read_jsonl_file)": ("ingest.py", "_read_jsonl_file"),
    "  split good/bad + md5 (_split)": ("ingest.py", "_split"),
    "landing sha256 (sources.fingerprint)": ("sources.py", "fingerprint"),
    "model job (build_model)": ("model.py", "build_model"),
    "  input scans Iceberg→Arrow (bind_inputs)": ("model.py", "bind_inputs"),
    "  masking (_masked_columns)": ("model.py", "_masked_columns"),
    "  dedup (_duplicate_sql)": ("model.py", "_duplicate_sql"),
    "  contract (_apply_contract)": ("model.py", "_apply_contract"),
    "    table checks (table_checks)": ("contracts.py", "table_checks"),
    "stage (stage_day: write + audit)": ("publish.py", "stage_day"),
    "publish (publish_days: one commit per table and batch)": ("publish.py", "publish_days"),
    "  conform": ("publish.py", "conform"),
    "  day_files / plan_files": ("files.py", "day_files"),
    "planning (decide)": ("runner.py", "decide"),
    "quarantine publish": ("batch.py", "_publish_quarantine"),
}


def profile(work: Path, landing: Landing) -> Path:
    project = new_project(work / "lakemend-profile", landing)
    prof = work / "lakemend-run.prof"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(prof), lakemend_exe(), "-C", str(project), "run", *landing.range_args()]
    run = measure(cmd)
    print(f"\nProfiled build: {run.wall:.1f} s wall under cProfile, profile in {prof}")
    return prof


# frames above this share of the total are the call chain every job runs under (cli → runner →
# run_partition_job): always there, never a hotspot, so left out of the list
WRAPPER_SHARE = 0.8


def _is_lakemend(filename: str) -> bool:
    return f"{os.sep}lakemend{os.sep}" in filename and f"{os.sep}site-packages{os.sep}" not in filename


def print_hotspots(prof: Path, top: int = 15) -> None:
    stats = pstats.Stats(str(prof)).stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _, ct, _) in stats.values())
    ours = [(key, value) for key, value in stats.items()
            if _is_lakemend(key[0]) and value[3] < WRAPPER_SHARE * total and key[2] != "<module>"]
    ours.sort(key=lambda kv: kv[1][3], reverse=True)
    print(f"\nTop {top} cumulative hotspots inside lakemend (total {total:.1f} s; the call chain above {WRAPPER_SHARE:.0%} left out):\n")
    print("| cum s | % | own s | calls | function |\n| ---: | ---: | ---: | ---: | --- |")
    for (filename, line, name), (_, calls, own, cum, _) in ours[:top]:
        where = filename.split(f"{os.sep}lakemend{os.sep}", 1)[-1]
        print(f"| {cum:.2f} | {100 * cum / total:.0f} | {own:.2f} | {calls} | {where}:{line} {name} |")
    print("\nTime per area (cumulative, areas nest):\n")
    for area, (file, func) in AREAS.items():
        found = [v[3] for (f, _, n), v in stats.items() if _is_lakemend(f) and f.endswith(file) and n == func]
        print(f"  {area:<45} {f'{sum(found):7.2f} s' if found else '    n/a'}")
    print(f"\nTop {top} own-time functions anywhere (where the CPU goes):\n")
    everything = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    for (filename, line, name), (_, calls, own, cum, _) in everything:
        print(f"  {own:7.2f} s own {cum:7.2f} s cum {calls:>8} calls  {Path(filename).name}:{line} {name}")


# ----- report ------------------------------------------------------------------------------------


def spread(engine: Engine) -> str:
    """`` (min–max)`` of the repeats' wall times, when there are several."""
    walls = [r.wall for r in engine.runs]
    return f" ({min(walls):.1f}–{max(walls):.1f})" if len(walls) > 1 else ""


def results_table(engines: list[Engine], landing: Landing) -> str:
    baseline = next(e for e in engines if e.name == "plain DuckDB")
    lines = ["| engine | wall s | rows/s | peak RSS MB | ratio to DuckDB |", "| --- | ---: | ---: | ---: | ---: |"]
    for e in engines:
        lines.append(
            f"| {e.name} | {e.wall:.1f}{spread(e)} | {landing.orders / e.wall:,.0f} | {e.peak_rss_mb:,.0f} | {e.wall / baseline.wall:.2f}× |"
        )
    return "\n".join(lines)


def per_table(engines: list[Engine]) -> str:
    head = "| table | " + " | ".join(f"{e.name} s | {e.name} rows" for e in engines) + " |"
    lines = [head, "| --- |" + " ---: | ---: |" * len(engines)]
    for table in TABLES:
        cells = [f"{e.per_table.get(table, float('nan')):.1f} | {e.rows_written.get(table, 0):,}" for e in engines]
        lines.append(f"| {table} | " + " | ".join(cells) + " |")
    outside = [f"{e.runs[-1].wall - sum(e.per_table.values()):.1f} | " for e in engines]
    lines.append("| outside the table jobs (start-up, planning, ledger) | " + " | ".join(outside) + " |")
    return "\n".join(lines)


def verdict(lakemend: Engine, baseline: Engine, landing: Landing) -> str:
    ratio = lakemend.wall / baseline.wall
    best = min(r.wall for r in lakemend.runs) / min(r.wall for r in baseline.runs)
    target = RATIO_TARGET if landing.days == 1 else RANGE_RATIO_TARGET
    speed = "met" if ratio <= target else "**missed**"
    memory = "met" if lakemend.peak_rss_mb <= RSS_TARGET_MB else "**missed**"
    return (
        f"Targets: lakemend ≤ {target}× plain DuckDB — {speed} ({ratio:.2f}× on the medians, "
        f"{best:.2f}× on the best runs); "
        f"peak RSS ≤ {RSS_TARGET_MB / 1024:.0f} GB — {memory} ({lakemend.peak_rss_mb:,.0f} MB)."
    )


def machine() -> str:
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in ("duckdb", "pyarrow", "pyiceberg"))
    return (f"{os.cpu_count()} CPUs (nproc; {cpu}), {mem_kb / 2**20:.1f} GB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}, {versions}")


def section(engines: list[Engine], landing: Landing, args: argparse.Namespace) -> str:
    lakemend, baseline = engines
    start, end = (START_MARK, END_MARK) if landing.days == 1 else (RANGE_START_MARK, RANGE_END_MARK)
    command = "python bench/bench_pipeline.py " + shlex.join(sys.argv[1:])
    others = [r.others for e in engines for r in e.runs]
    mismatched = [t for t in TABLES if lakemend.rows_written.get(t) != baseline.rows_written.get(t)]
    same = "same rows per table in both" if not mismatched else f"row counts differ for {', '.join(mismatched)}"
    when = (f"Landed for {DAY}: {landing.orders:,} order records ({args.rows:,} orders + late duplicates, 2 CSV files) and "
            if landing.days == 1 else
            f"Landed for the {landing.days} days {landing.first} – {landing.last}: {landing.orders:,} order records "
            f"({args.rows:,} orders a day + late duplicates, 2 CSV files a day) and ")
    return "\n".join([
        start,
        f"Measured {dt.date.today()} on {machine()}. Other processes used {min(others):.0%}–{max(others):.0%} "
        "of the CPUs during the runs (the machine is shared; more than a few % makes the times noisy).",
        "",
        f"Command: `{command}` (repeats: {args.repeat}).",
        "",
        when + f"{landing.contacts:,} contacts (1 JSONL file a day), {landing.megabytes:,.0f} MB in all; {same}.",
        "",
        results_table(engines, landing),
        "",
        verdict(lakemend, baseline, landing),
        "",
        "Seconds per table in the last repeat (lakemend: from its first job's start to its last job's end, from "
        "the run ledger; DuckDB: the table's `COPY`" + ("" if landing.days == 1 else "s, summed over the days") + "):",
        "",
        per_table(engines),
        end,
    ])


def write_docs(text: str, landing: Landing) -> None:
    start, end = (START_MARK, END_MARK) if landing.days == 1 else (RANGE_START_MARK, RANGE_END_MARK)
    write_section(DOCS, start, end, text, DOCS_INTRO)


# ----- main ----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="orders landed for the day (contacts: rows // 4)")
    parser.add_argument("--days", type=int, default=1, help="days landed and built, ending 2025-10-26 (rows orders each)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine; wall is the median, RSS the max")
    parser.add_argument("--write-docs", action="store_true", help=f"update the section in {DOCS.relative_to(REPO)}")
    parser.add_argument("--profile", action="store_true", help="also profile one lakemend build with cProfile")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (projects, outputs, profile)")
    args = parser.parse_args()
    if args.rows < 1 or args.repeat < 1 or args.days < 1:
        parser.error("--rows, --days and --repeat must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="lakemend-bench-"))
    try:
        first = new_project(work / "landing-project")
        started = time.perf_counter()
        landing = land_days(first, args.rows, args.days)
        print(f"Landed {landing.orders:,} orders + {landing.contacts:,} contacts ({landing.megabytes:,.0f} MB) "
              f"in {time.perf_counter() - started:.1f} s under {work}")
        lakemend, baseline = Engine("lakemend"), Engine("plain DuckDB")
        for index in range(args.repeat):
            run_lakemend(lakemend, work, landing, index)
            run_baseline(baseline, work, first, landing, index)
            print(f"repeat {index + 1}/{args.repeat}: lakemend {lakemend.runs[-1].wall:.1f} s "
                  f"(others used {lakemend.runs[-1].others:.0%} of the CPUs), "
                  f"DuckDB {baseline.runs[-1].wall:.1f} s (others {baseline.runs[-1].others:.0%})")
        engines = [lakemend, baseline]
        text = section(engines, landing, args)
        print("\n" + "\n".join(line for line in text.splitlines() if not line.startswith("<!-- bench_pipeline")))
        if args.write_docs:
            write_docs(text, landing)
        if args.profile:
            print_hotspots(profile(work, landing))
    finally:
        if args.keep:
            print(f"\nKept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
