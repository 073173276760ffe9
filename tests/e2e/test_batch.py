"""Batches: a table's days built together and published in one commit (ops/batch.py).

* a batched build equals a day-by-day one, table by table, row by row — with faulty days in
  the range (quarantined records, a schema change mid-batch, a day that fails its contract);
* the ledger still has one row per (table, day), with the same figures either way;
* a multi-day batch SIGKILLed mid-commit (metadata written, catalog not yet swapped; swapped,
  not yet recorded; while its data files are written) leaves every day old or new, and the
  rerun finishes the work exactly as an uninterrupted run does.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SMALL_ROWS, START, build
from support import content
from lakemend.dates import day_range
from lakemend.examples.data import generate, parse_fault
from lakemend.lake import Lake
from lakemend.ops.runner import execute

END8 = START + dt.timedelta(days=7)
FAULTS = [f"malformed:{START + dt.timedelta(days=1)}:orders", f"bad-types:{START + dt.timedelta(days=2)}",
          f"extra-column:{START + dt.timedelta(days=3)}:hubspot", f"duplicates:{START + dt.timedelta(days=4)}",
          f"empty:{START + dt.timedelta(days=5)}:orders", f"late:{START + dt.timedelta(days=6)}"]


def _faulty(root: Path) -> None:
    for text in FAULTS:
        fault = parse_fault(text)
        generate(root / "landing", fault.day, fault.day, rows=60, seed=11, faults=[fault])


def _ledger(root: Path) -> dict[tuple[str, dt.date], tuple]:
    lake = Lake.open(root)
    return {(j["table_name"], j["day"]): (j["status"], j["rows_read"], j["rows_written"], j["rows_quarantined"],
                                          j["rows_deduplicated"], (j["error"] or "").split(";")[0])
            for j in lake.state.list_jobs(limit=10_000)}


def _copy(example: Path, target: Path) -> Path:
    shutil.copytree(example, target, symlinks=True)
    return target


def test_batched_build_equals_day_by_day(example: Path, tmp_path: Path) -> None:
    _faulty(example)
    alone, together = _copy(example, tmp_path / "alone"), _copy(example, tmp_path / "together")
    reports = {}
    for root, batch_days in ((alone, 1), (together, 31)):
        lake = Lake.open(root)
        reports[batch_days] = execute(lake, command="run", days=day_range(START, END8), tables=lake.project.ordered,
                                      reason="test", batch_days=batch_days)
    failed = {(r.table, r.day) for r in reports[31].failed}
    assert failed == {(r.table, r.day) for r in reports[1].failed}
    assert failed, "the faults make at least one day fail its contract"
    assert len(reports[31].results) > len(failed)  # the other days of those batches published
    assert content(together) == content(alone)
    assert _ledger(together) == _ledger(alone)
    # one commit per table and batch: the batched lake has far fewer snapshots
    snapshots = {root: sum(len(Lake.open(root).table(s.qualified).snapshots()) for s in Lake.open(root).project.ordered)
                 for root in (alone, together)}
    assert snapshots[together] * 3 < snapshots[alone], snapshots


def test_a_failed_day_is_recorded_and_the_rest_of_its_batch_publishes(example: Path) -> None:
    day = START + dt.timedelta(days=2)
    generate(example / "landing", day, day, rows=60, seed=3, faults=[parse_fault(f"empty:{day}:orders")])
    report = build(example, START, START + dt.timedelta(days=4))
    failed = {(r.table, r.day) for r in report.failed}
    assert ("silver.orders_clean", day) in failed or ("bronze.orders", day) in failed
    lake = Lake.open(example)
    published = lake.published_days("silver.orders_clean")
    others = [START + dt.timedelta(days=n) for n in (0, 1, 3, 4)]
    assert all(d in published for d in others) and day not in published
    rows = {(j["table_name"], j["day"]): j for j in lake.state.list_jobs(limit=1000)}
    assert rows[("silver.orders_clean", others[0])]["status"] == "succeeded"
    # the one commit that published the batch names its days and each day's rows
    table = lake.table("silver.orders_clean")
    summary = table.current_snapshot().summary.additional_properties
    assert summary["lakemend.days"] == f"{others[0]}..{others[-1]}"
    per_day = json.loads(summary["lakemend.day-rows"])
    assert set(per_day) == {d.isoformat() for d in others}


def test_recent_count_check_sees_what_a_day_by_day_build_sees_whatever_the_build_threads(
        example: Path, tmp_path: Path) -> None:
    """Days of a batch are built by several threads at once; a day's row_count_vs_recent check
    (silver.orders_clean: 0.2–5× the mean of the 7 days before) still waits for the earlier days
    of its batch. A day with a twentieth of the orders fails it as day by day — though, built
    next to the others and quicker, it reaches its check first."""
    drop = START + dt.timedelta(days=4)
    generate(example / "landing", drop, drop, rows=SMALL_ROWS // 20, seed=5)
    roots = {setting: _copy(example, tmp_path / f"{setting[0]}-{setting[1]}")
             for setting in ((1, 1), (31, 1), (31, 8))}  # (batch days, build threads)
    failed = {}
    for (batch_days, threads), root in roots.items():
        lake = Lake.open(root)
        report = execute(lake, command="run", days=day_range(START, END8), tables=lake.project.ordered,
                         reason="test", batch_days=batch_days, max_parallel=threads)
        failed[(batch_days, threads)] = {(r.table, r.day) for r in report.failed}
    assert ("silver.orders_clean", drop) in failed[(1, 1)]
    assert ("silver.orders_clean", drop + dt.timedelta(days=1)) not in failed[(1, 1)]
    assert failed[(31, 1)] == failed[(1, 1)] == failed[(31, 8)]
    assert content(roots[(31, 8)]) == content(roots[(1, 1)]) == content(roots[(31, 1)])
    assert _ledger(roots[(31, 8)]) == _ledger(roots[(1, 1)])


# ----- SIGKILL inside a multi-day batch ----------------------------------------------------------

KILLER = r"""
import os, signal, sys, datetime as dt
from lakemend.iceberg.sql_catalog import CoreSqlCatalog as SqlCatalog
import pyiceberg.io.pyarrow as pyarrow_io

root, where, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = {"n": 0}

def multi_day(metadata):
    snapshot = metadata.current_snapshot()
    return snapshot is not None and "lakemend.days" in (snapshot.summary.additional_properties if snapshot.summary else {})

def count_and_maybe_die():
    seen["n"] += 1
    if seen["n"] == nth:
        os.kill(os.getpid(), signal.SIGKILL)

if where == "written":  # the new metadata file exists; the catalog still points at the old one
    original = SqlCatalog._write_metadata  # a staticmethod
    def hooked(metadata, io, metadata_path):
        original(metadata, io, metadata_path)
        if multi_day(metadata):
            count_and_maybe_die()
    SqlCatalog._write_metadata = staticmethod(hooked)
elif where == "swapped":  # the catalog points at the new metadata; lakemend has not recorded it yet
    original = SqlCatalog.commit_table
    def hooked(self, table, requirements, updates):
        response = original(self, table, requirements, updates)
        if multi_day(response.metadata):
            count_and_maybe_die()
        return response
    SqlCatalog.commit_table = hooked
elif where == "files":  # data files of a batch half written, nothing committed
    original = pyarrow_io.write_file
    def hooked(io, table_metadata, tasks):
        for data_file in original(io, table_metadata, tasks):
            yield data_file
            count_and_maybe_die()
    pyarrow_io.write_file = hooked

from lakemend.dates import day_range
from lakemend.lake import Lake
from lakemend.ops.runner import execute

lake = Lake.open(root)
days = day_range(dt.date.fromisoformat(sys.argv[4]), dt.date.fromisoformat(sys.argv[5]))
report = execute(lake, command="backfill", days=days, tables=lake.project.ordered, reason="kill test", force=True)
print("finished")
sys.exit(1 if report.failed else 0)
"""


def _killed_run(root: Path, where: str, nth: int, first: dt.date, last: dt.date) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", KILLER, str(root), where, str(nth), str(first), str(last)],
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
def test_sigkill_mid_commit_of_a_multi_day_batch_leaves_each_day_old_or_new(example: Path, tmp_path: Path) -> None:
    last = START + dt.timedelta(days=4)
    assert not build(example, START, last).failed
    old = content(example)
    for offset in range(5):  # new landing data: every table's five days change
        day = START + dt.timedelta(days=offset)
        generate(example / "landing", day, day, rows=60, faults=[parse_fault(f"late:{day}")])
    saved = tmp_path / "saved"
    shutil.copytree(example, saved, symlinks=True)
    reference = _killed_run(example, "none", 0, START, last)  # the same run, not killed
    assert reference.returncode == 0 and "finished" in reference.stdout, reference.stderr
    new = content(example)
    assert new != old

    def restore() -> None:
        shutil.rmtree(example)
        shutil.copytree(saved, example, symlinks=True)

    # where: the first, a middle and the last multi-day publish; data files: early and late in the run
    trials = [("written", 1), ("written", 4), ("swapped", 1), ("swapped", 3), ("swapped", 6), ("files", 2), ("files", 20)]
    mixed = False
    for where, nth in trials:
        restore()
        killed = _killed_run(example, where, nth, START, last)
        assert killed.returncode == -9, f"{where} #{nth} was not killed: {killed.returncode} {killed.stderr[-2000:]}"
        now = content(example)
        for key in set(old) | set(new) | set(now):
            assert now.get(key) in (old.get(key), new.get(key)), f"{where} #{nth}: {key} holds neither old nor new rows"
        tables = {table for table, _ in set(old) | set(new)}
        for table in tables:  # a batch is one commit: its days are all old or all new
            keys = sorted(k for k in set(old) | set(new) if k[0] == table)
            states = {now.get(k) == new.get(k) and new.get(k) != old.get(k) for k in keys if new.get(k) != old.get(k)}
            assert len(states) <= 1, f"{where} #{nth}: {table} is half old, half new"
        mixed = mixed or (now != old and now != new)
        rerun = _killed_run(example, "none", 0, START, last)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert content(example) == new, f"{where} #{nth}: the rerun did not finish the work"
        lake = Lake.open(example)
        assert lake.state.list_jobs(status="running") == []
    assert mixed, "no trial stopped between two tables' commits"
