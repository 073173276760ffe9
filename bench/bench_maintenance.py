"""Benchmark: a table after many one-day publishes — manifests, scan planning, commit time and metadata files.

Run from the repository root with the project's venv:

    .venv/bin/python bench/bench_maintenance.py [--commits 200] [--every 50]

A real pyiceberg SqlCatalog table (identity partition on ``day``, like lakemend's) gets ``--commits``
commits in the shape of lakemend's publish: one OVERWRITE per day that deletes the day's files and
appends new ones (three of four publish a new day, one rebuilds a day of last week). Every
``--every`` commits it prints the data manifests of the current snapshot, the time to plan one day
(``scan(row_filter=day).plan_files()``) and the whole table (``scan().plan_files()``: what
``status`` reads without records), the median commit time of the last 20 commits, the deep copy of
the table metadata (pyiceberg makes many per commit) and the ``*.metadata.json`` files on disk.
Three variants: pyiceberg's defaults (its own transaction and overwrite); lakemend's commit
(``iceberg/transaction.py``: the pending metadata worked out once per change, no manifest without
live files carried over) with lakemend's table properties (``iceberg.maintenance``: a metadata
log of 20, old files deleted at commit); and those plus ``compact_manifests`` whenever the table
has ``COMPACT_AT`` manifests (what a batch and ``vacuum`` do). Timings are the best of 3.
This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lakemend.iceberg.maintenance import (  # noqa: E402
    COMPACT_AT,
    MAINTENANCE_PROPERTIES,
    compact_manifests,
    data_manifests,
)
from lakemend.iceberg.transaction import overwrite, transaction  # noqa: E402

SCHEMA = pa.schema([("day", pa.date32()), ("x", pa.int64()), ("s", pa.string())])
START = dt.date(2024, 1, 1)


def best(fn, repeat: int = 3) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def run(variant: str, commits: int, every: int, work: Path) -> list[list[str]]:
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.expressions import EqualTo
    from pyiceberg.io.pyarrow import _dataframe_to_data_files
    from pyiceberg.transforms import IdentityTransform

    folder = Path(tempfile.mkdtemp(dir=work))
    catalog = SqlCatalog("bench", uri=f"sqlite:///{folder}/catalog.db", warehouse=folder.as_uri())
    catalog.create_namespace("bronze")
    properties = {"format-version": "2", **(MAINTENANCE_PROPERTIES if variant != "pyiceberg defaults" else {})}
    table = catalog.create_table("bronze.t", schema=SCHEMA, properties=properties)
    with table.update_spec() as spec:
        spec.add_field("day", IdentityTransform(), "day")
    table = catalog.load_table("bronze.t")
    table.append(SCHEMA.empty_table())
    commit_seconds: list[float] = []
    lines = []
    for commit in range(commits):
        day = START + dt.timedelta(days=commit) if commit % 4 else START + dt.timedelta(days=max(0, commit - 7))
        rows = pa.table({"day": [day] * 10, "x": list(range(10)), "s": [f"v{commit}"] * 10}, schema=SCHEMA)
        started = time.perf_counter()
        files = list(_dataframe_to_data_files(table.metadata, rows, table.io))
        summary = {"lakemend.run-id": f"r{commit}", "lakemend.day": str(day)}
        if variant == "pyiceberg defaults":
            tx = table.transaction()
            swap = tx.update_snapshot(snapshot_properties=summary).overwrite()
        else:  # lakemend's own commit: its transaction and its overwrite (iceberg/transaction.py)
            tx = transaction(table)
            swap = overwrite(tx, table, summary)
        with tx, swap:
            for task in table.scan(row_filter=EqualTo("day", day.isoformat())).plan_files():
                swap.delete_data_file(task.file)
            for data_file in files:
                swap.append_data_file(data_file)
        commit_seconds.append(time.perf_counter() - started)
        if variant.endswith("compaction") and data_manifests(table) >= COMPACT_AT:
            compact_manifests(table, f"compact-{commit}")
        if (commit + 1) % every == 0:
            one_day = EqualTo("day", (START + dt.timedelta(days=3)).isoformat())
            lines.append([
                variant, str(commit + 1), str(data_manifests(table)),
                f"{best(lambda: list(table.scan(row_filter=one_day).plan_files())) * 1000:.1f}",  # noqa: B023 - called at once
                f"{best(lambda: list(table.scan().plan_files())) * 1000:.1f}",
                f"{statistics.median(commit_seconds[-20:]) * 1000:.0f}",
                f"{best(lambda: table.metadata.model_copy(deep=True)) * 1000:.1f}",
                str(len(list(folder.rglob('*.metadata.json')))),
            ])
            print(" | ".join(lines[-1]), flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--every", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lakemend-bench-maintenance-"))
    header = ["variant", "commits", "data manifests", "plan one day ms", "plan all ms", "commit ms (median of last 20)",
              "metadata deep copy ms", "metadata files"]
    rows = []
    for variant in ("pyiceberg defaults", "lakemend properties", "lakemend properties + compaction"):
        rows += run(variant, args.commits, args.every, work)
    print("\n| " + " | ".join(header) + " |\n|" + " --- |" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
