"""What a rollback or quarantine killed between its commit and its state records left behind.

Each day of a rollback or quarantine is one Iceberg commit, then one state-DB transaction (the
day's record and mark). A kill between the two leaves the table changed and the records
describing the old files: ``status`` rightly shows the day stale (its published files are not
the recorded ones). The rerun of the same command finds such days here, from storage truth —
the commit names its run, action and day in its snapshot summary, and the ledger says whether
that run's job for the day succeeded — and records them without publishing anything again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakemend.iceberg.files import files_key
from lakemend.iceberg.history import lineage, newest_change
from lakemend.iceberg.summary import ACTION, RUN_ID
from lakemend.lake import Lake

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot


@dataclass(frozen=True)
class Unrecorded:
    """A day whose commit is in the table and not yet in the state DB."""

    day: dt.date
    snapshot_id: int  # what the day's record names once recorded
    run_id: str | None  # the killed run that made the commit (None: main was moved, no commit names the day)


def _killed_commit(lake: Lake, history: list[Snapshot], qualified: str, day: dt.date, action: str) -> Snapshot | None:
    """The newest commit of ``day``, when it is a lakemend ``action`` whose job for the day never succeeded."""
    change = newest_change(history, day)
    summary = (change.summary if change is not None else None) or {}
    if summary.get(ACTION) != action or summary.get(RUN_ID) is None:
        return None
    jobs = lake.state.list_jobs(run_id=summary[RUN_ID], table=qualified, day=day)
    return None if any(job["status"] == "succeeded" for job in jobs) else change


def rolled_back(lake: Lake, table: Table, qualified: str, target: int, now: dict[dt.date, list[Any]],
                changed: set[dt.date], only: dt.date | None = None) -> tuple[Unrecorded, ...]:
    """The days (``only`` that one) already at the rollback's ``target`` — not ``changed``; ``now``:
    main's files by day — that a rollback to it published and did not record: the day's record
    names other files (or it has a record and no files), or its files are back under a ``damaged``
    mark, and

    * the newest commit of the day is a lakemend rollback whose job for the day never succeeded
      (a per-day rollback killed after that day's commit); or
    * main is the target itself and the day's record names a snapshot main no longer descends
      from, or there is none (a whole-table move of main on Spark, killed before its records).
    """
    records = lake.state.partition_states(qualified)
    marks = lake.state.marks(qualified)
    history = lineage(table)
    ids = {snapshot.snapshot_id for snapshot in history}
    moved_to_target = bool(history) and history[0].snapshot_id == target
    found = []
    for day in sorted((set(now) | set(records)) - changed):
        if only is not None and day != only:
            continue
        paths = [f.file_path for f in now.get(day, [])]
        record = records.get(day)
        if paths:  # files under a damaged mark, or a record naming other files
            disagrees = (marks.get((qualified, day), {}).get("mark") == "damaged"
                         or (record is not None and record["files_key"] != files_key(paths)))
        else:  # a record of files the day no longer has
            disagrees = record is not None
        if not disagrees:
            continue
        commit = _killed_commit(lake, history, qualified, day, "rollback")
        if commit is not None:
            found.append(Unrecorded(day, commit.snapshot_id, commit.summary[RUN_ID]))
        elif moved_to_target and (record is None or record["snapshot_id"] not in ids):
            found.append(Unrecorded(day, target, None))
    return tuple(found)


def quarantined(lake: Lake, table: Table, qualified: str, day: dt.date) -> Unrecorded | None:
    """``day`` (without files now) when a quarantine emptied it and was killed before recording it:
    the day still has a record, or no ``damaged`` mark."""
    commit = _killed_commit(lake, lineage(table), qualified, day, "quarantine")
    if commit is None:
        return None
    mark = lake.state.marks(qualified).get((qualified, day), {}).get("mark")
    if day not in lake.state.partition_states(qualified) and mark == "damaged":
        return None
    return Unrecorded(day, commit.snapshot_id, commit.summary[RUN_ID])
