"""pyiceberg transactions whose pending metadata is worked out once per change, not at every look,
and overwrites that carry no dead manifest into the new snapshot.

pyiceberg's ``Transaction.table_metadata`` applies every staged update to the table's metadata
and returns a deep copy of the result (every snapshot, ref, summary and schema) each time it is
read, and one overwrite commit reads it about twenty times: 0.16 CPU s of a one-day backfill of
a tiny table under cProfile, and more as a table's history grows (every run adds a snapshot and
a restore-point tag). The metadata models are frozen and the answer depends only on the table's
metadata and the staged updates, so :class:`MetadataOnceTransaction` keeps it until either of
them is replaced — a new update makes a new tuple, a refresh (pyiceberg's commit retry) a new
metadata object; both are compared by identity. The catalog's commit is untouched: it applies
the updates to the metadata it loads itself.

pyiceberg's overwrite keeps every manifest of the parent snapshot that holds none of the files it
deletes — also one whose entries all record an older deletion, so no live data file at all.
Every republished day leaves one such manifest behind (the one recording its old files'
deletion), and each later scan plan and commit reads it, until compaction (``iceberg.maintenance``).
:class:`LiveManifestsOverwrite` drops them, as Iceberg's Java library does (``MergingSnapshotProducer``
keeps a manifest with added or existing files, or one this commit wrote): main's data is the same,
the deletions stay recorded in the snapshots that made them, and ``vacuum`` alone removes files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyiceberg.table import Transaction
from pyiceberg.table.refs import MAIN_BRANCH
from pyiceberg.table.snapshots import Operation
from pyiceberg.table.update import update_table_metadata
from pyiceberg.table.update.snapshot import _OverwriteFiles

if TYPE_CHECKING:
    from pyiceberg.manifest import ManifestFile
    from pyiceberg.table import Table
    from pyiceberg.table.metadata import TableMetadata


class MetadataOnceTransaction(Transaction):
    """A pyiceberg ``Transaction`` that computes its pending ``table_metadata`` once per change."""

    _memo: tuple[object, object, TableMetadata] | None = None

    @property
    def table_metadata(self) -> TableMetadata:
        base, updates = self._table.metadata, self._updates
        memo = self._memo
        if memo is None or memo[0] is not base or memo[1] is not updates:
            memo = self._memo = (base, updates, update_table_metadata(base, updates))
        return memo[2]


def transaction(table: Table) -> MetadataOnceTransaction:
    """``table.transaction()``, with the pending metadata worked out once per change."""
    return MetadataOnceTransaction(table)


class LiveManifestsOverwrite(_OverwriteFiles):
    """pyiceberg's OVERWRITE of main, carrying over from the parent snapshot only the manifests that
    still list a live data file (see the module docstring)."""

    def _existing_manifests(self) -> list[ManifestFile]:
        return [m for m in super()._existing_manifests() if m.has_added_files() or m.has_existing_files()]


def overwrite(tx: Transaction, table: Table, snapshot_properties: dict[str, str]) -> LiveManifestsOverwrite:
    """``tx.update_snapshot(snapshot_properties=...).overwrite()`` of ``table``'s main (``tx`` is
    its transaction), without dead manifests."""
    has_parent = tx.table_metadata.snapshot_by_name(name=MAIN_BRANCH) is not None
    return LiveManifestsOverwrite(operation=Operation.OVERWRITE if has_parent else Operation.APPEND, transaction=tx,
                                  io=table.io, branch=MAIN_BRANCH, snapshot_properties=snapshot_properties)
