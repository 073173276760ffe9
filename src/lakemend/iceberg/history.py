"""Whether the state DB's partition records describe a table's current snapshot, from metadata only.

Every lakemend commit names in its snapshot summary the days it changed (``lakemend.run-id`` with
``lakemend.day`` or ``lakemend.day-rows``: see ``iceberg.publish``), and every build, rollback
and quarantine records (or forgets) those days in the state DB with that snapshot's id. So the
records hold for the current snapshot — each recorded files key is the day's published files,
and no other day has files — when walking the current snapshot's ancestry (in the table
metadata already loaded: no manifest is read) proves it:

* every snapshot is a lakemend commit whose days are known, or the table's empty first snapshot;
* each day a snapshot changed is recorded with the newest snapshot that changed it, or (not
  recorded) that snapshot left it without files (quarantine, a rollback to before the day);
* no record names a snapshot of the history that did not change its day, nor (full history, down
  to the empty first snapshot) a snapshot outside it.

A commit by another writer, a lakemend commit killed before it recorded its days, a record
overwritten by a concurrent job, Spark's whole-table rollback (main moved to an old snapshot):
each fails one of these, and the caller reads the manifests instead. What it cannot see is a
foreign commit that ``vacuum`` already expired (history before the oldest retained snapshot is
trusted to the records; expiring may also drop the oldest kept snapshot's parent id).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lakemend.iceberg.summary import DAY, DAY_ROWS, RUN_ID

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

    from lakemend.iceberg.metadata_json import MetadataView, SnapshotEntry


def changed_days(snapshot: Snapshot | SnapshotEntry) -> dict[dt.date, bool] | None:
    """Day → whether the day was left without data files, for a lakemend commit; None for any
    other snapshot (or a lakemend one whose days its summary does not name)."""
    summary = snapshot.summary
    if summary is None or summary.get(RUN_ID) is None:
        return None
    try:
        day_rows = summary.get(DAY_ROWS)
        if day_rows is not None:
            return {dt.date.fromisoformat(day): int(rows[1]) == 0 for day, rows in json.loads(day_rows).items()}
        day = summary.get(DAY)
        if day is not None:  # one day per commit: its added files are the day's files
            return {dt.date.fromisoformat(day): int(summary.get("added-data-files") or 0) == 0}
    except (ValueError, TypeError, IndexError, AttributeError):
        return None
    return None


def _empty_first(snapshot: Snapshot | SnapshotEntry) -> bool:
    """The empty snapshot a table is created with (``Lake.ensure_table``)."""
    summary = snapshot.summary
    return (snapshot.parent_snapshot_id is None and summary is not None
            and int(summary.get("total-data-files") or 0) == 0 and int(summary.get("total-delete-files") or 0) == 0)


def records_hold(table: Table | MetadataView | None, records: Mapping[dt.date, Mapping[str, Any]], empty_key: str) -> bool:
    """Whether ``records`` (day → partition state: ``files_key``, ``snapshot_id``) are exactly
    what the table's current snapshot publishes (see the module doc); ``empty_key``: the files
    key of no files. ``table``: a pyiceberg table, or its metadata read without pyiceberg
    (``iceberg.metadata_json``)."""
    if table is None or table.current_snapshot() is None:
        return False
    newest: dict[dt.date, tuple[int, bool]] = {}  # day → (newest snapshot that changed it, left empty)
    history: set[int] = set()
    snapshot = table.current_snapshot()
    truncated = False
    while snapshot is not None:
        if snapshot.snapshot_id in history:
            return False  # a cycle: not a history we understand
        history.add(snapshot.snapshot_id)
        days = changed_days(snapshot)
        if days is None:
            if not _empty_first(snapshot):
                return False
        else:
            for day, emptied in days.items():
                newest.setdefault(day, (snapshot.snapshot_id, emptied))
        parent = snapshot.parent_snapshot_id
        if parent is None:  # the table's first snapshot, or (not the empty one) the oldest vacuum kept
            truncated = days is not None
            break
        snapshot = table.snapshot_by_id(parent)
        truncated = snapshot is None  # expired by vacuum: the history starts after it
    for day, (snapshot_id, emptied) in newest.items():
        record = records.get(day)
        if record is None:
            if not emptied:
                return False
        elif record.get("snapshot_id") != snapshot_id or (record.get("files_key") == empty_key) != emptied:
            return False
    for day, record in records.items():
        if day in newest:
            continue
        snapshot_id = record.get("snapshot_id")
        if snapshot_id is None or snapshot_id in history or not truncated:
            return False
    return True


def lineage(table: Table, snapshot_id: int | None = None) -> list[Snapshot]:
    """A snapshot (main's current one by default) and its ancestors still in the metadata, newest first."""
    found: list[Snapshot] = []
    seen: set[int] = set()
    snapshot = table.current_snapshot() if snapshot_id is None else table.snapshot_by_id(snapshot_id)
    while snapshot is not None and snapshot.snapshot_id not in seen:
        seen.add(snapshot.snapshot_id)
        found.append(snapshot)
        parent = snapshot.parent_snapshot_id
        snapshot = table.snapshot_by_id(parent) if parent is not None else None
    return found


def newest_change(snapshots: list[Snapshot], day: dt.date) -> Snapshot | None:
    """The newest of ``snapshots`` (a :func:`lineage`) that changed ``day``; None when none did, or
    when a commit that does not name its days (another writer's) comes first: it may have."""
    for snapshot in snapshots:
        days = changed_days(snapshot)
        if days is None:
            if _empty_first(snapshot):
                continue
            return None
        if day in days:
            return snapshot
    return None
