"""The one reader of what a table has published: days, data files, row counts and sizes.

Everything here reads Iceberg metadata (manifests, the partitions metadata table) and never
data files, so it is cheap enough for ``status``, ``gaps`` and planning. Every other module asks
this one instead of scanning manifests itself, so "which files make up day D" has one answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakemend.dates import to_ranges

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

EPOCH = dt.date(1970, 1, 1)


def partition_day(value: object) -> dt.date:
    """The ``day`` of an identity partition value (pyiceberg keeps dates as days since epoch)."""
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int):
        return EPOCH + dt.timedelta(days=value)
    return dt.date.fromisoformat(str(value))


def files_key(paths: Iterable[str]) -> str:
    """Identity of a published day: the set of its data files."""
    return hashlib.sha256("\n".join(sorted(paths)).encode()).hexdigest()[:32]


EMPTY_FILES_KEY = files_key(())


def published_keys(records: dict[dt.date, dict[str, Any]]) -> dict[dt.date, str]:
    """Day → files key of the days that partition records say hold files (the state DB's
    answer to :func:`published_days`, when the records are proven current)."""
    return {day: r["files_key"] for day, r in records.items() if r["files_key"] != EMPTY_FILES_KEY}


def day_filter(day: dt.date) -> Any:
    """The pyiceberg row filter selecting one ``day``."""
    from pyiceberg.expressions import EqualTo

    return EqualTo("day", day.isoformat())


def _has_data(table: Table | None) -> bool:
    return table is not None and table.current_snapshot() is not None


def files_by_day(table: Table | None, snapshot_id: int | None = None) -> dict[dt.date, list[DataFile]]:
    """Day → data files of a snapshot (main's current one by default), from manifests only."""
    out: dict[dt.date, list[DataFile]] = defaultdict(list)
    if not _has_data(table):
        return out
    assert table is not None
    for task in table.scan(snapshot_id=snapshot_id).plan_files():
        out[partition_day(task.file.partition[0])].append(task.file)
    return out


def published_paths(table: Table | None) -> dict[dt.date, list[str]]:
    """Day → the data file paths of the table's current snapshot (what a partition record keeps)."""
    return {day: [f.file_path for f in files] for day, files in files_by_day(table).items()}


def published_days(table: Table | None) -> dict[dt.date, str]:
    """Day → files key of the table's current snapshot."""
    return {day: files_key(paths) for day, paths in published_paths(table).items()}


def day_files(table: Table | None, day: dt.date, snapshot_id: int | None = None) -> list[DataFile]:
    """The data files of one day in a snapshot (main's current one by default)."""
    if not _has_data(table):
        return []
    assert table is not None
    return [task.file for task in table.scan(row_filter=day_filter(day), snapshot_id=snapshot_id).plan_files()]


def days_filter(days: Iterable[dt.date]) -> Any:
    """The pyiceberg row filter selecting the given days, as runs of consecutive days OR'ed.

    Not ``In``: pyiceberg skips a manifest for ``In`` only when its bounds lie wholly before the
    first day or after the last, so for days far apart every manifest between them is read (a
    lake published day by day has one per day: 730 manifests read for three damaged days over
    two years). A range per run prunes each manifest by its own bounds.
    """
    from pyiceberg.expressions import And, EqualTo, GreaterThanOrEqual, LessThanOrEqual, Or

    def run(first: dt.date, last: dt.date) -> Any:
        if first == last:
            return EqualTo("day", first.isoformat())
        return And(GreaterThanOrEqual("day", first.isoformat()), LessThanOrEqual("day", last.isoformat()))

    def either(runs: list[Any]) -> Any:  # balanced, so a long list nests log2(n) deep
        if len(runs) == 1:
            return runs[0]
        middle = len(runs) // 2
        return Or(either(runs[:middle]), either(runs[middle:]))

    return either([run(first, last) for first, last in to_ranges(days)])


def files_of_days(table: Table | None, days: Iterable[dt.date]) -> dict[dt.date, list[DataFile]]:
    """Day → data files of the given days in main's current snapshot: one scan that opens only the
    manifests whose partition bounds may hold them (``files_by_day`` narrowed to a few days)."""
    wanted = set(days)
    out: dict[dt.date, list[DataFile]] = defaultdict(list)
    if not wanted or not _has_data(table):
        return out
    assert table is not None
    for task in table.scan(row_filter=days_filter(wanted)).plan_files():
        out[partition_day(task.file.partition[0])].append(task.file)
    return out


@dataclass(frozen=True)
class PartitionStats:
    rows: int = 0
    bytes: int = 0


def partition_stats(table: Table | None) -> dict[dt.date, PartitionStats]:
    """Rows and bytes per published day, from the partitions metadata table."""
    if not _has_data(table):
        return {}
    assert table is not None
    return {
        partition_day(row["partition"]["day"]): PartitionStats(int(row["record_count"]), int(row["total_data_file_size_in_bytes"]))
        for row in table.inspect.partitions().to_pylist()
    }


def partition_counts(table: Table | None) -> dict[dt.date, int]:
    """Rows per published day."""
    return {day: stats.rows for day, stats in partition_stats(table).items()}


def recent_counts(counts: dict[dt.date, int], day: dt.date, days: int) -> list[int]:
    """The row counts of the published days in the ``days`` before ``day`` (the row-count-vs-recent gate)."""
    return [n for when, n in counts.items() if day - dt.timedelta(days=days) <= when < day]


def local_files_by_day(table: Table, row_filter: Any) -> dict[dt.date, tuple[list[str], int]] | None:
    """Per day: the local data file paths (and their rows) matching ``row_filter`` that an engine
    may read itself; None when pyiceberg must read (evolved schema, delete files, remote storage)."""
    from urllib.parse import unquote, urlparse

    if len(table.metadata.schemas) != 1:
        return None
    tasks = list(table.scan(row_filter=row_filter).plan_files())
    if any(task.delete_files for task in tasks) or any(not t.file.file_path.startswith("file:") for t in tasks):
        return None
    out: dict[dt.date, tuple[list[str], int]] = {}
    for task in tasks:
        paths, rows = out.get(partition_day(task.file.partition[0]), ([], 0))
        paths.append(unquote(urlparse(task.file.file_path).path))
        out[partition_day(task.file.partition[0])] = (paths, rows + task.file.record_count)
    return out


def local_data_files(table: Table, row_filter: Any) -> tuple[list[str], int] | None:
    """Local data file paths (and their row count) matching ``row_filter`` that an engine may
    read itself; None when pyiceberg must read (evolved schema, delete files, remote storage)."""
    by_day = local_files_by_day(table, row_filter)
    if by_day is None:
        return None
    return [path for day in sorted(by_day) for path in by_day[day][0]], sum(rows for _, rows in by_day.values())
