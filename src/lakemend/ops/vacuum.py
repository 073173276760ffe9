"""Vacuum: expire old snapshots and restore points, then delete the files nothing needs any more.

This is the only place in lakemend that deletes data files, so it is built to be boring:

1. **plan** (reads metadata and file listings, writes nothing): per table, the refs to drop, the
   snapshots to expire and the files to delete with their sizes. A snapshot is kept when it is
   main's current one, the head of a kept branch or tag, or not older than the cut-off. A
   restore-point tag ``pre-<run_id>`` is kept while either its snapshot or its run is younger
   than the cut-off (a run today on a table untouched for a month tags a month-old snapshot:
   that restore point is today's). A file is deleted only when no kept snapshot references it
   (manifest lists, manifests, live data and delete files), it is not the current metadata
   JSON or one of the metadata log, and it was last modified before the cut-off — a younger
   file may belong to a write still in progress.
2. **apply**: one commit per table drops the refs and expires the snapshots (pyiceberg's
   ``ExpireSnapshots``, which deletes no files and never expires a ref's head); then the
   references are read again from the new metadata and every planned file that a concurrent
   commit started to use, or that changed on disk, is skipped.
3. **upkeep** (``iceberg.maintenance``), also part of the plan: a table that lacks lakemend's
   metadata-history properties (created by an older lakemend) gets them, and a table whose
   current snapshot has :data:`~lakemend.iceberg.maintenance.COMPACT_AT` data manifests or more
   has them compacted (one commit that changes no data; the manifests it replaces stay with the
   older snapshots until a later vacuum expires those). Partition records made before the state
   DB kept a day's data file paths (revision 0003) get them from the manifests, where the
   record's files key is still the current snapshot's: ``status`` and ``gaps`` then settle such a
   day from a listing even after a file of it is lost, without reading manifests.

Local (``file://``) and S3 (``s3://``) warehouses are supported (listings, stats and deletes go
through ``project/storage``), and only files inside the project's own warehouse are ever deleted:
a table whose files lie elsewhere (a copied or moved project) is refused when it is loaded
(``Lake.table``), and every file is checked again before it goes.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from lakemend.errors import LakemendError, UsageError
from lakemend.iceberg.catalog import NAMESPACES
from lakemend.iceberg.files import files_key, published_paths
from lakemend.iceberg.maintenance import (
    COMPACT_AT,
    compact_manifests,
    data_manifests,
    missing_properties,
)
from lakemend.lake import inside_warehouse, outside_warehouse_error
from lakemend.project.storage import (
    S3Path,
    StatResult,
    delete_file,
    is_s3,
    local_path,
    s3_uri,
    stat_file,
    walk_files,
)
from lakemend.units import human_bytes

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.metadata import TableMetadata
    from pyiceberg.table.snapshots import Snapshot

    from lakemend.lake import Lake
    from lakemend.project.project import Project

RESTORE_PREFIX = "pre-"
STAGE_PREFIX = "stage-"
# Only files Iceberg writes are ever deleted; anything else under a table folder is left alone.
ICEBERG_SUFFIXES = (".parquet", ".orc", ".avro", ".metadata.json", ".puffin", ".stats")
_RUN_TIME = re.compile(r"^pre-(\d{8}T\d{6})-")
KINDS = ("data", "manifest-list", "manifest", "metadata", "statistics")  # the order files are listed in
COMMIT_ATTEMPTS = 8


# ----- the plan ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefChange:
    """A tag or branch and what vacuum does with it."""

    name: str
    kind: str  # "tag" | "branch"
    snapshot_id: int
    action: str  # "drop" | "keep"
    why: str


@dataclass(frozen=True)
class DoomedFile:
    path: str  # local filesystem path
    kind: str  # data | manifest | manifest-list | metadata | statistics
    size: int
    mtime: float


@dataclass(frozen=True)
class TableVacuum:
    table: str
    location: str
    snapshots_expire: tuple[int, ...]
    snapshots_kept: tuple[int, ...]
    refs: tuple[RefChange, ...]
    files: tuple[DoomedFile, ...]
    properties: tuple[tuple[str, str], ...] = ()  # maintenance properties the table lacks: set
    manifests: int = 0  # data manifests of main's current snapshot
    compact: bool = False  # manifests >= COMPACT_AT: compacted
    paths_to_record: tuple[tuple[dt.date, str, tuple[str, ...]], ...] = ()
    """(day, files key, data file paths) of partition records without paths whose key is current."""

    @property
    def refs_dropped(self) -> tuple[RefChange, ...]:
        return tuple(r for r in self.refs if r.action == "drop")

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def empty(self) -> bool:
        return not (self.snapshots_expire or self.refs_dropped or self.files or self.properties or self.compact
                    or self.paths_to_record)


@dataclass(frozen=True)
class VacuumPlan:
    cutoff: dt.datetime  # UTC
    older_than: dt.timedelta
    tables: tuple[TableVacuum, ...]

    @property
    def files(self) -> int:
        return sum(len(t.files) for t in self.tables)

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.tables)

    @property
    def empty(self) -> bool:
        return all(t.empty for t in self.tables)

    def describe(self) -> str:
        """One line: what applying the plan does."""
        snapshots = sum(len(t.snapshots_expire) for t in self.tables)
        refs = sum(len(t.refs_dropped) for t in self.tables)
        tables = sum(1 for t in self.tables if not t.empty)
        upkeep = [f"{what} of {n} {whose}" for what, n, whose in (
            ("compact the manifests", sum(1 for t in self.tables if t.compact), "table(s)"),
            ("cap the metadata history", sum(1 for t in self.tables if t.properties), "table(s)"),
            ("record the data file paths", sum(len(t.paths_to_record) for t in self.tables), "partition record(s)"))
            if n]
        return (f"expire {snapshots} snapshot(s), drop {refs} restore point(s)/stage branch(es) and delete "
                f"{self.files} file(s) ({human_bytes(self.bytes)}) in {tables} table(s)"
                + "".join(f"; {u}" for u in upkeep))

    def to_dict(self) -> dict:
        return {
            "cutoff": self.cutoff.isoformat(),
            "older_than_seconds": self.older_than.total_seconds(),
            "files": self.files,
            "bytes": self.bytes,
            "tables": [{**asdict(t), "bytes": t.bytes, "paths_to_record": len(t.paths_to_record)} for t in self.tables],
        }


@dataclass(frozen=True)
class TableVacuumResult:
    table: str
    snapshots_expired: int
    refs_dropped: tuple[str, ...]
    files_deleted: int
    bytes_freed: int
    files_skipped: tuple[str, ...]  # planned, but referenced again, changed or gone at apply
    properties_set: tuple[str, ...] = ()
    manifests: tuple[int, int] | None = None  # (before, after) when compacted
    paths_recorded: int = 0  # partition records that got their data file paths


@dataclass(frozen=True)
class VacuumResult:
    tables: tuple[TableVacuumResult, ...]

    @property
    def files_deleted(self) -> int:
        return sum(t.files_deleted for t in self.tables)

    @property
    def bytes_freed(self) -> int:
        return sum(t.bytes_freed for t in self.tables)

    def to_dict(self) -> dict:
        return {"files_deleted": self.files_deleted, "bytes_freed": self.bytes_freed,
                "tables": [asdict(t) for t in self.tables]}


MAX_RETENTION_DAYS = 36500  # about 100 years


def parse_retention(text: str) -> dt.timedelta:
    """``7d``, ``12h``, ``30m`` or ``0d`` (everything not current is old)."""
    match = re.fullmatch(r"(\d+)([mhd])", (text or "").strip())
    if not match:
        raise UsageError(f"--older-than {text!r} is not a duration", "use e.g. 7d, 12h, 30m (0d: everything but what is current)")
    amount, unit = int(match.group(1)), match.group(2)
    seconds = amount * {"m": 60, "h": 3600, "d": 86400}[unit]
    if seconds > MAX_RETENTION_DAYS * 86400:  # a typo; and beyond a datetime's range
        raise UsageError(f"--older-than {text!r} is more than {MAX_RETENTION_DAYS} days",
                         f"use e.g. 7d, 12h, 30m (at most {MAX_RETENTION_DAYS}d; 0d: everything but what is current)")
    return dt.timedelta(seconds=seconds)


def store_path(uri: str) -> str | None:
    """A file as vacuum names it: a local path, or ``s3://bucket/key``; ``None`` for other stores."""
    s3 = s3_uri(uri)
    return s3.rstrip("/") if s3 is not None else local_path(uri)


def _require_local(qualified: str, uri: str) -> str:
    path = store_path(uri)
    if path is None:
        raise LakemendError(
            f"vacuum supports local and s3:// warehouses only; {qualified} lives at {uri}",
            "use your object store's lifecycle rules or an Iceberg engine's orphan-file removal there",
        )
    return path


def catalog_tables(lake: Lake) -> list[str]:
    """Every table of lakemend's namespaces in the catalog (quarantine tables included)."""
    found = []
    for namespace in NAMESPACES:
        found += [".".join(ident) for ident in lake.catalog.list_tables(namespace)]
    return sorted(found)


def resolve_tables(lake: Lake, names: Iterable[str] | None) -> list[str]:
    """``layer.table`` names of the catalog (quarantine tables included), or a short name of a
    project table (``Project.find_table``: unique, or refused naming the candidates); default: all."""
    known = catalog_tables(lake)
    if not names:
        return known
    chosen = []
    for name in names:
        qualified = name if "." in name else lake.project.find_table(name).qualified
        if qualified not in known:
            raise UsageError(f"--table {name!r} is not a table in the catalog", "known: " + ", ".join(known))
        chosen.append(qualified)
    return list(dict.fromkeys(chosen))


def plan_vacuum(lake: Lake, older_than: dt.timedelta, tables: Iterable[str] | None = None,
                now: dt.datetime | None = None) -> VacuumPlan:
    """What vacuum would expire and delete; reads metadata and listings, changes nothing.

    ``now`` (default: the current time; naive means UTC) is there so tests can move the cut-off.
    """
    _check_local_warehouse(lake)
    if older_than < dt.timedelta(0):
        raise UsageError("--older-than cannot be negative", "use e.g. 7d")
    now = now or dt.datetime.now(dt.UTC)
    now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    cutoff = (now - older_than).astimezone(dt.UTC)
    names = resolve_tables(lake, tables)
    roots = _table_roots(lake, catalog_tables(lake))
    plans = []
    for qualified in names:
        table = lake.table(qualified)
        assert table is not None
        plan = _plan_table(table, qualified, cutoff, set(roots.values()) - {roots[qualified]}, lake.project)
        plans.append(replace(plan, paths_to_record=_paths_to_record(lake, table, qualified)))
    return VacuumPlan(cutoff=cutoff, older_than=older_than, tables=tuple(plans))


def _paths_to_record(lake: Lake, table: Table, qualified: str) -> tuple[tuple[dt.date, str, tuple[str, ...]], ...]:
    """The partition records of ``qualified`` without data file paths (made before state DB revision
    0003) whose files key is its current snapshot's, with those paths from the manifests."""
    old = {day: state["files_key"] for day, state in lake.state_reader.partition_states(qualified).items()
           if state["files"] is None}
    if not old:
        return ()
    published = published_paths(table)
    entries = []
    for day, key in sorted(old.items()):
        paths = tuple(sorted(published.get(day, ())))
        if files_key(paths) == key and not any("\n" in path for path in paths):
            entries.append((day, key, paths))
    return tuple(entries)


def _check_local_warehouse(lake: Lake) -> None:
    warehouse = lake.project.config.warehouse
    if "://" in warehouse and not warehouse.startswith("file://") and not is_s3(warehouse):
        raise LakemendError(f"vacuum supports local and s3:// warehouses only, not {warehouse}",
                            "use your object store's lifecycle rules or an Iceberg engine's orphan-file removal there")


def _table_roots(lake: Lake, names: list[str]) -> dict[str, str]:
    roots = {}
    for qualified in names:
        table = lake.table(qualified)
        assert table is not None
        roots[qualified] = _require_local(qualified, table.location())
        if not inside_warehouse(lake.project, roots[qualified]):  # again here: vacuum deletes
            raise outside_warehouse_error(lake.project, qualified, roots[qualified])
    return roots


def _plan_table(table: Table, qualified: str, cutoff: dt.datetime, other_roots: set[str], project: Project) -> TableVacuum:
    metadata = table.metadata
    cutoff_ms = int(cutoff.timestamp() * 1000)
    refs = _ref_changes(metadata, cutoff_ms)
    expire, kept = _snapshot_retention(metadata, cutoff_ms, refs)
    kept_snapshots = [s for s in metadata.snapshots if s.snapshot_id in kept]
    referenced = referenced_files(table, kept_snapshots)
    root = _require_local(qualified, table.location())
    doomed = sorted(
        (DoomedFile(path, _kind(path), stat.st_size, stat.st_mtime)
         for path, stat in _iceberg_files(root, other_roots, project)
         if path not in referenced and stat.st_mtime < cutoff.timestamp() and inside_warehouse(project, path)),
        key=lambda f: (KINDS.index(f.kind), f.path),
    )
    manifests = data_manifests(table)
    return TableVacuum(qualified, root, tuple(sorted(expire)), tuple(sorted(kept)), refs, tuple(doomed),
                       tuple(sorted(missing_properties(table).items())), manifests, manifests >= COMPACT_AT)


def _ref_changes(metadata: TableMetadata, cutoff_ms: int) -> tuple[RefChange, ...]:
    """Which refs go: restore-point tags older than the cut-off and leftover stage branches.

    A stage branch lives only between the two commits of a publish; one whose head is older
    than the cut-off was left by a crashed publish. Other tags and branches were made by
    people, not by lakemend, and are kept.
    """
    from pyiceberg.table.refs import MAIN_BRANCH, SnapshotRefType

    changes = []
    for name, ref in sorted(metadata.refs.items()):
        snapshot = metadata.snapshot_by_id(ref.snapshot_id)
        taken = snapshot.timestamp_ms if snapshot else None
        if ref.snapshot_ref_type == SnapshotRefType.TAG:
            kind = "tag"
            if not name.startswith(RESTORE_PREFIX):
                action, why = "keep", "not a lakemend restore point"
            else:
                age = max(taken or 0, _run_time_ms(name) or 0)
                action, why = ("drop", "restore point older than the cut-off") if age < cutoff_ms else \
                    ("keep", "restore point younger than the cut-off")
        else:
            kind = "branch"
            if name == MAIN_BRANCH:
                action, why = "keep", "main"
            elif name.startswith(STAGE_PREFIX) and taken is not None and taken < cutoff_ms:
                action, why = "drop", "stage branch left by a crashed publish"
            else:
                action, why = "keep", "branch"
        changes.append(RefChange(name, kind, ref.snapshot_id, action, why))
    return tuple(changes)


def _run_time_ms(tag: str) -> int | None:
    """When the run of a ``pre-<run_id>`` tag started (run ids begin with their UTC start time)."""
    match = _RUN_TIME.match(tag)
    if not match:
        return None
    started = dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
    return int(started.timestamp() * 1000)


def _snapshot_retention(metadata: TableMetadata, cutoff_ms: int, refs: tuple[RefChange, ...]) -> tuple[set[int], set[int]]:
    """(snapshots to expire, snapshots kept)."""
    protected = {r.snapshot_id for r in refs if r.action == "keep"}
    if metadata.current_snapshot_id is not None:
        protected.add(metadata.current_snapshot_id)
    expire = {s.snapshot_id for s in metadata.snapshots if s.timestamp_ms < cutoff_ms and s.snapshot_id not in protected}
    kept = {s.snapshot_id for s in metadata.snapshots} - expire
    return expire, kept


def referenced_files(table: Table, snapshots: Iterable[Snapshot]) -> set[str]:
    """Local paths of every file the metadata and the given snapshots need.

    The current metadata JSON and the metadata log, statistics files, and per snapshot its
    manifest list, manifests and their live data / delete files. Entries marked DELETED are not
    part of a snapshot's state: its readers never open them.
    """
    metadata = table.metadata
    paths = {table.metadata_location, *(e.metadata_file for e in metadata.metadata_log)}
    paths |= {s.statistics_path for s in metadata.statistics}
    paths |= {s.statistics_path for s in metadata.partition_statistics}
    manifests: set[str] = set()
    for snapshot in snapshots:
        paths.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            if manifest.manifest_path in manifests:
                continue
            manifests.add(manifest.manifest_path)
            paths.update(e.data_file.file_path for e in manifest.fetch_manifest_entry(table.io, discard_deleted=True))
    paths |= manifests
    return {found for found in map(store_path, paths) if found is not None}


def _iceberg_files(root: str, skip_roots: set[str], project: Project) -> Iterator[tuple[str, StatResult]]:
    """Regular files Iceberg writes under ``root`` (a folder or an S3 prefix), not descending into
    other tables' folders; local links are neither followed nor listed."""
    where = S3Path(root, project.s3) if is_s3(root) else Path(root)
    for path, stat in walk_files(where, skip_roots):
        if path.endswith(ICEBERG_SUFFIXES):
            yield path, stat


def _kind(path: str) -> str:
    name = os.path.basename(path)
    if name.endswith(".metadata.json"):
        return "metadata"
    if name.endswith((".puffin", ".stats")):
        return "statistics"
    if name.endswith(".avro"):
        return "manifest-list" if name.startswith("snap-") else "manifest"
    return "data"


# ----- apply ------------------------------------------------------------------------------------------


def apply_vacuum(lake: Lake, plan: VacuumPlan) -> VacuumResult:
    """Carry out a plan: per table, one commit for refs and snapshots, then delete the files."""
    results = []
    for item in plan.tables:
        if item.empty:
            continue
        table = lake.table(item.table)
        if table is None:  # dropped since the plan: nothing of it to keep or delete safely
            continue
        expired, dropped = _expire(table, item)
        deleted, freed, skipped = _delete_files(lake, table, item, plan.cutoff)
        properties, manifests = _upkeep(table, item)
        recorded = lake.state.fill_partition_files(item.table, item.paths_to_record) if item.paths_to_record else 0
        results.append(TableVacuumResult(item.table, expired, dropped, deleted, freed, skipped, properties, manifests,
                                         recorded))
    return VacuumResult(tuple(results))


def _upkeep(table: Table, item: TableVacuum) -> tuple[tuple[str, ...], tuple[int, int] | None]:
    """Set the planned maintenance properties (those still missing), then compact the manifests
    when planned; each one commit, retried on conflicts. After the deletes, so that the plan's
    snapshots and files are exactly what was expired and deleted."""
    from pyiceberg.exceptions import CommitFailedException

    from lakemend.iceberg.transaction import transaction
    from lakemend.ops.runner import new_run_id

    properties: tuple[str, ...] = ()
    manifests = None
    for attempt in range(COMMIT_ATTEMPTS):
        try:
            table.refresh()
            missing = {k: v for k, v in item.properties if k not in table.properties}
            if missing and not properties:
                with transaction(table) as tx:
                    tx.set_properties(missing)
                properties = tuple(sorted(missing))
            if item.compact and manifests is None:
                manifests = compact_manifests(table, new_run_id())
            return properties, manifests
        except CommitFailedException:
            if attempt == COMMIT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _expire(table: Table, item: TableVacuum) -> tuple[int, tuple[str, ...]]:
    """Drop the planned refs and expire the planned snapshots in one commit (retried on conflicts).

    A ref that moved since the plan is kept (a publish may be reusing its stage branch); a
    snapshot that became a ref's head or main's current one is kept too.
    """
    from pyiceberg.exceptions import CommitFailedException
    from pyiceberg.table.update.snapshot import ExpireSnapshots, ManageSnapshots

    from lakemend.iceberg.transaction import transaction

    for attempt in range(COMMIT_ATTEMPTS):
        table.refresh()
        metadata = table.metadata
        drop = [r for r in item.refs_dropped
                if r.name in metadata.refs and metadata.refs[r.name].snapshot_id == r.snapshot_id]
        protected = {ref.snapshot_id for name, ref in metadata.refs.items() if name not in {r.name for r in drop}}
        protected.add(metadata.current_snapshot_id)
        existing = {s.snapshot_id for s in metadata.snapshots}
        expire = [i for i in item.snapshots_expire if i in existing and i not in protected]
        if not drop and not expire:
            return 0, ()
        try:
            with transaction(table) as tx:
                if drop:
                    refs = ManageSnapshots(tx)
                    for ref in drop:
                        (refs.remove_tag if ref.kind == "tag" else refs.remove_branch)(ref.name)
                    refs.commit()
                if expire:  # the builder table.maintenance.expire_snapshots() returns, in our transaction
                    ExpireSnapshots(tx).by_ids(expire).commit()
            return len(expire), tuple(r.name for r in drop)
        except CommitFailedException:
            if attempt == COMMIT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _delete_files(lake: Lake, table: Table, item: TableVacuum, cutoff: dt.datetime) -> tuple[int, int, tuple[str, ...]]:
    """Delete the planned files that are still unreferenced, unchanged since the plan and inside the warehouse."""
    table.refresh()
    referenced = referenced_files(table, table.metadata.snapshots)
    deleted = freed = 0
    skipped = []
    for doomed in item.files:
        if doomed.path in referenced or not _unchanged(doomed, cutoff, lake.project) or not inside_warehouse(lake.project, doomed.path):
            skipped.append(doomed.path)
            continue
        try:
            delete_file(doomed.path, lake.project.s3)
        except FileNotFoundError:
            skipped.append(doomed.path)
            continue
        deleted += 1
        freed += doomed.size
    return deleted, freed, tuple(skipped)


def _unchanged(doomed: DoomedFile, cutoff: dt.datetime, project: Project) -> bool:
    try:
        stat = stat_file(doomed.path, project.s3)
    except FileNotFoundError:
        return False
    return stat.st_mtime == doomed.mtime and stat.st_size == doomed.size and stat.st_mtime < cutoff.timestamp()
