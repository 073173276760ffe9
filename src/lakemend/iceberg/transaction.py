"""pyiceberg transactions whose pending metadata is worked out once per change, not at every look.

pyiceberg's ``Transaction.table_metadata`` applies every staged update to the table's metadata
and returns a deep copy of the result (every snapshot, ref, summary and schema) each time it is
read, and one overwrite commit reads it about twenty times: 0.16 CPU s of a one-day backfill of
a tiny table under cProfile, and more as a table's history grows (every run adds a snapshot and
a restore-point tag). The metadata models are frozen and the answer depends only on the table's
metadata and the staged updates, so :class:`MetadataOnceTransaction` keeps it until either of
them is replaced — a new update makes a new tuple, a refresh (pyiceberg's commit retry) a new
metadata object; both are compared by identity. The catalog's commit is untouched: it applies
the updates to the metadata it loads itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyiceberg.table import Transaction
from pyiceberg.table.update import update_table_metadata

if TYPE_CHECKING:
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
