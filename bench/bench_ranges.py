"""Benchmark: on-call commands over a long range of days — what each extra day costs.

Run from the repository root with the project's venv:

    .venv/bin/python bench/bench_ranges.py [--days 365] [--rows 100] [--repeat 3] [--against REV] [--write-docs]

The example company project gets ``--days`` days of landing data (``--rows`` orders a day) and is
built with ``lakemend run``. Then each command runs over the whole range and over its last day
alone, every run a whole CLI subprocess: a dry run of ``run`` (nothing to do), of ``refresh
gold`` and of ``rebuild silver``, the real ``rebuild silver`` (the lake restored from a copy before each run, outside the timing),
``verify`` of every table and ``dq check`` of one table. *per extra day* is (range − one day) ÷
(days − 1): what the command spends on each day beyond its fixed start. With ``--against REV``
every run is paired with the same command from lakemend at git revision ``REV`` (a temporary
worktree, same venv), interleaved, and the ratio of the medians is reported. The dry runs' JSON
is compared between the two (equal, or the script stops with exit 1).
This is a benchmark, not a test: it asserts nothing else.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from docs_section import write_section  # noqa: E402

DOCS = REPO / "docs" / "benchmarks.md"
MARKS = ("<!-- bench_ranges:start -->", "<!-- bench_ranges:end -->")
LAST = dt.date(2025, 10, 31)


@dataclass(frozen=True)
class Command:
    label: str
    args: tuple[str, ...]
    writes: bool = False  # the lake is restored before each run
    compare: bool = False  # the output must be the baseline's, byte for byte


COMMANDS = (
    Command("run --dry-run", ("run", "--dry-run"), compare=True),
    Command("refresh gold --table daily_revenue --dry-run", ("refresh", "gold", "--table", "daily_revenue", "--dry-run"),
            compare=True),
    Command("rebuild silver --table orders_clean --dry-run", ("rebuild", "silver", "--table", "orders_clean", "--dry-run"),
            compare=True),
    Command("rebuild silver --table orders_clean --yes", ("rebuild", "silver", "--table", "orders_clean", "--yes",
                                                          "--reason", "bench"), writes=True),
    Command("verify", ("verify",), compare=True),
    Command("dq check --table silver.orders_clean", ("dq", "check", "--table", "silver.orders_clean")),
)


@dataclass
class Timings:
    range_s: list[float] = field(default_factory=list)
    day_s: list[float] = field(default_factory=list)
    base_range_s: list[float] = field(default_factory=list)

    def per_day_ms(self, days: int) -> float:
        return (statistics.median(self.range_s) - statistics.median(self.day_s)) / (days - 1) * 1000


def python_with(src: Path) -> list[str]:
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(src)!r}); from lakemend.cli import main; main()"]


def timed(cmd: list[str], cwd: Path, out: Path | None = None) -> float:
    started = time.perf_counter()
    with open(out or os.devnull, "wb") as sink:
        done = subprocess.run(cmd, cwd=cwd, stdout=sink, stderr=subprocess.PIPE)
    took = time.perf_counter() - started
    if done.returncode not in (0, 1):  # dq check exits 1 when a check fails: still a measure
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
    return took


def build_lake(work: Path, days: int, rows: int) -> tuple[Path, dt.date]:
    first = LAST - dt.timedelta(days=days - 1)
    root = work / "lake" / "company"
    lakemend = python_with(REPO / "src")
    subprocess.run([*lakemend, "init", str(root), "--example", "company", "--no-data"], check=True, capture_output=True)
    subprocess.run([*lakemend, "-C", str(root), "generate", "--start", str(first), "--end", str(LAST), "--rows", str(rows)],
                   check=True, capture_output=True)
    print(f"building {days} days × {rows} orders …", flush=True)
    took = timed([*lakemend, "-C", str(root), "run", "--start", str(first), "--end", str(LAST), "-o", "json"], root)
    print(f"built in {took:.1f} s", flush=True)
    return root, first


def restore(root: Path, pristine: Path) -> None:
    shutil.rmtree(root.parent)
    shutil.copytree(pristine, root.parent, symlinks=True)


def measure(root: Path, pristine: Path, first: dt.date, days: int, repeat: int, base_src: Path | None,
            work: Path) -> dict[str, Timings]:
    lakemend = python_with(REPO / "src")
    results: dict[str, Timings] = {}
    one = ("--date", str(LAST), "-o", "json")
    for command in COMMANDS:
        timings = results.setdefault(command.label, Timings())
        # verify reads every published day when given none
        ranged = ("-o", "json") if command.args == ("verify",) else ("--start", str(first), "--end", str(LAST), "-o", "json")
        for n in range(repeat):
            print(f"{command.label}: run {n + 1} of {repeat}", flush=True)
            runs = [(lakemend, timings.range_s, work / "out-new.json")]
            if base_src is not None:
                runs.append((python_with(base_src), timings.base_range_s, work / "out-base.json"))
            for engine, into, out in runs:
                if command.writes:
                    restore(root, pristine)
                into.append(timed([*engine, "-C", str(root), *command.args, *ranged], root, out))
            if len(runs) > 1 and command.compare and runs[0][2].read_bytes() != runs[1][2].read_bytes():
                raise SystemExit(f"{command.label}: the output differs from the baseline's")
            if command.writes:
                restore(root, pristine)
            timings.day_s.append(timed([*lakemend, "-C", str(root), *command.args, *one], root))
    return results


def section(results: dict[str, Timings], args: argparse.Namespace, base_rev: str | None, built_s: str) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    head = ["| command | days | lakemend s | one day s | per extra day ms |"]
    if base_rev:
        head = [head[0] + f" at {base_rev} s | lakemend ÷ {base_rev} |"]
    lines = [head[0], "|" + " --- |" * (len(head[0].split("|")) - 2)]
    for label, t in results.items():
        cells = [f"`{label}`", str(args.days), f"{statistics.median(t.range_s):.1f}", f"{statistics.median(t.day_s):.2f}",
                 f"{t.per_day_ms(args.days):.0f}"]
        if base_rev:
            base = statistics.median(t.base_range_s)
            cells += [f"{base:.1f}", f"**{statistics.median(t.range_s) / base:.2f}×**"]
        lines.append("| " + " | ".join(cells) + " |")
    against = (f" Each range run was paired with lakemend at `{base_rev}` (a worktree, same venv), interleaved; "
               "the dry runs' and `verify`'s JSON equal, byte for byte.") if base_rev else ""
    return "\n".join([
        MARKS[0],
        "## Long ranges: on-call commands over a year of days (`bench/bench_ranges.py`)",
        "",
        f"`.venv/bin/python bench/bench_ranges.py --days {args.days} --rows {args.rows} --repeat {args.repeat}"
        + (f" --against {base_rev}" if base_rev else "") + f" --write-docs`, {dt.date.today()} (commit {commit}), 2 CPUs. "
        f"The example company project, {args.days} days to {LAST} at {args.rows} orders a day, built by `lakemend run` "
        f"({built_s}). Each command a whole CLI subprocess, median of {args.repeat}; *one day*: the same command for "
        f"{LAST} alone; *per extra day*: (range − one day) ÷ (days − 1).{against}",
        "",
        *lines,
        "",
        "What it shows: a command over a range should cost its start once and then little per day. Before stop 22 "
        "the backfill dry runs planned every input's manifests and opened two engine sessions per day, `run --dry-run` "
        "read each table's records and each day's landing fingerprints again for every day (the run itself read them "
        "once), `verify` and `dq check` opened a session per day (three quarters of `verify`'s time), and every "
        "backfill plan checked each day's inputs with a manifest scan — the real rebuild too.",
        MARKS[1],
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="days of the lake, to 2025-10-31 (default 365)")
    parser.add_argument("--rows", type=int, default=100, help="orders a day (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (default 3)")
    parser.add_argument("--against", metavar="REV", help="also time lakemend at this git revision, interleaved")
    parser.add_argument("--write-docs", action="store_true", help=f"update the section in {DOCS.relative_to(REPO)}")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lakemend-ranges-") as tmp:
        work = Path(tmp)
        base_src = None
        if args.against:
            subprocess.run(["git", "worktree", "add", "--detach", str(work / "base"), args.against], cwd=REPO, check=True,
                           capture_output=True)
            base_src = work / "base" / "src"
        try:
            started = time.perf_counter()
            root, first = build_lake(work, args.days, args.rows)
            built_s = f"{time.perf_counter() - started:.0f} s"
            pristine = work / "pristine"
            shutil.copytree(root.parent, pristine, symlinks=True)
            results = measure(root, pristine, first, args.days, args.repeat, base_src, work)
        finally:
            if args.against:
                subprocess.run(["git", "worktree", "remove", "--force", str(work / "base")], cwd=REPO, capture_output=True)
        text = section(results, args, args.against, built_s)
        print("\n" + text)
        if args.write_docs:
            write_section(DOCS, *MARKS, text)


if __name__ == "__main__":
    main()
