"""Keeping a table's metadata small as the lake ages: a capped metadata history and compact manifests.

Both make every commit and every scan plan cost the same on a table's thousandth day as on its
first (pyiceberg copies the table metadata several times per commit, and a plan reads every
manifest of the snapshot).

* **Metadata history.** Every commit writes a new ``*.metadata.json``; the table metadata lists
  the previous ones (its *metadata log*). With :data:`MAINTENANCE_PROPERTIES` the log keeps the
  last :data:`METADATA_HISTORY` files and each commit deletes the file that falls off it (pyiceberg
  and Iceberg's Java library alike: ``base log − new log``, nothing else). Nothing lakemend or an
  engine reads needs an old metadata file: restore points are tags, rollbacks move ``main`` to a
  snapshot, time travel reads the snapshot log — all inside the *current* metadata, and a
  snapshot's manifest list and manifests are separate files that only ``vacuum`` deletes.
* **Manifests.** A publish is one OVERWRITE commit, which adds a manifest for its new files and
  one recording the files it removed; pyiceberg never merges them on overwrite
  (``commit.manifest-merge.enabled`` only applies to appends). lakemend's overwrite carries no
  manifest without live files into the next snapshot (``iceberg.transaction``), so a table
  grows one manifest per commit that publishes new days. :func:`compact_manifests` rewrites them
  into as few as fit the target size (8 MB of manifest: tens of thousands of files) in one commit
  that changes no data; a batch's publish and ``vacuum`` run it on tables past
  :data:`COMPACT_AT` manifests.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from lakemend.iceberg.summary import ACTION, DAY_ROWS, RUN_ID

if TYPE_CHECKING:
    from pyiceberg.table import Table

METADATA_HISTORY = 20
"""Previous metadata files a table's log keeps (pyiceberg's default: 100, none deleted)."""

MAINTENANCE_PROPERTIES: dict[str, str] = {
    "write.metadata.previous-versions-max": str(METADATA_HISTORY),
    "write.metadata.delete-after-commit.enabled": "true",
}
"""Set on every table lakemend creates, and by ``vacuum`` on older tables that lack them (a value
set by anyone is kept)."""

COMPACT_AT = 32
"""Data manifests in main's current snapshot from which ``vacuum`` compacts them."""

_MERGE_NOW = {"commit.manifest-merge.enabled": "true", "commit.manifest.min-count-to-merge": "2"}


def missing_properties(table: Table) -> dict[str, str]:
    """The :data:`MAINTENANCE_PROPERTIES` a table does not set (created by an older lakemend or
    another tool); a property already set, to any value, is left alone."""
    return {key: value for key, value in MAINTENANCE_PROPERTIES.items() if key not in table.properties}


def data_manifests(table: Table) -> int:
    """How many data manifests main's current snapshot has (0 for a table without snapshots)."""
    from pyiceberg.manifest import ManifestContent

    snapshot = table.current_snapshot()
    if snapshot is None:
        return 0
    return sum(1 for m in snapshot.manifests(table.io) if m.content == ManifestContent.DATA)


def compaction_properties(run_id: str) -> dict[str, str]:
    """The snapshot summary of a compaction: a lakemend commit that changed no day (``iceberg.history``)."""
    return {RUN_ID: run_id, ACTION: "compact-manifests", DAY_ROWS: json.dumps({})}


def compact_manifests(table: Table, run_id: str) -> tuple[int, int]:
    """Rewrite main's data manifests into as few as fit ``commit.manifest.target-size-bytes``; returns
    the data manifests (before, after).

    One commit: an append of no files through pyiceberg's merging append, with merging switched on
    (and off again) in the same transaction, so the table's own properties are unchanged. Live
    entries are kept, entries that only record an older deletion are dropped; the data of main is
    the same before and after, and older snapshots (restore points) keep their own manifests until
    ``vacuum`` expires them. The commit requires main to still be at the snapshot it compacted
    (pyiceberg's ref requirement): a concurrent publish makes it fail with ``CommitFailedException``
    and nothing changes.
    """
    from lakemend.iceberg.transaction import transaction

    table.refresh()
    before = data_manifests(table)
    if before < 2:
        return before, before
    saved = {key: table.properties[key] for key in _MERGE_NOW if key in table.properties}
    unset = [key for key in _MERGE_NOW if key not in table.properties]
    with transaction(table) as tx:
        tx.set_properties(_MERGE_NOW)
        with tx.update_snapshot(snapshot_properties=compaction_properties(run_id)).merge_append():
            pass
        if saved:
            tx.set_properties(saved)
        if unset:
            tx.remove_properties(*unset)
    return before, data_manifests(table)
