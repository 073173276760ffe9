"""Benchmark: ``lakemend status`` / ``gaps`` on a 3-year lake, and ``verify`` of a 1M-row day vs DuckDB.

Run from the repository root with the project's venv:

    .venv/bin/python bench/bench_recovery.py [--tables 10] [--days 1095] [--write-docs]
        [--repeat 5] [--repeat-daily 3] [--commits 3] [--rows-per-day 20] [--verify-rows 1000000]
        [--skip-daily] [--skip-verify] [--profile] [--keep]

What it does:

1. Builds a lake fast, in a spawned process, through lakemend's own code: a project whose
   ``lakemend.yaml`` declares ``--tables`` CSV bronze tables of one source; each table is created
   with ``Lake.ensure_table`` (lakemend's layout: identity partition on ``day``) and all its
   ``--days`` days (from 2023-01-01, ``--rows-per-day`` rows each, in the bronze schema) are loaded in
   ``--commits`` pyiceberg appends (one data file per day partition), each carrying the snapshot
   summary lakemend's own batch publish writes (``lakemend.run-id``, ``lakemend.day-rows``: one
   commit publishes many days). Every day gets a matching tiny landing CSV, its fingerprint and a
   partition state row (``StateStore.record_partition`` with the files key and paths of the published day and
   the snapshot that published it), so ``status`` and ``gaps`` see a fully built lake whose state DB
   records are proven current (``iceberg/history.py``) and answer instead of the manifests. Then it
   damages it: deletes the data files of a few days (gaps), the landing files of a few published
   days (no longer expected: not gaps), lands a few days past the end that were never built (gaps),
   marks two days stale and records one failed job. ``gaps -o json`` is checked against the damage.
   The lake is built twice: with *few manifests* (``table.append``: one manifest per commit, the
   best case) and, unless ``--skip-daily``, with *one manifest per day* (what a lake published day
   by day holds, and what ``plan_files`` then reads), written by the same commits.
2. Times ``lakemend status``, ``status -o json``, ``gaps``, ``gaps -o json`` (on the few-manifest lake
   also the full 3-year ``status -o json --start --end`` and ``lakemend --help`` as the CLI start-up
   floor) as whole CLI subprocesses: median and min–max of the repeats, peak RSS (``os.wait4``).
   Target (issue 10): < 0.5 s each. Then ``status`` and ``gaps`` run once more in a child that wraps lakemend's
   areas in wall-clock timers (imports, catalog, ``plan_files``, landing listing, state DB, ...).
   When a target is missed (or with ``--profile``) they also run under ``python -m cProfile`` and
   the hotspots are printed (not written to the docs).
3. ``verify`` of one day: ``lakemend init --example company --no-data``, lands ``--verify-rows``
   orders for 2025-10-26 with ``lakemend.examples.data.generate``, builds it with
   ``lakemend run --date``, then times ``lakemend verify --date D --table silver.orders_clean`` and
   ``--table gold.customer_orders`` beside a plain DuckDB scan (a Python subprocess) of the same
   Parquet files (the day's files in the table's current snapshot) that reads every column
   (``count(*)`` plus ``count(c)`` and ``max(c)`` of each column), alternating, ``--repeat`` times;
   plus the same wall-clock breakdown of each verify.
4. Prints Markdown tables; ``--write-docs`` puts them between ``<!-- bench_recovery:start -->``
   and ``<!-- bench_recovery:end -->`` in docs/benchmarks.md (appended the first time; nothing
   else in the file is touched) with the machine, date and exact command. With ``--skip-verify``
   the section's earlier ``verify`` part is kept as it was (marked as from its own run).

Set-up runs in spawned processes so that this process stays small: a child's ``ru_maxrss``
includes the memory of the parent it was forked from. This is a benchmark, not a test: it
asserts nothing and exits 0 unless a subprocess fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import pstats
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import busy_cpu_seconds, check, lakemend_exe, machine  # noqa: E402
from docs_section import write_section  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DOCS = REPO / "docs" / "benchmarks.md"
START_MARK = "<!-- bench_recovery:start -->"
END_MARK = "<!-- bench_recovery:end -->"
FIRST_DAY = dt.date(2023, 1, 1)
VERIFY_DAY = dt.date(2025, 10, 26)
TARGET_S = 0.5  # issue 10: status and gaps of 10 tables × 1,095 days
SOURCE = "shop"
RUN_ID = "bench-build"
VERIFY_TABLES = ("silver.orders_clean", "gold.customer_orders")
COLUMNS_YAML = """\
          id: {type: string, required: true}
          customer: string
          amount: {type: "decimal(12,2)", required: true}
          currency: string
          created_at: {type: timestamp, required: true}
"""


# ----- measuring ---------------------------------------------------------------------------------


@dataclass
class Run:
    wall: float
    peak_rss_mb: float
    code: int
    stdout: str
    others: float  # share of all CPUs other processes used meanwhile (skews times)


@dataclass
class Timed:
    """The repeats of one measured command."""

    label: str
    cmd: list[str]
    runs: list[Run] = field(default_factory=list)
    target: float | None = None
    inner: list[float] = field(default_factory=list)  # seconds the child reports for its own work

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def spread(self) -> str:
        walls = [r.wall for r in self.runs]
        return f"{min(walls):.2f}–{max(walls):.2f}" if len(walls) > 1 else ""

    @property
    def peak_rss_mb(self) -> float:
        return max(r.peak_rss_mb for r in self.runs)

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.wall < self.target


def measure(cmd: list[str], ok: tuple[int, ...] = (0,)) -> Run:
    """Run ``cmd`` to completion: wall time and the child's own peak RSS (``os.wait4``)."""
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
    if code not in ok:
        raise RuntimeError(f"{shlex.join(cmd)} exited {code}:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    return Run(wall, usage.ru_maxrss / 1024, code, stdout, max(0.0, others) / (wall * (os.cpu_count() or 1)))


# ----- 1. the wide, shallow lake --------------------------------------------------------------------


@dataclass
class Damage:
    """What was done to the lake, and what gaps must therefore report."""

    deleted_data: dict[str, list[dt.date]] = field(default_factory=dict)
    deleted_landing: dict[str, list[dt.date]] = field(default_factory=dict)
    unbuilt_landing: dict[str, list[dt.date]] = field(default_factory=dict)
    stale: dict[str, list[dt.date]] = field(default_factory=dict)
    failed: dict[str, list[dt.date]] = field(default_factory=dict)

    def expected_gap_days(self) -> dict[str, set[dt.date]]:
        out: dict[str, set[dt.date]] = {}
        for source in (self.deleted_data, self.unbuilt_landing):
            for table, days in source.items():
                out.setdefault(table, set()).update(days)
        return out


@dataclass
class LakeInfo:
    layout: str  # "few" (a few manifests per table) | "daily" (one manifest per day)
    root: Path
    tables: int
    days: int
    last_day: dt.date
    rows_per_day: int
    commits: int
    data_files: int
    landing_files: int
    manifests: int
    metadata_mb: float
    seconds: dict[str, float]
    damage: Damage
    state_answers: int = 0  # tables whose state DB records are proven current (no manifest read)
    gaps_found: dict[str, int] = field(default_factory=dict)
    gaps_note: str = ""
    timed: list[Timed] = field(default_factory=list)
    whole: list[Timed] = field(default_factory=list)
    """``status`` and ``gaps`` timed on the lake before the damage (no day's manifests to read)."""
    parts: list[Breakdown] = field(default_factory=list)

    @property
    def name(self) -> str:
        return LAYOUTS[self.layout]


LAYOUTS = {
    "few": "few manifests",
    "daily": "one manifest per day",
}


def table_names(count: int) -> list[str]:
    return [f"t{i:02d}" for i in range(1, count + 1)]


def write_project(root: Path, names: list[str]) -> None:
    root.mkdir(parents=True)
    tables = "".join(
        f"      {name}:\n        description: bench table {name}\n        path: \"{SOURCE}/{name}/{{date}}/*.csv\"\n"
        f"        format: csv\n        columns:\n{COLUMNS_YAML}"
        for name in names
    )
    (root / "lakemend.yaml").write_text(
        "# Written by bench/bench_recovery.py: bronze tables only, one CSV source.\n"
        "name: bench-recovery\nwarehouse: ./lake\nraw: ./landing\n"
        "catalog: {type: sql, uri: \"sqlite:///lake/catalog.db\", name: lakemend}\n"
        "state: \"sqlite:///.lakemend/state.db\"\nlogs: ./.lakemend/logs\n"
        f"sources:\n  {SOURCE}:\n    bronze:\n{tables}"
    )


def day_rows(name: str, days: list[dt.date], per_day: int):  # noqa: ANN201 - pa.Table
    """Arrow rows of ``days`` in the bronze schema, plus the matching CSV text of each day."""
    import pyarrow as pa

    ids, customers, cents, currencies, created, files, hashes, day_col = [], [], [], [], [], [], [], []
    csv: dict[dt.date, str] = {}
    for day in days:
        relative = f"{SOURCE}/{name}/{day.isoformat()}/{name}-0001.csv"
        lines = ["id,customer,amount,currency,created_at"]
        base = dt.datetime.combine(day, dt.time())
        for i in range(per_day):
            ident = f"{name}-{day:%Y%m%d}-{i:04d}"
            amount = (day.toordinal() * 7 + i * 131) % 100_000
            currency = ("USD", "EUR", "GBP")[i % 3]
            stamp = base + dt.timedelta(seconds=i * 3600 % 86_400 + i)
            lines.append(f"{ident},c{i % 97},{amount // 100}.{amount % 100:02d},{currency},{stamp.isoformat(sep=' ')}")
            ids.append(ident)
            customers.append(f"c{i % 97}")
            cents.append(amount)
            currencies.append(currency)
            created.append(stamp)
            files.append(relative)
            hashes.append(hashlib.md5(ident.encode()).hexdigest())
            day_col.append(day)
        csv[day] = "\n".join(lines) + "\n"
    amounts = pa.array([Decimal(c).scaleb(-2) for c in cents], pa.decimal128(12, 2))
    arrays = {
        "id": pa.array(ids, pa.string()),
        "customer": pa.array(customers, pa.string()),
        "amount": amounts,
        "currency": pa.array(currencies, pa.string()),
        "created_at": pa.array(created, pa.timestamp("us")),
        "_extra": pa.nulls(len(ids), pa.string()),
        "_source_file": pa.array(files, pa.string()),
        "_ingested_at": pa.array([dt.datetime(2026, 1, 1)] * len(ids), pa.timestamp("us")),
        "_run_id": pa.array([RUN_ID] * len(ids), pa.string()),
        "_record_hash": pa.array(hashes, pa.string()),
        "day": pa.array(day_col, pa.date32()),
    }
    return arrays, csv


def lakemend_summary(days: list[dt.date], per_day: int) -> dict[str, str]:
    """The snapshot summary of lakemend's batch publish (``iceberg.publish.publish_days``) of ``days``:
    the run id and each day's rows before and after, which ``iceberg.history`` reads."""
    return {"lakemend.run-id": RUN_ID, "lakemend.days": f"{days[0].isoformat()}..{days[-1].isoformat()}",
            "lakemend.day-rows": json.dumps({d.isoformat(): [0, per_day] for d in days}, separators=(",", ":"))}


def append_manifest_per_day(table, rows, summary: dict[str, str]) -> None:  # noqa: ANN001
    """``table.append(rows)`` in one commit, but with one manifest per data file (= per day).

    A lake that ``lakemend run`` built day by day has (at least) one manifest per published day;
    building it with one commit per day costs O(days²) metadata writes (22 min for ONE table of
    1,095 days here). The manifests are what ``plan_files`` reads, so one commit that writes one
    manifest per day reproduces the read side. Uses pyiceberg internals (a benchmark only).
    """
    from pyiceberg.io.pyarrow import _dataframe_to_data_files
    from pyiceberg.manifest import ManifestEntry, ManifestEntryStatus

    with table.transaction() as tx, tx.update_snapshot(snapshot_properties=summary).fast_append() as append:
        data_files = list(_dataframe_to_data_files(table_metadata=tx.table_metadata, write_uuid=append.commit_uuid,
                                                   df=rows, io=table.io))
        for data_file in data_files:
            append.append_data_file(data_file)

        def one_per_file() -> list:
            manifests = []
            for data_file in data_files:
                with append.new_manifest_writer(spec=tx.table_metadata.spec()) as writer:
                    writer.add(ManifestEntry.from_args(status=ManifestEntryStatus.ADDED, snapshot_id=append._snapshot_id,
                                                       sequence_number=None, file_sequence_number=None, data_file=data_file))
                manifests.append(writer.to_manifest_file())
            return manifests + append._existing_manifests()

        append._manifests = one_per_file


def build_lake(layout: str, root: Path, n_tables: int, n_days: int, per_day: int, commits: int) -> LakeInfo:
    """A lake of step 1, built in this process through lakemend's own code."""
    import pyarrow as pa
    from sqlalchemy import event

    from lakemend.build.ingest import bronze_schema
    from lakemend.lake import Lake
    from lakemend.iceberg.files import files_key, published_paths
    from lakemend.project.sources import content_key, fingerprint

    names = table_names(n_tables)
    write_project(root, names)
    lake = Lake.open(root)

    # the state rows are written one transaction per partition (lakemend's own API); SQLite's
    # fsync per commit would make that the slowest part of the build, and it measures nothing
    @event.listens_for(lake.state.engine, "connect")
    def _no_sync(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    lake.state.engine.dispose()
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range(n_days)]
    chunks = [days[i * len(days) // commits:(i + 1) * len(days) // commits] for i in range(commits)]
    seconds = {"iceberg": 0.0, "landing": 0.0, "state": 0.0, "damage": 0.0}
    for name in names:
        spec = lake.project.table(f"bronze.{name}")
        schema = bronze_schema(spec.bronze)
        started = time.perf_counter()
        table = lake.ensure_table(spec.qualified, schema)
        all_csv: dict[dt.date, str] = {}
        published_by: dict[dt.date, int] = {}  # day → the snapshot that published it
        for chunk in chunks:
            arrays, csv = day_rows(name, chunk, per_day)
            all_csv.update(csv)
            rows = pa.Table.from_pydict(arrays, schema=schema)
            if layout == "daily":
                append_manifest_per_day(table, rows, lakemend_summary(chunk, per_day))
            else:
                table.append(rows, snapshot_properties=lakemend_summary(chunk, per_day))
            published_by.update(dict.fromkeys(chunk, table.current_snapshot().snapshot_id))
        seconds["iceberg"] += time.perf_counter() - started

        started = time.perf_counter()
        prints = {}
        for day, text in all_csv.items():
            folder = root / "landing" / SOURCE / name / day.isoformat()
            folder.mkdir(parents=True)
            path = folder / f"{name}-0001.csv"
            path.write_text(text)
            prints[day] = fingerprint(lake.project, path)
        seconds["landing"] += time.perf_counter() - started

        started = time.perf_counter()
        published = published_paths(lake.table(spec.qualified))
        for day in days:
            input_key = hashlib.sha256(f"{spec.code_hash}\n{content_key([prints[day]])}".encode()).hexdigest()[:32]
            lake.state.record_fingerprints(spec.qualified, day, [prints[day]], RUN_ID)
            lake.state.record_partition(spec.qualified, day, input_key=input_key, files_key=files_key(published[day]),
                                        snapshot_id=published_by[day], run_id=RUN_ID, rows=per_day, files=published[day])
        seconds["state"] += time.perf_counter() - started
        assert len(published) == n_days and all(published.values())

    return LakeInfo(layout, root, n_tables, n_days, days[-1], per_day, commits, 0, 0, 0, 0.0, seconds, Damage())


def damage_built_lake(info: LakeInfo) -> LakeInfo:
    """Step 1's damage, done to a lake ``build_lake`` left whole (after its commands were timed
    on it whole), then the lake's sizes counted."""
    from lakemend.lake import Lake

    lake = Lake.open(info.root)
    names = table_names(info.tables)
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range(info.days)]
    started = time.perf_counter()
    damage = damage_lake(lake, names, days)
    seconds = {**info.seconds, "damage": time.perf_counter() - started}
    state_answers = sum(lake.recorded_partitions(f"bronze.{name}") is not None for name in names)
    warehouse = lake.project.warehouse
    data_files = sum(1 for _ in warehouse.rglob("*.parquet"))
    manifests = sum(1 for p in warehouse.rglob("*.avro") if not p.name.startswith("snap-"))
    metadata_mb = sum(p.stat().st_size for p in warehouse.rglob("*") if p.suffix in (".avro", ".json")) / 2**20
    landing = sum(1 for p in (info.root / "landing").rglob("*.csv"))
    return dataclasses.replace(info, data_files=data_files, landing_files=landing, manifests=manifests,
                               metadata_mb=metadata_mb, seconds=seconds, damage=damage, state_answers=state_answers)


def damage_lake(lake, names: list[str], days: list[dt.date]) -> Damage:  # noqa: ANN001
    """Delete some days' data files and landing files, land unbuilt days, mark stale, fail a job."""
    from lakemend.iceberg.files import files_by_day
    from lakemend.project.storage import local_path

    damage = Damage()
    last = days[-1]
    pick = {  # table index → days whose data files are deleted (some inside status's last 14 days)
        0: [dt.date(2024, 3, 10), dt.date(2024, 3, 11)],
        1: [last - dt.timedelta(days=3)],
        2: [dt.date(2023, 6, 1), dt.date(2024, 6, 1), dt.date(2025, 6, 1)],
    }
    for index, chosen in pick.items():
        if index >= len(names):
            continue
        chosen = [d for d in chosen if days[0] <= d <= last]
        if not chosen:
            continue
        qualified = f"bronze.{names[index]}"
        files = files_by_day(lake.table(qualified))
        for day in chosen:
            for data_file in files[day]:
                os.remove(local_path(data_file.file_path))
        damage.deleted_data[qualified] = chosen
    raw = lake.project.raw
    for index, offsets in ((3, (100, 101, 102)), (4, (5,))):  # published days whose landing files vanished
        if index < len(names):
            chosen = [last - dt.timedelta(days=o) for o in offsets if o < len(days)]
            if not chosen:
                continue
            for day in chosen:
                shutil.rmtree(raw / SOURCE / names[index] / day.isoformat())
            damage.deleted_landing[f"bronze.{names[index]}"] = chosen
    for index in (5, 6):  # landed after the last build: expected, never built
        if index < len(names):
            chosen = [last + dt.timedelta(days=o) for o in (1, 2)]
            _, csv = day_rows(names[index], chosen, 3)
            for day, text in csv.items():
                folder = raw / SOURCE / names[index] / day.isoformat()
                folder.mkdir(parents=True)
                (folder / f"{names[index]}-0001.csv").write_text(text)
            damage.unbuilt_landing[f"bronze.{names[index]}"] = chosen
    if len(names) > 7:
        chosen = [last - dt.timedelta(days=2), last - dt.timedelta(days=1)]
        for day in chosen:
            lake.state.mark(f"bronze.{names[7]}", day, "stale", "bench: pretend an input changed", RUN_ID)
        damage.stale[f"bronze.{names[7]}"] = chosen
    if len(names) > 8:
        qualified, day = f"bronze.{names[8]}", last - dt.timedelta(days=6)
        job = lake.state.start_job(RUN_ID, "backfill", "bronze", qualified, day, "bench", None, None)
        lake.state.finish_job(job, "failed", error="bench: pretend the job failed")
        damage.failed[qualified] = [day]
    return damage


def check_gaps(info: LakeInfo, found: list[dict]) -> str:
    """Compare ``gaps -o json`` with what damage_lake did."""
    reported: dict[str, set[dt.date]] = {}
    for gap in found:
        start, end = dt.date.fromisoformat(gap["from"]), dt.date.fromisoformat(gap["to"])
        while start <= end:
            reported.setdefault(gap["table"], set()).add(start)
            start += dt.timedelta(days=1)
    info.gaps_found = {t: len(d) for t, d in reported.items()}
    expected = info.damage.expected_gap_days()
    total = sum(len(d) for d in reported.values())
    if reported == expected:
        return f"`gaps` reports exactly the {total} missing day(s) the damage left ({len(found)} range(s))"
    return f"**`gaps` differs from the damage**: expected {expected}, reported {reported}"


# ----- 2. status and gaps ------------------------------------------------------------------------


def cli_commands(info: LakeInfo) -> list[Timed]:
    exe, project = lakemend_exe(), str(info.root)
    first, last = FIRST_DAY.isoformat(), (info.last_day + dt.timedelta(days=2)).isoformat()
    base = [exe, "-C", project]
    commands = [
        Timed("status", base + ["status"], target=TARGET_S),
        Timed("status --output json", base + ["status", "--output", "json"], target=TARGET_S),
        Timed("gaps", base + ["gaps"], target=TARGET_S),
        Timed("gaps --output json", base + ["gaps", "--output", "json"], target=TARGET_S),
    ]
    if info.layout == "few":
        commands = [Timed("lakemend --help (CLI start-up floor)", [exe, "--help"])] + commands + [
            Timed(f"status --output json --start {first} --end {last} (every day)",
                  base + ["status", "--output", "json", "--start", first, "--end", last], target=TARGET_S)]
    return commands


WRAPPER_SHARE = 0.8


def profile_command(timed: Timed, work: Path, top: int = 12) -> str:
    """Run one CLI command under cProfile; the text of its hotspots."""
    prof = work / f"profile-{len(list(work.glob('*.prof')))}.prof"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(prof)] + timed.cmd
    run = measure(cmd)
    stats = pstats.Stats(str(prof)).stats  # type: ignore[attr-defined]
    total = max(v[3] for v in stats.values())
    lines = [f"\n### cProfile of `{shlex.join(['lakemend'] + timed.cmd[1:])}` — {run.wall:.2f} s wall under the profiler, "
             f"{total:.2f} s profiled\n", "Cumulative, lakemend's own functions (the outer call chain above "
             f"{WRAPPER_SHARE:.0%} left out):\n"]

    def where(key: tuple) -> str:
        filename, line, name = key
        if f"{os.sep}lakemend{os.sep}" in filename and "site-packages" not in filename:
            filename = "lakemend/" + filename.split(f"{os.sep}lakemend{os.sep}", 1)[1]
        elif "site-packages" in filename:
            filename = filename.split(f"site-packages{os.sep}", 1)[1]
        else:
            filename = Path(filename).name
        return f"{filename}:{line} {name}"

    ours = [(k, v) for k, v in stats.items() if f"{os.sep}lakemend{os.sep}" in k[0] and "site-packages" not in k[0]
            and v[3] < WRAPPER_SHARE * total and k[2] != "<module>"]
    ours.sort(key=lambda kv: kv[1][3], reverse=True)
    for key, (_, calls, own, cum, _) in ours[:top]:
        lines.append(f"  {cum:6.2f} s cum {100 * cum / total:4.0f}% {calls:>7} calls  {where(key)}")
    lines.append("\nCumulative, any package (imports and library calls):\n")
    libs = [(k, v) for k, v in stats.items() if v[3] < WRAPPER_SHARE * total and k[2] not in ("<module>",)
            and not k[0].startswith("<")]
    libs.sort(key=lambda kv: kv[1][3], reverse=True)
    for key, (_, calls, own, cum, _) in libs[:top]:
        lines.append(f"  {cum:6.2f} s cum {calls:>7} calls  {where(key)}")
    lines.append("\nOwn time (where the CPU goes):\n")
    for key, (_, calls, own, cum, _) in sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]:
        lines.append(f"  {own:6.2f} s own {calls:>8} calls  {where(key)}")
    imports = sum(v[3] for k, v in stats.items() if k[2] == "<module>" and k[0].endswith("cli.py") and "lakemend" in k[0])
    lines.append(f"\n(importing lakemend.cli.app: {imports:.2f} s cum)")
    return "\n".join(lines)


# ----- 3. verify of a 1M-row day ------------------------------------------------------------------

SCAN_SCRIPT = """
import json, sys, time
started = time.perf_counter()
import duckdb
paths = json.loads(sys.argv[1])
con = duckdb.connect()
listing = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet([{listing}])").fetchall()]
aggs = ", ".join(f'count("{c}"), max("{c}")' for c in cols)
row = con.execute(f"SELECT count(*), {aggs} FROM read_parquet([{listing}])").fetchone()
print(json.dumps({"rows": row[0], "columns": len(cols), "seconds": time.perf_counter() - started}))
"""


@dataclass
class VerifyInfo:
    root: Path
    orders: int
    build_seconds: float
    files: dict[str, list[str]]
    rows: dict[str, int]
    megabytes: dict[str, float]
    columns: dict[str, int] = field(default_factory=dict)


def prepare_verify(work: Path, rows: int) -> VerifyInfo:
    from lakemend.examples.data import generate
    from lakemend.lake import Lake
    from lakemend.iceberg.files import day_files

    root = work / "company"
    check([lakemend_exe(), "init", str(root), "--example", "company", "--no-data"])
    summary = generate(root / "landing", VERIFY_DAY, VERIFY_DAY, rows=rows)
    orders = sum(d.records for d in summary.days if d.source == "orders")
    run = measure([lakemend_exe(), "-C", str(root), "run", "--date", VERIFY_DAY.isoformat()])
    lake = Lake.open(root)
    files, counts, sizes = {}, {}, {}
    for qualified in VERIFY_TABLES:
        data_files = day_files(lake.table(qualified), VERIFY_DAY)
        files[qualified] = [f.file_path.removeprefix("file://") for f in data_files]
        counts[qualified] = sum(f.record_count for f in data_files)
        sizes[qualified] = sum(f.file_size_in_bytes for f in data_files) / 2**20
    return VerifyInfo(root, orders, run.wall, files, counts, sizes)


def verify_commands(info: VerifyInfo) -> list[tuple[Timed, Timed]]:
    pairs = []
    for qualified in VERIFY_TABLES:
        verify = Timed(f"lakemend verify --date {VERIFY_DAY} --table {qualified}",
                       [lakemend_exe(), "-C", str(info.root), "verify", "--date", VERIFY_DAY.isoformat(), "--table", qualified])
        scan = Timed(f"plain DuckDB scan of the same files ({qualified})",
                     [sys.executable, "-c", SCAN_SCRIPT, json.dumps(info.files[qualified])])
        pairs.append((verify, scan))
    return pairs



# ----- wall-clock breakdown (no profiler) -------------------------------------------------------------

# (label, module, attribute): attribute may be "Class.method"; each target is wrapped where its
# callers look it up (``from x import f`` binds f in the caller); names that no longer exist are skipped.
TIMERS: tuple[tuple[str, str, str], ...] = (
    ("catalog: open (SqlCatalog, namespaces)", "lakemend.lake", "open_catalog"),
    ("catalog: load table metadata (Lake.table)", "lakemend.lake", "Lake.table"),
    ("metadata without pyiceberg: catalog pointer rows + metadata JSON (iceberg.metadata_json)", "lakemend.ops.reads",
     "metadata_locations"),
    ("metadata without pyiceberg: catalog pointer rows + metadata JSON (iceberg.metadata_json)", "lakemend.ops.reads",
     "read_view"),
    ("table for its manifests without a catalog (StaticTable)", "lakemend.ops.reads", "static_table"),
    ("state DB: open (create_all)", "lakemend.state.store", "StateStore.__init__"),
    ("state DB: open the sqlite3 reader (revision, nothing running; state.sqlite_reads)", "lakemend.state.sqlite_reads",
     "open_reads"),
    ("state DB: queries (partition states, marks, pauses, failed jobs)", "lakemend.state.store", "StateStore.partition_states"),
    ("state DB: queries (partition states, marks, pauses, failed jobs)", "lakemend.state.store", "StateStore.marks"),
    ("state DB: queries (partition states, marks, pauses, failed jobs)", "lakemend.state.store", "PauseFlags.all"),
    ("state DB: queries (partition states, marks, pauses, failed jobs)", "lakemend.state.store", "StateStore.failed_days"),
    ("state DB: queries (partition states, marks, pauses, failed jobs)", "lakemend.state.sqlite_reads",
     "SqliteReads.partition_states"),
    ("state DB: queries (partition states, marks, pauses, failed jobs)", "lakemend.state.sqlite_reads",
     "SqliteReads.fingerprints_by_day"),
    ("state DB: queries (partition states, marks, pauses, failed jobs)", "lakemend.state.sqlite_reads",
     "SqliteReads.marks"),
    ("state DB: queries (partition states, marks, pauses, failed jobs)", "lakemend.state.sqlite_reads",
     "SqliteReads.pauses"),
    ("state DB: queries (partition states, marks, pauses, failed jobs)", "lakemend.state.sqlite_reads",
     "SqliteReads.failed_days"),
    ("Iceberg: plan_files (manifest list + manifests → data files)", "pyiceberg.table", "DataScan.plan_files"),
    ("files_by_day (own part: group files by day)", "lakemend.iceberg.files", "files_by_day"),
    ("state DB path: prove the records current from snapshot history (Lake.recorded_partitions, own part)",
     "lakemend.lake", "Lake.recorded_partitions"),
    ("state DB path: prove the records current from snapshot history (records_hold)", "lakemend.ops.reads", "records_hold"),
    ("state DB path: the recorded files looked up in the day folders (own part)", "lakemend.ops.recovery",
     "_present_from_records"),
    ("present_days from manifests (own part: os.path.exists per data file)", "lakemend.ops.recovery",
     "present_days_from_manifests"),
    ("present_days (own part)", "lakemend.ops.recovery", "present_days"),
    ("present_days (own part)", "lakemend.ops.heatmap", "present_days"),
    ("landing listing (landing_days: one scandir walk per table)", "lakemend.ops.recovery", "landing_days"),
    ("landing listing (landing_listing: one scandir walk per table)", "lakemend.ops.reads", "landing_listing"),
    ("landing listing (landing_listing: one scandir walk per table)", "lakemend.ops.runner", "landing_listing"),
    ("landing day folders (landing_day_candidates: one listing per table, down to the day folders)",
     "lakemend.ops.recovery", "landing_day_candidates"),
    ("stale scan: each built day's input key against its record (runner.decide, own part)", "lakemend.ops.runner", "decide"),
    ("stale scan (_scan_stale, own part)", "lakemend.ops.recovery", "_scan_stale"),
    ("heatmap cells (build_heatmap, own part)", "lakemend.ops.heatmap", "build_heatmap"),
    ("gaps ranges (find_gaps, own part)", "lakemend.ops.recovery", "find_gaps"),
    ("days one by one: present (PresentDays.holds: a day's folder)", "lakemend.ops.recovery", "PresentDays.holds"),
    ("days one by one: expected (ExpectedDays.holds: a day's landing glob)", "lakemend.ops.recovery", "ExpectedDays.holds"),
    ("stale scan: the input days the shown cells read (upstream_scope)", "lakemend.ops.heatmap", "upstream_scope"),
    ("verify: schema vs contract", "lakemend.build.contracts", "schema_problems"),
    ("verify: Parquet footers (pq.read_metadata)", "pyarrow.parquet", "read_metadata"),
    ("verify: each day's files and rows from the proven records (_recorded_days, own part)", "lakemend.ops.verify",
     "_recorded_days"),
    ("verify: one aggregate pass over the day, its columns split over the cores (row hash, row rules, row count; "
     "content_problems, own part)", "lakemend.ops.verify", "content_problems"),
    ("verify: PII checks on gold (_pii_problems)", "lakemend.ops.day_pass", "_pii_problems"),
    ("verify: (own part: loop over days)", "lakemend.ops.verify", "verify"),
    ("output (tables, JSON)", "lakemend.cli.output", "Output.table"),
    ("output (tables, JSON)", "lakemend.cli.output", "Output.document"),
)
# imported up front by the timed child (each import's own increment is reported), so that the
# targets above can be wrapped; the commands import all of them anyway (duckdb and pyarrow.parquet: verify)
STATUS_IMPORTS = ("lakemend.cli.app", "lakemend.cli.ops", "lakemend.cli.recovery", "lakemend.ops.recovery",
                  "lakemend.ops.heatmap", "lakemend.ops.runner", "lakemend.state.sqlite_reads")
"""Not pyiceberg nor SQLAlchemy: on these lakes ``status`` and ``gaps`` never import them, even after the
damage (the records hold each day's file paths; the state DB is read with ``sqlite3``); a table that
fell back to its manifests would show as "other"."""
PRE_IMPORTS = ("lakemend.cli.app", "lakemend.cli.ops", "lakemend.cli.recovery", "lakemend.ops.verify",
               "lakemend.build.contracts", "duckdb", "lakemend.engines.duckdb")
"""What ``verify`` imports on these lakes: not pyiceberg nor pyarrow (each day's files come from the proven
records); a table that fell back to its manifests would show their imports as "other"."""


class Timers:
    """Exclusive wall time per label: a label's time minus the time of timed calls inside it."""

    def __init__(self) -> None:
        self.exclusive: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.stack: list[list[float]] = []

    def wrap(self, label: str, func):  # noqa: ANN001, ANN201
        import functools

        @functools.wraps(func)
        def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            frame = [0.0]
            self.stack.append(frame)
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self.stack.pop()
                if self.stack:
                    self.stack[-1][0] += elapsed
                self.exclusive[label] = self.exclusive.get(label, 0.0) + elapsed - frame[0]
                self.calls[label] = self.calls.get(label, 0) + 1
        return wrapper


def child_timed(out: Path, imports: list[str], argv: list[str]) -> None:
    """Run the lakemend CLI in this process with timers on its areas; write them as JSON."""
    import importlib

    started = time.perf_counter()
    import_seconds = {}
    for name in imports:
        before = time.perf_counter()
        importlib.import_module(name)
        import_seconds[name] = time.perf_counter() - before
    timers = Timers()
    missing = []
    for label, module_name, attribute in TIMERS:
        if module_name not in sys.modules:
            continue
        try:
            owner = sys.modules[module_name]
            *path, name = attribute.split(".")
            for part in path:
                owner = getattr(owner, part)
            func = getattr(owner, name)
        except AttributeError:
            missing.append(f"{module_name}.{attribute}")
            continue
        setattr(owner, name, timers.wrap(label, func))
    imported = time.perf_counter()
    from lakemend.cli.app import main as cli_main

    code = 0
    try:
        cli_main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    ended = time.perf_counter()
    out.write_text(json.dumps({"exclusive": timers.exclusive, "calls": timers.calls, "missing": missing,
                               "imports": import_seconds, "wrapping": imported - started - sum(import_seconds.values()),
                               "main": ended - imported}))
    sys.stdout.flush()
    os._exit(code)


@dataclass
class Breakdown:
    label: str
    wall: float
    areas: dict[str, float]
    calls: dict[str, int]


def breakdown(timed: Timed, work: Path, imports: tuple[str, ...]) -> Breakdown:
    """Run one command once more in a child that times lakemend's areas with wall clocks."""
    out = work / "timers.json"
    argv = timed.cmd[1:]  # drop the lakemend executable
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child-timed", str(out), "--imports", ",".join(imports), "--"] + argv
    run = measure(cmd, ok=(0, 1))
    data = json.loads(out.read_text())
    areas = {f"imports: {name}": seconds for name, seconds in data["imports"].items() if seconds >= 0.005}
    areas.update(data["exclusive"])
    areas["other: CLI parsing, project + config load, code not timed"] = data["main"] - sum(data["exclusive"].values())
    areas["start-up: interpreter (process wall − in-process time)"] = (
        run.wall - sum(data["imports"].values()) - data["wrapping"] - data["main"])
    return Breakdown(timed.label, run.wall, areas, dict(data["calls"]))


def breakdown_table(items: list[Breakdown]) -> str:
    labels: list[str] = []
    for b in items:
        labels += [a for a in b.areas if a not in labels]
    order = sorted(labels, key=lambda a: -max(b.areas.get(a, 0.0) for b in items))
    head = "| area (exclusive wall s) | " + " | ".join(f"`{b.label}`" for b in items) + " |"
    lines = [head, "| --- |" + " ---: |" * len(items)]
    for area in order:
        if max(b.areas.get(area, 0.0) for b in items) < 0.01:
            continue
        cells = []
        for b in items:
            value = b.areas.get(area)
            calls = b.calls.get(area)
            cells.append("" if value is None else f"{value:.2f}" + (f" ({calls}×)" if calls and calls > 1 else ""))
        lines.append(f"| {area} | " + " | ".join(cells) + " |")
    lines.append("| **wall (this run)** | " + " | ".join(f"**{b.wall:.2f}**" for b in items) + " |")
    return "\n".join(lines)


# ----- report --------------------------------------------------------------------------------------


def fmt_met(timed: Timed) -> str:
    return "" if timed.met is None else ("met" if timed.met else "**missed**")


def cli_table(lakes: list[LakeInfo]) -> str:
    lines = [f"| lake | command | wall s (median) | min–max | peak RSS MB | < {TARGET_S:g} s |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for info in lakes:
        for t in info.whole + info.timed:
            lines.append(f"| {info.name} | `{t.label}` | {t.wall:.2f} | {t.spread} | {t.peak_rss_mb:,.0f} | {fmt_met(t)} |")
    return "\n".join(lines)


def lakes_table(lakes: list[LakeInfo]) -> str:
    lines = ["| lake | tables × days | rows a day | commits per table | data files | manifests | Iceberg metadata MB "
             "| landing files | build s (Iceberg / landing / state DB / damage) |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for i in lakes:
        b = i.seconds
        lines.append(f"| {i.name} | {i.tables} × {i.days:,} | {i.rows_per_day} | {i.commits} | {i.data_files:,} | "
                     f"{i.manifests:,} | {i.metadata_mb:.1f} | {i.landing_files:,} | {sum(b.values()):.0f} "
                     f"({b['iceberg']:.0f} / {b['landing']:.0f} / {b['state']:.0f} / {b['damage']:.0f}) |")
    return "\n".join(lines)


def damage_text(d: Damage) -> str:
    def listing(items: dict[str, list[dt.date]]) -> str:
        return "; ".join(f"{t} {', '.join(str(x) for x in sorted(days))}" for t, days in items.items()) or "none"

    return (f"data files deleted: {listing(d.deleted_data)}. Landing files deleted (still published, so no longer "
            f"expected and not a gap): {listing(d.deleted_landing)}. Landed but never built: {listing(d.unbuilt_landing)}. "
            f"Marked stale: {listing(d.stale)}. Newest job failed: {listing(d.failed)}")


def verify_table(pairs: list[tuple[Timed, Timed]], info: VerifyInfo) -> str:
    lines = ["| table (rows, files, MB) | lakemend verify s (min–max) | plain DuckDB scan s (min–max) | ratio | verify peak RSS MB | "
             "DuckDB peak RSS MB | DuckDB query s (in its process) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for (verify, scan), qualified in zip(pairs, VERIFY_TABLES):
        lines.append(
            f"| {qualified} ({info.rows[qualified]:,}, {len(info.files[qualified])}, {info.megabytes[qualified]:,.0f}) "
            f"| {verify.wall:.2f}{f' ({verify.spread})' if verify.spread else ''} "
            f"| {scan.wall:.2f}{f' ({scan.spread})' if scan.spread else ''} | {verify.wall / scan.wall:.1f}× "
            f"| {verify.peak_rss_mb:,.0f} | {scan.peak_rss_mb:,.0f} | {statistics.median(scan.inner):.2f} |"
        )
    return "\n".join(lines)


def section(lakes: list[LakeInfo], pairs: list[tuple[Timed, Timed]] | None, vinfo: VerifyInfo | None,
            args: argparse.Namespace, verify_parts: list[Breakdown]) -> str:
    command = "python bench/bench_recovery.py " + shlex.join(sys.argv[1:])
    timed = [t for info in lakes for t in info.whole + info.timed]
    runs = [r for t in timed for r in t.runs] + [r for p in (pairs or []) for t in p for r in t.runs]
    others = [r.others for r in runs]
    missed = [f"{info.name}: `{t.label}`" for info in lakes for t in info.whole + info.timed if t.met is False]
    verdict = (f"Target < {TARGET_S:g} s per command (issue 10): **met** by every command" if not missed
               else f"Target < {TARGET_S:g} s per command (issue 10): **missed** by {len(missed)} of "
                    f"{sum(t.target is not None for t in timed)} ({', '.join(missed)})")
    few = lakes[0]
    parts = [
        START_MARK,
        "## Recovery: status, gaps and verify (`bench/bench_recovery.py`)",
        "",
        f"Measured {dt.date.today()} on {machine()}. Other processes used {min(others):.0%}–{max(others):.0%} "
        "of the CPUs during the runs (the machine is shared; more than a few % makes the times noisy).",
        "",
        f"Command: `{command}` (repeats: {args.repeat}; {args.repeat_daily} on the one-manifest-per-day lake).",
        "",
        "### `status` and `gaps` on a 3-year lake",
        "",
        f"How the lakes were built (in minutes, not by running the pipeline): a project whose `lakemend.yaml` declares "
        f"{few.tables} CSV bronze tables of one source; each table is created through lakemend's own "
        f"`Lake.ensure_table` (identity partition on `day`) and its {few.days:,} days ({FIRST_DAY} – {few.last_day}, "
        f"{few.rows_per_day} rows a day, bronze schema with lakemend's meta columns) are loaded in {few.commits} "
        "pyiceberg commits per table, one Parquet file per day, each commit with the snapshot summary of lakemend's "
        "batch publish (`lakemend.run-id`, `lakemend.day-rows`: one commit publishes many days). Every day also gets a "
        "tiny landing CSV (the listing `gaps` expects bronze days from), its fingerprint and a partition state row "
        "(`StateStore.record_fingerprints` / `record_partition` with the day's real files key and paths and the snapshot that "
        "published it; SQLite `synchronous=OFF` while building only). Two layouts of the same data:",
        "",
        f"- *{LAYOUTS['few']}*: `table.append` per commit, so one manifest per commit ({few.commits} per table) — "
        "the best case for reading metadata;",
        f"- *{LAYOUTS['daily']}*: the same commits, but each writes one manifest per day (pyiceberg's fast append "
        "with its manifest writer called per data file), which is what a lake published day by day by `lakemend run` "
        "reads: every publish adds a manifest. (Its metadata.json still has only a few snapshots; a real daily lake "
        "has one per day plus tags, so loading the tables costs it somewhat more.) Building it with one real commit "
        "per day is O(days²) in metadata writes: 22 min for a single table of 1,095 days on this machine.",
        "",
        lakes_table(lakes),
        "",
        f"Damage before measuring (the same in both lakes): {damage_text(few.damage)}. "
        + " ".join(f"{info.name.capitalize()}: {info.gaps_note}." for info in lakes),
        "",
        "Which path answered: "
        + "; ".join(f"{info.name}: the state DB for {info.state_answers} of {info.tables} tables" for info in lakes)
        + " (their partition records are proven to be the current snapshot's from the snapshot history — every "
        "commit lakemend's and recorded, `iceberg/history.py` — and their recorded data files looked up in the day folders "
        "(one lstat per file; on S3 one listing per table), so the deleted data files are gaps; a table that fails the proof is read from its manifests).",
        "",
        "Each command is a whole CLI subprocess (`lakemend -C PROJECT …`: interpreter start-up, imports, catalog "
        "and state DB, Iceberg metadata, landing listing); *wall s* is the median of the repeats, *peak RSS* the "
        "max `ru_maxrss` (from `os.wait4`). `status` without `--start`/`--end` shows the last 14 days and reads "
        "what those cells depend on: those days' folders, the landing zone down to the day folders, the "
        "staleness of those days and of the input days they read; with `--start 2023-01-01 --end 2026-01-01` "
        "it reads every day of every table. The *before the damage* rows time `status` and `gaps` on the same lake, "
        "built but not yet damaged. Before and after the damage every day is settled by the records and the "
        "listings, so no manifest is read (on the embedded catalog, pyiceberg is not even imported, and the "
        "SQLite state DB is read with the standard library's `sqlite3`, so neither is SQLAlchemy): a day's "
        "record holds its data file paths, and a damaged day is one whose folder lacks one of them. `gaps` lists "
        "the landing zone only down to the day folders and globs just the days that are not present; `status` "
        "over every day lists every landing file (its staleness compares each file's size and mtime with the "
        "recorded ones).",
        "",
        cli_table(lakes),
        "",
        verdict + ".",
        "",
        "Where the time goes: each command once more in a child process that imports the modules it needs up front "
        "(each import's increment listed) and wraps lakemend's areas in wall-clock timers; *exclusive* seconds, "
        "so the areas add up to the wall time (no profiler overhead; pyiceberg reads manifests in worker threads, "
        "which a profiler does not see):",
        "",
        breakdown_table([b for info in lakes for b in info.parts]),
    ]
    if not (pairs and vinfo) and _earlier_verify_part():
        parts += ["", _earlier_verify_part()]
    if pairs and vinfo:
        parts += [
            "",
            f"### `verify` of one day ({vinfo.orders:,} order records) vs a plain DuckDB scan",
            "",
            f"`lakemend init --example company --no-data`, {args.verify_rows:,} orders landed for {VERIFY_DAY} with "
            f"`lakemend.examples.data.generate`, built with `lakemend run --date {VERIFY_DAY}` ({vinfo.build_seconds:.0f} s). "
            f"Then, alternating, `lakemend verify --date {VERIFY_DAY} --table T` (whole CLI subprocess: the table's "
            "metadata JSON and the day's files from the state DB's records it proves current, then one streaming "
            "aggregate pass over the day's files — a hash of every row, its row count, the contract's row rules, and "
            "for gold the masking and PII checks on every text column) and a Python subprocess running plain DuckDB on the same Parquet files "
            "(the day's files of the current snapshot), reading every column: `SELECT count(*), count(c), max(c), … "
            "FROM read_parquet([...])`. Ratio = verify wall / DuckDB wall (both include their process start-up; the "
            "last column is DuckDB's own time inside its process, `import duckdb` included).",
            "",
            verify_table(pairs, vinfo),
            "",
            "Where verify's time goes (same method as above):",
            "",
            breakdown_table(verify_parts),
        ]
    parts.append(END_MARK)
    return "\n".join(parts)


VERIFY_HEADING = "### `verify` of one day"


def _earlier_verify_part() -> str:
    """The ``verify`` part of the section now in the docs (kept by a ``--skip-verify`` run), or ""."""
    if not DOCS.exists():
        return ""
    text = DOCS.read_text()
    start, end = text.find(START_MARK), text.find(END_MARK)
    if start < 0 or end < start:
        return ""
    current = text[start:end]
    at = current.find(VERIFY_HEADING)
    if at < 0:
        return ""
    part = current[at:].rstrip()
    note = "(Not rerun by the last run of this benchmark, which skipped verify: these figures are from the run "
    if note in part:
        return part
    heading, _, rest = part.partition("\n")
    measured = re.search(r"Measured (\d{4}-\d{2}-\d{2})", current)
    when = measured.group(1) if measured else "before"
    return f"{heading}\n\n{note}of {when}, with the code of that day.)\n{rest}"


def write_docs(text: str) -> None:
    write_section(DOCS, START_MARK, END_MARK, text)


# ----- main ----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=10, help="bronze tables in the status/gaps lake")
    parser.add_argument("--days", type=int, default=1095, help="daily partitions per table, from 2023-01-01")
    parser.add_argument("--rows-per-day", type=int, default=20, help="rows per partition")
    parser.add_argument("--commits", type=int, default=3, help="pyiceberg appends per table while building")
    parser.add_argument("--repeat", type=int, default=5, help="runs per command; wall is the median")
    parser.add_argument("--repeat-daily", type=int, default=3, help="runs per command on the one-manifest-per-day lake")
    parser.add_argument("--skip-daily", action="store_true", help="do not build the one-manifest-per-day lake")
    parser.add_argument("--verify-rows", type=int, default=1_000_000, help="orders landed for the verify day")
    parser.add_argument("--skip-verify", action="store_true", help="only status and gaps")
    parser.add_argument("--profile", action="store_true", help="profile status and gaps even when they meet the target")
    parser.add_argument("--write-docs", action="store_true", help=f"update the section in {DOCS.relative_to(REPO)}")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    if min(args.tables, args.days, args.rows_per_day, args.commits, args.repeat, args.repeat_daily, args.verify_rows) < 1:
        parser.error("counts must be at least 1")
    if args.commits > args.days:
        parser.error("--commits cannot exceed --days")
    return args


def in_fresh_process(func, *args):  # noqa: ANN001, ANN002, ANN201
    """Run ``func(*args)`` in a spawned Python and return its result.

    The heavy set-up (pyarrow, pyiceberg, a million generated rows) stays out of this process:
    a child's ``ru_maxrss`` counts the memory of the parent it was forked from, so a big parent
    would inflate every measured peak RSS.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(func, *args).result()


def measure_whole(info: LakeInfo, repeat: int) -> None:
    """``status`` and ``gaps`` on the lake before it is damaged: every table's records proven
    current and every day settled by the listings, so no manifest is read."""
    base = [lakemend_exe(), "-C", str(info.root)]
    info.whole = [Timed(f"{command} (before the damage)", base + [command], target=TARGET_S) for command in ("status", "gaps")]
    for _ in range(repeat):
        for t in info.whole:
            t.runs.append(measure(t.cmd))
    print("  before the damage: " + ", ".join(f"{t.label.split(' (')[0]} {t.wall:.2f} s" for t in info.whole))


def measure_lake(info: LakeInfo, repeat: int, work: Path) -> None:
    found = json.loads(check([lakemend_exe(), "-C", str(info.root), "gaps", "--output", "json"]))
    info.gaps_note = check_gaps(info, found)
    print(info.gaps_note)
    info.timed = cli_commands(info)
    for index in range(repeat):
        for t in info.timed:
            t.runs.append(measure(t.cmd))
        print(f"  repeat {index + 1}/{repeat}: "
              + ", ".join(f"{t.label.split(' (')[0]} {t.runs[-1].wall:.2f} s" for t in info.timed))
    for label in ("status", "gaps"):
        timed = next(t for t in info.timed if t.label == label)
        part = breakdown(timed, work, STATUS_IMPORTS)
        part.label = f"{label}, {info.name}"
        info.parts.append(part)


def main() -> None:
    if sys.argv[1:2] == ["--child-timed"]:
        out, _, imports, _, *argv = sys.argv[2:]
        child_timed(Path(out), imports.split(","), argv)
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="lakemend-bench-recovery-"))
    try:
        lakes = []
        for layout in ("few",) + (() if args.skip_daily else ("daily",)):
            started = time.perf_counter()
            info = in_fresh_process(build_lake, layout, work / f"lake-{layout}", args.tables, args.days,
                                    args.rows_per_day, args.commits)
            repeat = args.repeat if layout == "few" else args.repeat_daily
            measure_whole(info, repeat)
            info = in_fresh_process(damage_built_lake, info)
            print(f"\nBuilt the {info.name} lake ({args.tables} tables × {args.days} days) under {work} in "
                  f"{time.perf_counter() - started:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in info.seconds.items())}); "
                  f"{info.data_files} data files, {info.manifests} manifests")
            measure_lake(info, repeat, work)
            lakes.append(info)

        pairs, vinfo, verify_parts = None, None, []
        if not args.skip_verify:
            started = time.perf_counter()
            vinfo = in_fresh_process(prepare_verify, work, args.verify_rows)
            print(f"\nVerify project: {vinfo.orders:,} orders landed and built in {time.perf_counter() - started:.0f} s "
                  f"(run {vinfo.build_seconds:.0f} s); files: " + ", ".join(f"{t} {len(f)}" for t, f in vinfo.files.items()))
            pairs = verify_commands(vinfo)
            for index in range(args.repeat):
                for verify, scan in pairs:
                    verify.runs.append(measure(verify.cmd, ok=(0, 1)))
                    if verify.runs[-1].code:
                        print(f"  {verify.label} found damage:\n{verify.runs[-1].stdout[-2000:]}")
                    scan.runs.append(measure(scan.cmd))
                    result = json.loads(scan.runs[-1].stdout.strip().splitlines()[-1])
                    scan.inner.append(result["seconds"])
                print(f"  repeat {index + 1}/{args.repeat}: " + ", ".join(
                    f"verify {v.runs[-1].wall:.2f} s / DuckDB {s.runs[-1].wall:.2f} s" for v, s in pairs))
            verify_parts = [breakdown(v, work, PRE_IMPORTS) for v, _ in pairs]
            for part, qualified in zip(verify_parts, VERIFY_TABLES):
                part.label = f"verify {qualified}"

        text = section(lakes, pairs, vinfo, args, verify_parts)
        print("\n" + text.replace(START_MARK + "\n", "").replace("\n" + END_MARK, ""))
        if args.write_docs:
            write_docs(text)
        if args.profile or any(t.met is False for info in lakes for t in info.timed):
            for info in lakes:  # one profile per command and lake is enough
                for label in ("status", "gaps"):
                    print(profile_command(next(t for t in info.timed if t.label == label), work))
    finally:
        if args.keep:
            print(f"\nKept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
