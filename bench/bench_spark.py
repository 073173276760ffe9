"""Benchmark: one day of the example company lake on engine ``spark`` (local[2]) vs ``duckdb``,
both writing Iceberg, and what a 30-day backfill would take on EMR Serverless.

Run from the repository root with the project's venv (Java 17 and ``make spark-jars`` needed):

    .venv/bin/python bench/bench_spark.py [--rows 1000000] [--repeats 2] [--smoke] [--write-docs] [--keep]

What it does:

1. ``lakemend init DIR --example company --no-data``, then lands ONE day (2025-10-26) of example
   data with lakemend's generator (``lakemend.examples.data.generate``): ``rows`` orders plus the
   generator's late duplicates, and ``rows // 4`` HubSpot contacts.
2. For each repeat, interleaved (duckdb, spark, duckdb, spark, …): a fresh copy of that project
   (landing files hard-linked, same masking key; ``engine: spark`` for the Spark copy) and
   ``lakemend -C COPY run --date 2025-10-26`` (bronze → silver → gold, 6 tables) in its own
   subprocess. Measured per run: wall time of the command; CPU seconds (user + system) of the
   command and of every process under it — the Spark JVM included — from ``/proc`` sampled every
   0.2 s until the last of them has exited, or ``os.wait4``'s figure when that is larger; peak RSS
   as the largest sum of the resident sets of the whole process tree at one sample; the 1-minute
   load average before and after; job seconds per table from the run ledger.
3. Before any timing counts, each Spark lake is compared with the DuckDB lake of the same repeat:
   gold.daily_revenue row by row (meta columns aside) and the row counts of every silver table
   (and of every other table). A difference stops the benchmark with exit code 1.
4. EMR Serverless: a second example project with 30 days landed (2025-10-01 … 2025-10-30, 10
   orders a day: the plan depends on tables and days, not on volume) is planned with lakemend's
   own backfill planner (``ops.backfill.make_plan``: ``backfill bronze all --downstream``) and the
   plan's partitions are turned into StartJobRun requests by ``ops.remote.planned_requests`` — the
   function ``backfill --dry-run`` uses on an ``emr-serverless`` profile (one job run per table and
   run of consecutive days). The cost is estimated from the Spark run's measured job seconds, CPU
   seconds and peak RSS, priced with EMR Serverless's public us-east-1 prices (see PRICES).

This is a benchmark, not a test: it asserts nothing beyond the equality check above.
``--smoke`` (2,000 orders, 1 repeat) checks that it works in well under 2 minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from docs_section import write_section

DAY = dt.date(2025, 10, 26)
BACKFILL = (dt.date(2025, 10, 1), dt.date(2025, 10, 30))
BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DOCS = REPO / "docs" / "benchmarks.md"
JARS = REPO / ".spark-jars"
START_MARK = "<!-- bench_spark:start -->"
END_MARK = "<!-- bench_spark:end -->"
TABLES = (
    "bronze.hubspot_contacts", "bronze.orders", "silver.customers_clean", "silver.orders_clean",
    "gold.customer_orders", "gold.daily_revenue",
)
META = {"_ingested_at", "_run_id", "run_id", "quarantined_at"}
SAMPLE_SECONDS = 0.2

PRICES = {
    # EMR Serverless, us-east-1, x86_64 workers, on-demand (aws.amazon.com/emr/pricing/, "Amazon EMR
    # Serverless" section). Not fetched by this script (no network here): check them before relying.
    "vcpu_hour": 0.052624,
    "gb_hour": 0.0057785,
    "storage_gb_hour": 0.000111,  # ephemeral storage beyond the 20 GB each worker gets free
}
MIN_BILLED_SECONDS = 60  # EMR Serverless bills each worker for at least one minute
EMR_DEFAULT_WORKERS = (8, 32)  # driver 4 vCPU/16 GB + one executor 4 vCPU/16 GB: EMR's default sizes


# ----- measuring a process tree --------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float, int, int, tuple[str, ...]] | None:
    """(ppid, cpu seconds, rss bytes, start time, address space) of a live process, from /proc/<pid>/stat.

    The address space (virtual size, code and stack addresses) tells a child that still shares its
    parent's memory — the JVM starts Python workers with posix_spawn, whose child runs in the JVM's
    address space until it execs — so that memory is counted once."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    if fields[0] == "Z":  # a zombie's counters are final but its rss is gone: keep the last sample
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, int(fields[21]) * os.sysconf("SC_PAGE_SIZE"),
            int(fields[19]), (fields[20], fields[23], fields[24], fields[25]))


class TreeSampler(threading.Thread):
    """Samples a process and all its descendants (also once re-parented) until every one has exited."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.seen: dict[tuple[int, int], float] = {}  # (pid, start time) → last CPU seconds
        self.peak_rss = 0
        self.root_done = threading.Event()
        self.pids: set[tuple[int, int]] = set()

    def run(self) -> None:
        quiet_since = None
        while True:
            table = {}
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    info = _stat(int(entry.name))
                    if info:
                        table[int(entry.name)] = info
            tree = {self.root} if self.root in table else set()
            tree |= {pid for pid, start in self.pids if pid in table and table[pid][3] == start}
            grew = True
            while grew:
                more = {pid for pid, info in table.items() if info[0] in tree and pid not in tree}
                tree |= more
                grew = bool(more)
            spaces: dict[tuple[str, ...], int] = {}
            for pid in tree:
                _, cpu, resident, start, space = table[pid]
                self.seen[(pid, start)] = cpu
                self.pids.add((pid, start))
                spaces[space] = max(spaces.get(space, 0), resident)
            self.peak_rss = max(self.peak_rss, sum(spaces.values()))
            if self.root_done.is_set() and not (tree - {self.root}):
                if quiet_since is None:
                    quiet_since = time.monotonic()
                if time.monotonic() - quiet_since > 0.5:
                    return
            time.sleep(SAMPLE_SECONDS)

    @property
    def cpu(self) -> float:
        return sum(self.seen.values())


@dataclass
class Run:
    engine: str
    wall: float
    cpu: float
    peak_rss_mb: float
    load_before: float
    load_after: float
    job_seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    lake_mb: float = 0.0
    first_table: str = ""  # the first job of the run: for Spark it also starts the JVM

    @property
    def jobs_total(self) -> float:
        return sum(self.job_seconds.values())


def measure(engine: str, cmd: list[str], env: dict[str, str]) -> Run:
    os.sync()  # the previous run's writes do not land in this run's time
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, text=True)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        sampler.root_done.set()
        sampler.join(timeout=120)  # the JVM leaves once its Python is gone; never leave one behind
        for pid, start in sampler.pids:
            info = _stat(pid)
            if info and info[3] == start and pid != proc.pid:
                os.kill(pid, 9)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"{shlex.join(cmd)} exited {proc.returncode}:\n{output[-4000:]}")
    cpu = max(sampler.cpu, usage.ru_utime + usage.ru_stime)
    rss = max(sampler.peak_rss, usage.ru_maxrss * 1024)
    return Run(engine, wall, cpu, rss / 2**20, load_before, os.getloadavg()[0])


# ----- projects ------------------------------------------------------------------------------------


def lakemend_exe() -> str:
    beside = Path(sys.executable).parent / "lakemend"
    return str(beside) if beside.exists() else shutil.which("lakemend") or "lakemend"


def check(cmd: list[str], env: dict[str, str] | None = None) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")}
    env["LAKEMEND_SPARK_JARS"] = str(JARS)
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    return env


def pristine(work: Path, rows: int) -> tuple[Path, dict[str, float]]:
    """The example project (not built) with one day landed; its landing sizes."""
    from lakemend.examples.data import generate

    root = work / "pristine"
    check([lakemend_exe(), "init", str(root), "--example", "company", "--no-data"])
    summary = generate(root / "landing", DAY, DAY, rows=rows)
    records = {d.source: d.records for d in summary.days}
    size = sum(f.stat().st_size for d in summary.days for f in d.files)
    return root, {"orders": records["orders"], "contacts": records["hubspot"], "landed_mb": size / 2**20}


def copy_project(source: Path, target: Path, engine: str, driver_memory: str) -> Path:
    """A fresh copy (landing hard-linked, same masking key), switched to ``engine``."""
    shutil.copytree(source, target, ignore=lambda folder, names: ["landing"] if Path(folder) == source else [])
    shutil.copytree(source / "landing", target / "landing", copy_function=os.link)
    if engine == "spark":
        config = target / "lakemend.yaml"
        text = config.read_text()
        assert "engine: duckdb" in text
        text = text.replace("engine: duckdb", "engine: spark", 1)
        config.write_text(text + f"\nspark: {{master: 'local[2]', conf: {{spark.driver.memory: {driver_memory}}}}}\n")
    return target


def ledger(project: Path, env: dict[str, str]) -> tuple[dict[str, float], dict[str, int], str]:
    """Seconds and rows written per table from the run ledger, and the table of the first job."""
    jobs = json.loads(check([lakemend_exe(), "-C", str(project), "runs", "-o", "json", "--limit", "100"], env))
    seconds, rows = {}, {}
    for job in jobs:
        if job["status"] != "succeeded":
            raise SystemExit(f"{project}: job {job['table_name']} {job['status']}: {job.get('error')}")
        started, ended = dt.datetime.fromisoformat(job["started_at"]), dt.datetime.fromisoformat(job["ended_at"])
        seconds[job["table_name"]] = (ended - started).total_seconds()
        rows[job["table_name"]] = int(job["rows_written"] or 0)
    first = min(jobs, key=lambda job: job["started_at"])["table_name"]
    return seconds, rows, first


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def one_run(engine: str, source: Path, work: Path, index: int, driver_memory: str) -> tuple[Run, Path]:
    project = copy_project(source, work / f"{engine}-{index}", engine, driver_memory)
    env = clean_env()
    run = measure(engine, [lakemend_exe(), "-C", str(project), "run", "--date", DAY.isoformat(), "--reason", "bench"], env)
    run.job_seconds, run.rows, run.first_table = ledger(project, env)
    run.lake_mb = folder_mb(project / "lake")
    return run, project


START_SCRIPT = """
import sys
from lakemend.engines import spark
from lakemend.project.project import load_project
from pathlib import Path
spark.root_session(load_project(Path(sys.argv[1]))).range(1).count()
spark.stop()
"""


def spark_start(source: Path, work: Path, driver_memory: str) -> Run:
    """A process that only starts lakemend's SparkSession and runs one action: the JVM's start-up cost."""
    project = copy_project(source, work / "spark-start", "spark", driver_memory)
    return measure("spark start", [sys.executable, "-c", START_SCRIPT, str(project)], clean_env())


# ----- equality ------------------------------------------------------------------------------------


def lake_summary(root: Path) -> tuple[dict[str, int], list[tuple]]:
    """Row count of every table, and gold.daily_revenue's rows (meta columns aside, sorted)."""
    from lakemend.lake import Lake

    lake = Lake.open(root)
    counts = {}
    for namespace in ("bronze", "silver", "gold", "quarantine"):
        for _, name in lake.catalog.list_tables(namespace):
            data = lake.table(f"{namespace}.{name}").scan().to_arrow()
            counts[f"{namespace}.{name}"] = data.num_rows
            if f"{namespace}.{name}" == "gold.daily_revenue":
                keep = [c for c in data.column_names if c not in META]
                revenue = sorted(tuple(row[c] for c in keep) for row in data.select(keep).to_pylist())
    return counts, revenue


def same_results(duck: Path, spark: Path) -> str:
    duck_counts, duck_revenue = lake_summary(duck)
    spark_counts, spark_revenue = lake_summary(spark)
    if duck_counts != spark_counts:
        raise SystemExit(f"row counts differ: duckdb {duck_counts} vs spark {spark_counts}")
    if duck_revenue != spark_revenue:
        raise SystemExit(f"gold.daily_revenue differs:\nduckdb {duck_revenue}\nspark  {spark_revenue}")
    silver = {t: n for t, n in duck_counts.items() if t.startswith("silver.")}
    return (f"equal: gold.daily_revenue ({len(duck_revenue)} rows, every value), "
            + ", ".join(f"{t} {n:,} rows" for t, n in silver.items()) + f", and the row counts of all {len(duck_counts)} tables")


# ----- EMR Serverless estimate ----------------------------------------------------------------------


AWS_PROFILE = """
profiles:
  aws:
    engine: emr-serverless
    aws:
      region: us-east-1
      emr_serverless:
        application_id: 00fabc1234567890
        execution_role_arn: arn:aws:iam::123456789012:role/lakemend-emr-job
        artifacts: s3://acme-lake-artifacts/lakemend
        log_uri: s3://acme-lake-logs/emr-serverless/backfill
"""


def planned_job_runs(work: Path) -> list[tuple[str, int]]:
    """(table, days) of each StartJobRun a 30-day ``backfill bronze all --downstream`` sends on EMR."""
    from lakemend.dates import day_range
    from lakemend.examples.data import generate
    from lakemend.lake import Lake
    from lakemend.ops.backfill import make_plan
    from lakemend.ops.remote import planned_requests
    from lakemend.ops.runner import new_run_id
    from lakemend.project.project import load_project

    root = work / "plan30"
    check([lakemend_exe(), "init", str(root), "--example", "company", "--no-data"])
    generate(root / "landing", *BACKFILL, rows=10)
    config = root / "lakemend.yaml"
    config.write_text(config.read_text() + AWS_PROFILE)
    lake = Lake.open(root)  # the top-level (local) settings: the plan reads the local landing files
    plan = make_plan(lake, command="backfill", layer="bronze", name="all", days=day_range(*BACKFILL), downstream=True)
    requests = planned_requests(load_project(root, profile="aws"), [(p.table, p.day) for p in plan.todo],
                                run_id=new_run_id(), command=plan.command, reason="bench")
    out = []
    for request in requests:
        arguments = request["jobDriver"]["sparkSubmit"]["entryPointArguments"]
        out.append((request["tags"]["lakemend:table"], len(arguments[arguments.index("--days") + 1].split(","))))
    return out


@dataclass
class Estimate:
    job_runs: list[tuple[str, int]]
    start: Run  # the JVM's start-up alone (spark_start)
    outside: float  # seconds of a local run outside its table jobs (CLI start, planning, ledger)
    per_day: dict[str, float]  # job seconds of one day per table (median of the Spark repeats), JVM start taken out
    cpu_day: float
    memory_gb: int

    @property
    def startup(self) -> float:
        """What a job run pays once: the JVM's start and lakemend's own start-up outside the jobs."""
        return self.start.wall + self.outside

    def billed_seconds(self) -> list[float]:
        return [max(MIN_BILLED_SECONDS, self.startup + days * self.per_day[table]) for table, days in self.job_runs]

    def cpu_seconds(self) -> float:
        """The measured CPU of a day, with the JVM's start paid once per job run instead of once per day."""
        days = sum(days for _, days in self.job_runs) // len(TABLES)
        return days * max(0.0, self.cpu_day - self.start.cpu) + len(self.job_runs) * self.start.cpu

    def cost(self, vcpu: float, memory_gb: float, seconds: float) -> tuple[float, float, float]:
        vcpu_hours, gb_hours = vcpu * seconds / 3600, memory_gb * seconds / 3600
        return vcpu_hours, gb_hours, vcpu_hours * PRICES["vcpu_hour"] + gb_hours * PRICES["gb_hour"]


def estimate(work: Path, spark_runs: list[Run], start: Run) -> Estimate:
    job_runs = planned_job_runs(work)
    per_day = {t: statistics.median(max(0.0, r.job_seconds[t] - (start.wall if t == r.first_table else 0.0))
                                    for r in spark_runs) for t in TABLES}
    outside = statistics.median(r.wall - r.jobs_total for r in spark_runs)
    memory = max(4, math.ceil(max(r.peak_rss_mb for r in spark_runs) / 1024))
    return Estimate(job_runs, start, outside, per_day, statistics.median(r.cpu for r in spark_runs), memory)


# ----- report --------------------------------------------------------------------------------------


def machine() -> str:
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False).stderr.splitlines()[0]
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in ("duckdb", "pyspark", "pyiceberg"))
    return (f"{os.cpu_count()} CPUs (nproc; {cpu}), {mem_kb / 2**20:.1f} GB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}, {java}, {versions}, Iceberg Spark runtime 1.12.0")


def med(runs: list[Run], what: str) -> float:
    return statistics.median(getattr(r, what) for r in runs)


def report(runs: list[Run], sizes: dict[str, float], equal: str, emr: Estimate, args: argparse.Namespace,
           seconds: float) -> str:
    duck = [r for r in runs if r.engine == "duckdb"]
    spark = [r for r in runs if r.engine == "spark"]
    loads = [x for r in runs for x in (r.load_before, r.load_after)]
    lines = [
        START_MARK,
        "## Spark vs DuckDB: one day through bronze, silver and gold (`bench/bench_spark.py`)",
        "",
        f"Measured {dt.date.today()} on {machine()}. **The machine is shared** with other jobs: the 1-minute load "
        f"average was {min(loads):.1f}–{max(loads):.1f} during the runs (2 CPUs), so every time below is inflated "
        f"and noisy; compare the two engines within this table, not with other sections. The benchmark took "
        f"{seconds / 60:.0f} minutes.",
        "",
        f"Command: `{shlex.join(['python', 'bench/bench_spark.py', *sys.argv[1:]])}`.",
        "",
        f"What is measured: one day ({DAY}) of the example company project, {sizes['orders']:,} order records "
        f"({args.rows:,} orders + the generator's late duplicates) and {sizes['contacts']:,} contacts, "
        f"{sizes['landed_mb']:.0f} MB landed, built by `lakemend run --date {DAY}` (6 tables, bronze → silver → gold) "
        f"in a fresh project per run, on `duckdb` and on `spark` (`local[2]`, `spark.driver.memory: {args.driver_memory}`, "
        f"lakemend's local tuning), both writing Iceberg through write-audit-publish; runs interleaved "
        f"(duckdb, spark, …), {args.repeats} of each. *wall s*: the command's wall time (for Spark including the JVM "
        f"start); *CPU s*: user + system seconds of the command and every process under it (the JVM), from `/proc` "
        f"every {SAMPLE_SECONDS} s; *peak RSS*: the largest sum of the resident sets of that process tree; *jobs s*: "
        f"the six partition jobs in the run ledger. Medians over the repeats, min–max in brackets.",
        "",
        f"Results checked before any time counted: {equal}.",
        "",
        "| engine | wall s | CPU s | peak RSS MB | jobs s | outside jobs s | lake MB | load avg before → after |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, group in (("duckdb", duck), ("spark (local[2])", spark)):
        def cell(what: str, digits: int = 1, group: list[Run] = group) -> str:
            values = [getattr(r, what) for r in group]
            text = f"{statistics.median(values):,.{digits}f}"
            return text + (f" ({min(values):,.{digits}f}–{max(values):,.{digits}f})" if len(values) > 1 else "")
        outside = statistics.median(r.wall - r.jobs_total for r in group)
        lines.append(f"| {name} | {cell('wall')} | {cell('cpu')} | {cell('peak_rss_mb', 0)} | {cell('jobs_total')} | "
                     f"{outside:.1f} | {med(group, 'lake_mb'):.0f} | "
                     + ", ".join(f"{r.load_before:.1f} → {r.load_after:.1f}" for r in group) + " |")
    lines += [
        "",
        f"Spark ÷ DuckDB: wall **{med(spark, 'wall') / med(duck, 'wall'):.1f}×**, CPU **{med(spark, 'cpu') / med(duck, 'cpu'):.1f}×**, "
        f"peak RSS **{med(spark, 'peak_rss_mb') / med(duck, 'peak_rss_mb'):.1f}×**, partition jobs alone "
        f"{med(spark, 'jobs_total') / med(duck, 'jobs_total'):.1f}×.",
        "",
        "Job seconds per table (ledger, median):",
        "",
        "| table | rows | duckdb s | spark s |",
        "| --- | ---: | ---: | ---: |",
    ]
    for table in TABLES:
        lines.append(f"| {table} | {duck[-1].rows[table]:,} | {statistics.median(r.job_seconds[table] for r in duck):.1f} | "
                     f"{statistics.median(r.job_seconds[table] for r in spark):.1f} |")
    billed = emr.billed_seconds()
    vh, gh, cost = emr.cost(2, emr.memory_gb, sum(billed))
    dvh, dgh, default_cost = emr.cost(*EMR_DEFAULT_WORKERS, sum(billed))
    cvh, cgh, cpu_cost = emr.cost(1, 2, emr.cpu_seconds())
    tables = ", ".join(f"{t} {d} days" for t, d in emr.job_runs)
    lines += [
        "",
        f"### EMR Serverless: a 30-day backfill at {args.rows:,} orders a day",
        "",
        f"Job runs: **{len(emr.job_runs)}** for `lakemend --profile aws backfill bronze all --start {BACKFILL[0]} --end "
        f"{BACKFILL[1]} --downstream` — {tables}. Counted by lakemend's own planner on a real plan: "
        f"`ops.backfill.make_plan` on an example project with those 30 days landed, then `ops.remote.planned_requests` "
        f"(what `--dry-run` prints on an `emr-serverless` profile: one StartJobRun per table and run of consecutive "
        f"days, not per partition; {30 * len(TABLES)} partitions).",
        "",
        f"Prices assumed (EMR Serverless on-demand, us-east-1, x86_64, as published on aws.amazon.com/emr/pricing; "
        f"not fetched here — check before relying): **${PRICES['vcpu_hour']} per vCPU-hour**, **${PRICES['gb_hour']} "
        f"per GB-hour** of memory, ephemeral storage ${PRICES['storage_gb_hour']} per GB-hour beyond the 20 GB free per "
        f"worker (not needed here: 0). Billing is per second with a {MIN_BILLED_SECONDS} s minimum per worker.",
        "",
        f"Scaled from the local Spark runs: each job run lasts one start-up — the JVM's start measured alone "
        f"({emr.start.wall:.1f} s wall, {emr.start.cpu:.1f} CPU s: a process that only starts lakemend's SparkSession "
        f"and runs one action) plus the run's time outside its jobs ({emr.outside:.1f} s) — then its days × that "
        f"table's measured job seconds per day (above; the JVM start taken out of the first job, which pays it "
        f"locally), at least {MIN_BILLED_SECONDS} s: {sum(billed) / 3600:.2f} job-run hours in all.",
        "",
        "| capacity per job run | vCPU-hours | GB-hours | estimated cost |",
        "| --- | ---: | ---: | ---: |",
        f"| as measured locally: 2 vCPU, {emr.memory_gb} GB (peak RSS rounded up, at least 4 GB) | {vh:.2f} | {gh:.2f} | **${cost:.2f}** |",
        f"| EMR's default sizes: driver + 1 executor of 4 vCPU / 16 GB each | {dvh:.2f} | {dgh:.2f} | ${default_cost:.2f} |",
        f"| lower bound: the measured CPU seconds only ({emr.cpu_seconds():,.0f} s: 30 days × {emr.cpu_day:.0f} s "
        f"with one JVM start per job run, fully busy vCPUs, 2 GB per vCPU) | "
        f"{cvh:.2f} | {cgh:.2f} | ${cpu_cost:.2f} |",
        "",
        "Assumptions: a cluster worker is as fast per vCPU as this machine's (a shared, loaded one: likely "
        "pessimistic); the work per day does not change over the 30 days; EMR's own application start-up and "
        "pre-initialised capacity, S3 and Glue requests, CloudWatch and data transfer are not included; the "
        "local start-up (JVM, planning, ledger) stands for a job run's driver start. The example has no "
        "cross-day (`upto`) inputs that would split a table's run of days, so every table is one job run.",
        END_MARK,
    ]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="orders landed for the day (default 1,000,000)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per engine, interleaved (default 2)")
    parser.add_argument("--smoke", action="store_true", help="tiny and quick: 2,000 orders, 1 repeat (< 2 minutes)")
    parser.add_argument("--driver-memory", default="4g", help="spark.driver.memory of the Spark runs (default 4g)")
    parser.add_argument("--write-docs", action="store_true", help="write the section into docs/benchmarks.md")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (printed)")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.repeats = 2_000, 1
    return args


def main() -> None:
    args = parse_args()
    if not shutil.which("java"):
        raise SystemExit("the spark engine needs Java 17 (e.g. apt-get install openjdk-17-jre-headless)")
    if not list(JARS.glob("iceberg-spark-runtime-*.jar")):
        raise SystemExit(f"no jars in {JARS}: run `make spark-jars` first")
    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="lakemend-bench-spark-"))
    try:
        source, sizes = pristine(work, args.rows)
        print(f"landed {sizes['orders']:,} order records and {sizes['contacts']:,} contacts ({sizes['landed_mb']:.0f} MB) in {work}")
        runs: list[Run] = []
        equal = ""
        for index in range(args.repeats):
            duck, duck_root = one_run("duckdb", source, work, index, args.driver_memory)
            print(f"duckdb #{index + 1}: {duck.wall:.1f} s wall, {duck.cpu:.1f} CPU s, {duck.peak_rss_mb:,.0f} MB, load {duck.load_before:.1f}")
            spark, spark_root = one_run("spark", source, work, index, args.driver_memory)
            print(f"spark  #{index + 1}: {spark.wall:.1f} s wall, {spark.cpu:.1f} CPU s, {spark.peak_rss_mb:,.0f} MB, load {spark.load_before:.1f}")
            equal = same_results(duck_root, spark_root)  # before the pair's times count
            runs += [duck, spark]
            if not args.keep:
                shutil.rmtree(duck_root)
                shutil.rmtree(spark_root)
        print(equal)
        start = spark_start(source, work, args.driver_memory)
        print(f"spark start alone: {start.wall:.1f} s wall, {start.cpu:.1f} CPU s")
        emr = estimate(work, [r for r in runs if r.engine == "spark"], start)
        text = report(runs, sizes, equal, emr, args, time.perf_counter() - began)
        print("\n" + text)
        if args.write_docs:
            write_section(DOCS, START_MARK, END_MARK, text)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
