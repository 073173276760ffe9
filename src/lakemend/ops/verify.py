"""``verify``: prove each published day is readable and matches its metadata, contract and masking.

Which files a day has, and how many rows, comes from one of two places:

* **the state DB's partition records**, on the embedded SQLite catalog, when the table's snapshot
  history proves them its current snapshot's (``iceberg.history``, read from the metadata JSON:
  ``ops.reads``) and the current schema's column types hold the contract's (from the same JSON).
  No manifest is read and pyiceberg is not imported — on a 1M-row day that was a third of the
  command (0.17 s importing it, 0.05 s loading the table). The day's files are read in one pass
  that also counts the rows, against the recorded count;
* **the manifests** (pyiceberg), for every other table — another catalog, records the proof
  rejects, a schema the JSON cannot vouch for — and for any day the first way finds unsound:
  a file missing, unreadable, the rows not the recorded count, or content breaking a rule. That
  day is read again through its manifests, file by file, so the damage is named as it always is.

The days are read side by side, one per core, each thread reading its days in one engine session
(a day's file is mostly one Parquet row group, read on one core; opening a session per day was
three quarters of a year-long ``verify`` of small days); a day read alone has its columns split
over the cores instead (``day_pass``). The damage keeps table order, then day order.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lakemend.engines.base import ThreadSessions
from lakemend.iceberg.files import EMPTY_FILES_KEY, files_by_day
from lakemend.lake import Lake
from lakemend.ops.day_pass import content_problems
from lakemend.ops.reads import LakeReads
from lakemend.ops.workers import in_threads
from lakemend.project.coltypes import iceberg_type_holds
from lakemend.project.project import TableSpec
from lakemend.project.storage import S3Path, is_s3, listed_objects, local_path, object_exists, s3_uri

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

    from lakemend.project.config import Contract


@dataclass(frozen=True)
class Damage:
    table: str
    day: dt.date | None
    reason: str


VERIFY_THREADS = os.cpu_count() or 1
"""How many days ``verify`` reads at once: one per core (a 30-day lake of the example's orders
path, 50,000 orders a day, on 2 cores: 3.8 → 2.1 s)."""


@dataclass(frozen=True)
class Recorded:
    """A day's files as its partition record names them (records proven current), and its rows."""

    paths: tuple[str, ...]
    rows: int


DayFiles = list["DataFile"] | Recorded
"""A day's files: from the manifests, or from its proven partition record."""


@dataclass
class _Manifests:
    """Each table (pyiceberg) and its files by day from its manifests, each read once on first
    need (from any thread)."""

    reads: LakeReads
    _tables: dict[str, Table | None] = field(default_factory=dict)
    _by_table: dict[str, dict[dt.date, list[DataFile]]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def table(self, qualified: str) -> Table | None:
        with self._lock:
            if qualified not in self._tables:
                self._tables[qualified] = self.reads.table(qualified)
            return self._tables[qualified]

    def days(self, qualified: str) -> dict[dt.date, list[DataFile]]:
        with self._lock:
            if qualified not in self._by_table:
                self._by_table[qualified] = files_by_day(self.table(qualified))
            return self._by_table[qualified]


def verify(lake: Lake, tables: list[TableSpec], days: list[dt.date] | None = None,
           on_day: Callable[[str, dt.date, int], None] | None = None, max_parallel: int | None = None) -> list[Damage]:
    """Every published day of the tables (or the given days): files, counts, schema, contract, PII.
    ``on_day(table, day, days in all)`` as each day is read, in order. ``max_parallel``: at most
    this many days at once, and a single day's columns over at most this many cores (default: cores).
    """
    reads = LakeReads(lake)  # on the embedded catalog: no catalog opened, only the metadata files read
    manifests = _Manifests(reads)
    table_damage: dict[str, list[Damage]] = {}
    items: list[tuple[TableSpec, dt.date, DayFiles, set[str] | None]] = []
    for spec in tables:
        found = _table_days(reads, manifests, spec)
        if found is None:
            continue
        table_damage[spec.qualified], by_day, location = found
        listed = listed_objects(location, lake.project.s3) if is_s3(location) else None
        items += [(spec, day, files, listed) for day, files in sorted(by_day.items()) if days is None or day in days]
    cores = max_parallel or VERIFY_THREADS
    threads = min(cores, len(items)) if lake.engine.parallel_sessions else 1
    day_damage: dict[str, list[Damage]] = defaultdict(list)
    done = 0

    def read(reasons: list[str]) -> None:  # in item order
        nonlocal done
        spec, day = items[done][:2]
        done += 1
        day_damage[spec.qualified] += [Damage(spec.qualified, day, reason) for reason in reasons]
        if on_day is not None:
            on_day(spec.qualified, day, len(items))

    def check(item: tuple[TableSpec, dt.date, DayFiles, set[str] | None]) -> list[str]:
        spec, day, files, listed = item  # a day read alone may split its columns over the cores
        side_by_side, alone = threads, cores if threads <= 1 else 1
        if isinstance(files, Recorded):
            if _sound(lake, spec, files, listed, side_by_side, alone, sessions):
                return []
            files = manifests.days(spec.qualified).get(day, [])  # name the damage as the manifests see it
        return _day_problems(lake, spec, files, listed, side_by_side, alone, sessions)

    with ThreadSessions(lake.engine, side_by_side=max(1, threads)) as sessions:  # one per thread, for all its days
        if threads <= 1:
            for item in items:
                read(check(item))
        else:
            in_threads(items, check, threads, name="lakemend-verify-day", each=read, stop=sessions.interrupt)
    return [d for qualified, before in table_damage.items() for d in before + day_damage[qualified]]


def _table_days(reads: LakeReads, manifests: _Manifests, spec: TableSpec,
                ) -> tuple[list[Damage], dict[dt.date, DayFiles], str] | None:
    """A table's schema damage, its published days' files and its location; None: no such table."""
    view = reads.view(spec.qualified)
    recorded = _recorded_days(reads, spec) if view is not None and _schema_holds(spec.contract, view.columns) else None
    if recorded is not None:
        assert view is not None
        return [], dict(recorded), view.location()
    from lakemend.build.contracts import schema_problems

    table = manifests.table(spec.qualified)
    if table is None:
        return None
    problems = schema_problems(spec.contract, table.schema().as_arrow())
    damage = [Damage(spec.qualified, None, f"schema no longer matches the contract: {p}") for p in problems]
    return damage, dict(manifests.days(spec.qualified)), table.location()


def _schema_holds(contract: Contract | None, columns: dict[str, object] | None) -> bool:
    """Whether the table's current columns (from its metadata JSON) surely keep the contract's
    columns and types; False when unsure too (pyiceberg's schema then decides, and words the mismatch)."""
    return columns is not None and (contract is None or all(
        name in columns and (not col.type or iceberg_type_holds(col.type, columns[name]))
        for name, col in contract.columns.items()))


def _recorded_days(reads: LakeReads, spec: TableSpec) -> dict[dt.date, Recorded] | None:
    """Day → its files and rows, from the partition records when they provably are the current
    snapshot's and name every published day's files; else None (read the manifests)."""
    records = reads.records(spec.qualified)
    if records is None:
        return None
    days: dict[dt.date, Recorded] = {}
    for day, record in records.items():
        if record["files_key"] == EMPTY_FILES_KEY:
            continue
        if not record.get("files") or record.get("rows") is None:
            return None  # recorded before the state DB kept a day's paths (revision 0003)
        days[day] = Recorded(tuple(record["files"]), int(record["rows"]))
    return days


def _sound(lake: Lake, spec: TableSpec, day: Recorded, listed: set[str] | None, side_by_side: int, cores: int,
           sessions: ThreadSessions) -> bool:
    """Whether a recorded day is sound: its files there, readable in full, as many rows as its
    record says, its content keeping the contract (one pass: ``day_pass``)."""
    paths = [s3_uri(p) or local_path(p) for p in day.paths]
    if None in paths or not all(object_exists(p, listed) for p in day.paths):
        return False
    return not content_problems(lake, spec, paths, day.rows, side_by_side, cores, expected_rows=day.rows, sessions=sessions)


def _day_problems(lake: Lake, spec: TableSpec, data_files: list[DataFile], listed: set[str] | None,
                  side_by_side: int, cores: int, sessions: ThreadSessions) -> list[str]:
    """One published day: its files present (``listed``: the table's objects, on S3), their footers
    readable and their row counts as in metadata; then its content (``day_pass``: read beside
    ``side_by_side`` days in all; alone, on up to ``cores`` cores)."""
    import pyarrow.parquet as pq

    reasons = []
    readable: list[str | None] = []
    rows_read = 0
    for data_file in data_files:
        s3 = s3_uri(data_file.file_path)
        path = s3 or local_path(data_file.file_path)
        if path is not None and not object_exists(path, listed):
            reasons.append(f"data file missing: {data_file.file_path}")
            continue
        try:
            if s3:
                where = S3Path(s3, lake.project.s3)
                rows = pq.read_metadata(where.fs_path, filesystem=where.fs).num_rows
            else:
                rows = pq.read_metadata(path).num_rows if path else data_file.record_count
        except Exception as exc:  # noqa: BLE001 - any unreadable footer is damage
            reasons.append(f"data file unreadable ({type(exc).__name__}): {data_file.file_path}")
            continue
        if rows != data_file.record_count:
            reasons.append(f"row count {rows} in {data_file.file_path}, metadata says {data_file.record_count}")
        readable.append(path)
        rows_read += rows
    return reasons or content_problems(lake, spec, readable, rows_read, side_by_side, cores, sessions=sessions)
