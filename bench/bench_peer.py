"""Benchmark: lakemend vs its peer dbt-duckdb on the example project's orders path.

Run from the repository root with the project's venv (or ``make bench-peer``):

    .venv/bin/python bench/bench_peer.py [--days 30] [--rows 50000] [--repeats 3] [--microbatch]
                                         [--write-docs] [--note TEXT] [--keep]
    .venv/bin/python bench/bench_peer.py --check      # tiny data, both ways, results compared; no timing

The peer is the dbt project in ``bench/peers/dbt_orders`` (dbt-core 1.10 + dbt-duckdb 1.10), which
mirrors the orders path of ``lakemend init --example company``: bronze.orders (the landing CSVs,
read with DuckDB's ``read_csv``) → silver.orders_clean (the example's model SQL, dedup by order_id
keeping the latest updated_at per day, the contract's row rules) → gold.daily_revenue,
incremental by day (delete+insert; ``--microbatch`` adds dbt's microbatch strategy as a third engine).
dbt lives in its own venv, ``bench/.venv-peer`` (git-ignored), which this script creates on first
use with pip: its pins would fight lakemend's in ``.venv``.

What it does, every engine in its own subprocess, interleaved (lakemend, dbt, lakemend, dbt, …):

1. Lands ``--days`` days from 2025-10-01 of example data (``--rows`` orders a day) once; every
   lakemend project and the dbt landing folder hard-link those files.
2. Warm-up round, not timed: a full build both ways, then the results are compared — gold
   daily_revenue row by row, and per day the bronze and silver row counts and silver checksums
   (distinct orders, sum of amounts, of updated_at, of a hash of the text columns). Any difference
   stops the benchmark with exit 1 before anything is timed.
3. Full build, ``--repeats`` times: ``lakemend run --start … --end … --select +gold.daily_revenue`` in a
   fresh project vs ``dbt run --vars '{start: …, end: …}'`` on a fresh DuckDB file (dbt keeps its
   target/ folder, so it parses partially as it would for a user).
4. One-day reprocess, ``--repeats`` times: the middle day's landing files are replaced (alternately by
   a second version generated with another seed and by the original), then
   ``lakemend run --date D --select +gold.daily_revenue`` vs ``dbt run --vars '{start: D, end: D}'``.
   Results compared again afterwards.
5. No-op, ``--repeats`` times: nothing changed; ``lakemend run --start … --end …`` (every partition up to
   date) vs plain ``dbt run`` (each model's filter selects the days after its newest day: none).

Reported per measure: median wall seconds (min–max), the ratio lakemend / dbt of the medians, the
1-minute load average before and after each measure and the share of the CPUs other processes used.
``--write-docs`` puts the result between ``<!-- bench_peer:start -->`` and ``<!-- bench_peer:end -->``
in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from bench_pipeline import busy_cpu_seconds, lakemend_exe, machine
from docs_section import write_section

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DOCS = REPO / "docs" / "benchmarks.md"
PEER_PROJECT = BENCH / "peers" / "dbt_orders"
PEER_VENV = BENCH / ".venv-peer"
PEER_REQUIREMENTS = ("dbt-core>=1.10,<1.11", "dbt-duckdb>=1.10,<1.11")
START_MARK = "<!-- bench_peer:start -->"
END_MARK = "<!-- bench_peer:end -->"
FIRST_DAY = dt.date(2025, 10, 1)
SELECT = "+gold.daily_revenue"  # bronze.orders → silver.orders_clean → gold.daily_revenue
TABLES = 3
CHECK_DAYS, CHECK_ROWS = 3, 300


class Mismatch(Exception):
    """lakemend's and dbt's tables differ: the timings would compare different work."""


@dataclass
class Run:
    wall: float
    others: float  # share of all CPUs other processes used meanwhile
    stdout: str
    cpu: float = 0.0  # user + system CPU seconds of the command (all its threads and children)


@dataclass
class Measure:
    """One measure (full build, reprocess, no-op): the runs of every engine, and the load around them."""

    name: str
    runs: dict[str, list[Run]] = field(default_factory=dict)
    load_before: float = 0.0
    load_after: float = 0.0

    def median(self, engine: str) -> float:
        return statistics.median(r.wall for r in self.runs[engine])

    def median_cpu(self, engine: str) -> float:
        return statistics.median(r.cpu for r in self.runs[engine])


@dataclass(frozen=True)
class Setup:
    work: Path
    landing: Path  # the original landing files every copy links to
    alternate: Path  # a second version of the reprocessed day (another seed)
    dbt_landing: Path
    start: dt.date
    end: dt.date
    rows: int
    microbatch: bool

    @property
    def reprocess_day(self) -> dt.date:
        return self.start + (self.end - self.start) // 2


# ----- subprocesses ---------------------------------------------------------------------------------


def measure(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run ``cmd`` to completion; its wall time and how busy the rest of the machine was."""
    os.sync()  # the previous run's writes are not this run's time
    _children_cpu()  # nor the CPU of children reaped since the last measure (setup, git)
    busy_before = busy_cpu_seconds()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate()
    wall = time.perf_counter() - started
    own = _children_cpu()
    others = busy_cpu_seconds() - busy_before - own
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited {proc.returncode}:\n{out[-4000:]}")
    return Run(wall=wall, others=max(0.0, others) / (wall * (os.cpu_count() or 1)), stdout=out, cpu=own)


_children_seen = 0.0


def _children_cpu() -> float:
    """CPU seconds of the child that just ended (the growth of this process's children total)."""
    global _children_seen
    usage = os.times()
    total = usage.children_user + usage.children_system
    own, _children_seen = total - _children_seen, total
    return own


def run_quiet(cmd: list[str], env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    _children_cpu()  # not part of the next measured run
    return proc.stdout


# ----- the peer's venv ---------------------------------------------------------------------------------


def dbt_exe() -> Path:
    return PEER_VENV / "bin" / "dbt"


def ensure_peer_venv() -> None:
    """dbt-core + dbt-duckdb 1.10 in bench/.venv-peer, made once (never in lakemend's .venv)."""
    if dbt_exe().exists():
        return
    print(f"Creating {PEER_VENV.relative_to(REPO)} with {' '.join(PEER_REQUIREMENTS)} (once; about a minute) …", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_VENV)], check=True)
    subprocess.run([str(PEER_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS], check=True)


def peer_versions() -> str:
    out = subprocess.run([str(PEER_VENV / "bin" / "python"), "-c",
                          ("import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
                          "('dbt-core', 'dbt-duckdb', 'duckdb')))")], capture_output=True, text=True, check=True)
    return out.stdout.strip()


# ----- set-up ---------------------------------------------------------------------------------------------


def link_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, copy_function=os.link, dirs_exist_ok=True)


def new_lakemend_project(setup: Setup, name: str) -> Path:
    project = setup.work / name
    run_quiet([lakemend_exe(), "init", str(project), "--example", "company", "--no-data"])
    link_tree(setup.landing, project / "landing")
    return project


def prepare(work: Path, days: int, rows: int, microbatch: bool) -> Setup:
    from lakemend.examples.data import generate

    start, end = FIRST_DAY, FIRST_DAY + dt.timedelta(days=days - 1)
    landing, alternate, dbt_landing = work / "landing", work / "alternate", work / "dbt-landing"
    began = time.perf_counter()
    summary = generate(landing, start, end, rows=rows)
    setup = Setup(work, landing, alternate, dbt_landing, start, end, rows, microbatch)
    generate(alternate, setup.reprocess_day, setup.reprocess_day, rows=rows, seed=8)
    link_tree(landing, dbt_landing)
    orders = sum(d.records for d in summary.days if d.source == "orders")
    size = sum(f.stat().st_size for d in summary.days for f in d.files if d.source == "orders")
    print(f"Landed {days} day(s) {start} … {end}: {orders:,} order records ({size / 2**20:,.0f} MB of CSV) "
          f"in {time.perf_counter() - began:.1f} s under {work}", flush=True)
    return setup


def replace_day(root: Path, version: Path, day: dt.date) -> None:
    """Replace ``day``'s landing folders under ``root`` by fresh copies of ``version``'s (new files, new mtimes)."""
    for folder in ("orders", "hubspot/contacts"):
        target = root / folder / day.isoformat()
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(version / folder / day.isoformat(), target)


# ----- the engines ----------------------------------------------------------------------------------------


def lakemend_run(project: Path, *window: str) -> list[str]:
    return [lakemend_exe(), "-C", str(project), "run", *window, "--select", SELECT, "-o", "json"]


def lakemend_built(run: Run) -> tuple[int, int]:
    """(partitions built, partitions failed) from ``run -o json``."""
    tables = json.loads(run.stdout[run.stdout.index("{"):])["tables"]
    return (sum(t.get("built", 0) for t in tables.values()), sum(t.get("failed", 0) for t in tables.values()))


@dataclass(frozen=True)
class Dbt:
    """One dbt engine: a strategy, its DuckDB file and target folder."""

    setup: Setup
    strategy: str  # delete+insert or microbatch

    @property
    def name(self) -> str:
        return "dbt-duckdb" if self.strategy == "delete+insert" else "dbt-duckdb microbatch"

    @property
    def database(self) -> Path:
        return self.setup.work / f"dbt-{self.strategy.replace('+', '-')}.duckdb"

    def env(self) -> dict[str, str]:
        folder = self.setup.work / f"dbt-{self.strategy.replace('+', '-')}"
        return {**os.environ, "PEER_DUCKDB": str(self.database), "PEER_LANDING": str(self.setup.dbt_landing),
                "DBT_PROFILES_DIR": str(PEER_PROJECT), "DBT_TARGET_PATH": str(folder / "target"),
                "DBT_LOG_PATH": str(folder / "logs"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "DBT_USE_COLORS": "false", "DBT_PRINTER_WIDTH": "100"}

    def command(self, first: dt.date | None = None, last: dt.date | None = None) -> list[str]:
        """``dbt run`` over [first, last], or for the days after the newest built day when not given."""
        cmd = [str(dbt_exe()), "run", "--project-dir", str(PEER_PROJECT)]
        variables: dict[str, str] = {"strategy": self.strategy}
        if first and last:
            if self.strategy == "microbatch":
                cmd += ["--event-time-start", first.isoformat(), "--event-time-end", (last + dt.timedelta(days=1)).isoformat()]
            else:
                variables |= {"start": first.isoformat(), "end": last.isoformat()}
        return cmd + ["--vars", json.dumps(variables)]

    def fresh(self) -> None:
        self.database.unlink(missing_ok=True)
        Path(f"{self.database}.wal").unlink(missing_ok=True)


# ----- results ------------------------------------------------------------------------------------------------

GOLD_SQL = ("SELECT CAST(day AS VARCHAR) AS day, currency, orders, customers, CAST(revenue AS VARCHAR) AS revenue, "
            "CAST(refunded AS VARCHAR) AS refunded FROM gold.daily_revenue ORDER BY day, currency")
SILVER_SQL = ("SELECT CAST(day AS VARCHAR) AS day, count(*) AS rows, count(DISTINCT order_id) AS orders, "
              "CAST(sum(amount) AS VARCHAR) AS amount, CAST(sum(epoch_ms(updated_at)) AS VARCHAR) AS updated, "
              "CAST(sum(hash(order_id, customer_email, currency, status)) AS VARCHAR) AS content "
              "FROM silver.orders_clean GROUP BY day ORDER BY day")
BRONZE_SQL = "SELECT CAST(day AS VARCHAR) AS day, count(*) AS rows FROM bronze.orders GROUP BY day ORDER BY day"


def _normal(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    """Rows as tuples with numbers as Decimals, so 3047.1 and '3047.10' compare equal."""
    def value(v: object) -> object:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return Decimal(str(v))
        if isinstance(v, str):
            try:
                return Decimal(v)
            except ArithmeticError:
                return v
        return v
    return [tuple(value(v) for v in row.values()) for row in rows]


def lakemend_results(project: Path) -> dict[str, list[tuple[object, ...]]]:
    def query(sql: str) -> list[tuple[object, ...]]:
        return _normal(json.loads(run_quiet([lakemend_exe(), "-C", str(project), "query", sql, "-o", "json"])))
    return {"gold.daily_revenue": query(GOLD_SQL), "silver.orders_clean per day": query(SILVER_SQL),
            "bronze.orders per day": query(BRONZE_SQL)}


def dbt_results(database: Path) -> dict[str, list[tuple[object, ...]]]:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        def query(sql: str) -> list[tuple[object, ...]]:
            cursor = con.execute(sql)
            names = [d[0] for d in cursor.description]
            return _normal([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])
        return {"gold.daily_revenue": query(GOLD_SQL), "silver.orders_clean per day": query(SILVER_SQL),
                "bronze.orders per day": query(BRONZE_SQL)}


def compare(project: Path, dbt: Dbt, days: int, when: str) -> str:
    """Raise Mismatch unless lakemend's and dbt's tables agree; a one-line summary when they do."""
    ours, theirs = lakemend_results(project), dbt_results(dbt.database)
    for what, rows in ours.items():
        other = theirs[what]
        if rows != other:
            only_ours = [r for r in rows if r not in other][:3]
            only_theirs = [r for r in other if r not in rows][:3]
            raise Mismatch(f"{when}: {what} differs between lakemend ({len(rows)} rows) and {dbt.name} "
                           f"({len(other)} rows); only in lakemend: {only_ours}; only in dbt: {only_theirs}")
    silver_days = len(ours["silver.orders_clean per day"])
    if silver_days != days:
        raise Mismatch(f"{when}: silver.orders_clean has {silver_days} day(s), expected {days}")
    silver = sum(int(r[1]) for r in ours["silver.orders_clean per day"])  # type: ignore[call-overload]
    return (f"{when}: lakemend and {dbt.name} agree — gold.daily_revenue {len(ours['gold.daily_revenue'])} rows equal, "
            f"silver.orders_clean {silver:,} rows over {silver_days} days (counts and checksums per day equal)")


# ----- the measures --------------------------------------------------------------------------------------------


def interleave(measure_: Measure, repeats: int, steps: list[tuple[str, Callable[[int], Run]]]) -> None:
    """Each repeat runs every engine once, in order; load average recorded around the whole measure."""
    measure_.load_before = os.getloadavg()[0]
    for index in range(repeats):
        for name, step in steps:
            run = step(index)
            measure_.runs.setdefault(name, []).append(run)
        print(f"  {measure_.name} {index + 1}/{repeats}: " + ", ".join(
            f"{name} {measure_.runs[name][-1].wall:.1f} s" for name, _ in steps)
            + f" (load {os.getloadavg()[0]:.1f})", flush=True)
    measure_.load_after = os.getloadavg()[0]


def expect(run: Run, built: int, what: str) -> Run:
    done, failed = lakemend_built(run)
    if failed or done != built:
        raise RuntimeError(f"lakemend {what}: {done} partition(s) built and {failed} failed, expected {built} built:\n{run.stdout[-3000:]}")
    return run


def benchmark(setup: Setup, repeats: int, time_full: bool = True) -> tuple[list[Measure], list[str]]:
    days = (setup.end - setup.start).days + 1
    window = ["--start", setup.start.isoformat(), "--end", setup.end.isoformat()]
    peers = [Dbt(setup, "delete+insert")] + ([Dbt(setup, "microbatch")] if setup.microbatch else [])
    checks: list[str] = []
    projects: list[Path] = []

    def lakemend_full(index: int) -> Run:
        project = new_lakemend_project(setup, f"lakemend-{index}")
        projects.append(project)
        return expect(measure(lakemend_run(project, *window)), TABLES * days, "full build")

    def dbt_full(dbt: Dbt) -> Callable[[int], Run]:
        def step(index: int) -> Run:
            dbt.fresh()
            return measure(dbt.command(setup.start, setup.end), env=dbt.env())
        return step

    print("Warm-up (not timed): a full build both ways, then the results are compared", flush=True)
    lakemend_full(-1)
    for dbt in peers:
        dbt_full(dbt)(-1)
        checks.append(compare(projects[-1], dbt, days, "full build"))
        print("  " + checks[-1], flush=True)

    full = Measure("full build")
    interleave(full, repeats if time_full else 0, [("lakemend", lakemend_full)] + [(dbt.name, dbt_full(dbt)) for dbt in peers])

    day = setup.reprocess_day
    project = projects[-1]  # a full build: the last timed one, or the warm-up's
    dbt_landing_project = peers[0]  # every dbt engine reads the same landing folder

    def reprocess_lakemend(index: int) -> Run:
        replace_day(project / "landing", setup.alternate if index % 2 == 0 else setup.landing, day)
        return expect(measure(lakemend_run(project, "--date", day.isoformat())), TABLES, f"reprocess of {day}")

    def reprocess_dbt(dbt: Dbt) -> Callable[[int], Run]:
        def step(index: int) -> Run:
            if dbt is dbt_landing_project:
                replace_day(setup.dbt_landing, setup.alternate if index % 2 == 0 else setup.landing, day)
            return measure(dbt.command(day, day), env=dbt.env())
        return step

    reprocess = Measure(f"one-day reprocess ({day})")
    interleave(reprocess, repeats, [("lakemend", reprocess_lakemend)] + [(dbt.name, reprocess_dbt(dbt)) for dbt in peers])
    for dbt in peers:
        checks.append(compare(project, dbt, days, f"after the reprocess of {day}"))
        print("  " + checks[-1], flush=True)

    def noop_lakemend(index: int) -> Run:
        return expect(measure(lakemend_run(project, *window)), 0, "no-op run")

    def noop_dbt(dbt: Dbt) -> Callable[[int], Run]:
        def step(index: int) -> Run:
            return measure(dbt.command(), env=dbt.env())
        return step

    noop = Measure("no-op run")
    interleave(noop, repeats, [("lakemend", noop_lakemend)] + [(dbt.name, noop_dbt(dbt)) for dbt in peers])
    for dbt in peers:
        checks.append(compare(project, dbt, days, "after the no-op runs"))
    return [full, reprocess, noop], checks


def check_mode(work: Path) -> None:
    """Tiny data, both ways (each dbt strategy), results compared after a full build, a one-day
    reprocess and a no-op run. No timing; exit 1 on any difference."""
    setup = prepare(work, CHECK_DAYS, CHECK_ROWS, microbatch=True)
    _, checks = benchmark(setup, repeats=1, time_full=False)
    for line in checks:
        print(line)
    print(f"check passed: {len(checks)} comparisons equal")


# ----- report --------------------------------------------------------------------------------------------------


def table(measures: list[Measure]) -> str:
    engines = list(measures[0].runs)
    head = ("| measure | " + " | ".join(f"{e} s" for e in engines) + " | "
            + " | ".join(f"lakemend / {e}" for e in engines[1:]) + " | "
            + " | ".join(f"{e} CPU s" for e in engines) + " | load avg before → after | others' CPU |")
    lines = [head, "| --- |" + " ---: |" * (3 * len(engines) - 1) + " ---: | ---: |"]
    for m in measures:
        cells = []
        for e in engines:
            walls = [r.wall for r in m.runs[e]]
            spread = f" ({min(walls):.1f}–{max(walls):.1f})" if len(walls) > 1 else ""
            cells.append(f"{m.median(e):.1f}{spread}")
        ratios = [f"**{m.median('lakemend') / m.median(e):.2f}×**" for e in engines[1:]]
        cpu = [f"{m.median_cpu(e):.1f}" for e in engines]
        others = [r.others for runs in m.runs.values() for r in runs]
        lines.append(f"| {m.name} | " + " | ".join(cells + ratios + cpu)
                     + f" | {m.load_before:.1f} → {m.load_after:.1f} | {min(others):.0%}–{max(others):.0%} |")
    return "\n".join(lines)


INTRO = """## Peer: lakemend vs dbt-duckdb on the orders path (`bench/bench_peer.py`)

What is measured: the orders path of the example company project (bronze.orders → silver.orders_clean →
gold.daily_revenue), built by `lakemend run --select +gold.daily_revenue` and by its dbt-duckdb twin in
`bench/peers/dbt_orders` (`dbt run`; the same landing CSVs read with `read_csv`, the example's model SQL,
dedup by order_id keeping the latest updated_at per day, the contract's row rules; incremental by day with
delete+insert, and with microbatch where a column says so; dbt in its own venv `bench/.venv-peer`, one
dbt thread, DuckDB on both CPUs; `dbt run` runs no tests, while lakemend checks its contracts inside every build). Every command is
one subprocess, the engines interleaved (lakemend, dbt, lakemend, dbt, …); *s* is the median wall time
(min–max), the ratio lakemend ÷ dbt of the medians (below 1: lakemend is faster), *CPU s* the median user +
system CPU seconds of the command (all its threads; on 2 CPUs a wall time can not drop below half of it), *others' CPU* the share
of the CPUs other processes used during each run (from `/proc/stat`). Measures: *full build* of
every day into an empty lake / DuckDB file; *one-day reprocess*: the middle day's landing files replaced,
then `lakemend run --date D` vs `dbt run --vars '{start: D, end: D}'` (microbatch: `--event-time-start/-end`);
*no-op*: nothing changed, `lakemend run` over the whole range vs plain `dbt run` (each model selects the
days after its newest day). Results are compared before anything is timed and again after: gold
daily_revenue row by row, and per day the bronze and silver row counts and silver checksums; a difference
stops the script with exit 1. `python bench/bench_peer.py --check` (or `make bench-peer PEER_ARGS=--check`)
does only that comparison, on 3 days × 300 orders with both dbt strategies, in about a minute (plus about a
minute to make the venv the first time); it is not part of the pytest suite, so CI never installs dbt.
"""


# issue 10's targets: lakemend's median ÷ dbt-duckdb's (delete+insert) median
TARGETS = {"full build": 0.8, "one-day reprocess": 0.6, "no-op run": 0.6}


def targets(measures: list[Measure]) -> str:
    parts = []
    for m in measures:
        limit = next(v for k, v in TARGETS.items() if m.name.startswith(k))
        ratio = m.median("lakemend") / m.median("dbt-duckdb")
        parts.append(f"{m.name.split(' (')[0]} ≤ {limit}× — {'met' if ratio <= limit else '**missed**'} ({ratio:.2f}×)")
    return "Targets (issue 10, lakemend ÷ dbt-duckdb delete+insert): " + "; ".join(parts) + "."


def revision() -> str:
    """The commit measured, and whether the working tree had changes on top of it."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "src"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "an unknown revision"
    return f"commit {head}" + (" with uncommitted changes under src/" if dirty else "")


def section(measures: list[Measure], checks: list[str], setup: Setup, args: argparse.Namespace, minutes: float) -> str:
    args_shown = [arg for index, arg in enumerate(sys.argv[1:], 1)
                  if not (arg == "--note" or arg.startswith("--note=") or sys.argv[index - 1] == "--note")]
    command = "python bench/bench_peer.py " + shlex.join(args_shown)
    days = (setup.end - setup.start).days + 1
    loads = [v for m in measures for v in (m.load_before, m.load_after)]
    note = f" {args.note}" if args.note else ""
    return "\n".join([
        START_MARK,
        INTRO,
        (f"Measured {dt.date.today()} on {machine()}; peer: {peer_versions()}; lakemend at {revision()}. "
        f"1-minute load average {min(loads):.1f}–{max(loads):.1f} during the measures (this benchmark alone "
        f"keeps it at about 1–2 on 2 CPUs; the rest is other jobs, see *others' CPU*); the whole benchmark took {minutes:.0f} min."),
        "",
        (f"Command: `{command}` (sizes: {days} days × {setup.rows:,} orders a day, {setup.start} … {setup.end}; "
        f"reprocessed day {setup.reprocess_day}; {args.repeats} timed repeat(s) per engine after a warm-up).{note}"),
        "",
        ("Results compared, equal for every dbt engine after the warm-up build, after the reprocess and after the "
         f"no-op runs: {checks[0].split('agree — ', 1)[1]}."),
        "",
        targets(measures),
        "",
        table(measures),
        END_MARK,
    ])


# ----- main ----------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="days of landing data from 2025-10-01 (default 30)")
    parser.add_argument("--rows", type=int, default=50_000, help="orders a day (default 50,000)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs per engine and measure (default 3)")
    parser.add_argument("--microbatch", action="store_true", help="also time dbt's microbatch strategy")
    parser.add_argument("--check", action="store_true",
                        help=f"no timing: {CHECK_DAYS} days × {CHECK_ROWS} orders built both ways (both dbt strategies), "
                             "results compared after a full build, a one-day reprocess and a no-op run; exit 1 if they differ")
    parser.add_argument("--write-docs", action="store_true", help=f"update the section in {DOCS.relative_to(REPO)}")
    parser.add_argument("--note", default="", help="a sentence for the docs section (e.g. why the size was reduced)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (landing, projects, DuckDB files)")
    args = parser.parse_args()
    if args.days < 1 or args.rows < 1 or args.repeats < 1:
        parser.error("--days, --rows and --repeats must be at least 1")
    return args


def main() -> int:
    args = parse_args()
    ensure_peer_venv()
    work = Path(tempfile.mkdtemp(prefix="lakemend-peer-"))
    began = time.perf_counter()
    try:
        if args.check:
            check_mode(work)
            return 0
        setup = prepare(work, args.days, args.rows, args.microbatch)
        measures, checks = benchmark(setup, args.repeats)
        text = section(measures, checks, setup, args, (time.perf_counter() - began) / 60)
        print("\n" + text.replace(START_MARK + "\n", "").replace("\n" + END_MARK, ""))
        if args.write_docs:
            write_section(DOCS, START_MARK, END_MARK, text)
        return 0
    except Mismatch as exc:
        print(f"\nFAILED: results differ, nothing timed is valid: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"\nKept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
