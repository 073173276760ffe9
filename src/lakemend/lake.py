"""The open lake: project + catalog + state, and metadata-only views of what is published."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from lakemend.engines import open_engine
from lakemend.iceberg import files
from lakemend.iceberg.catalog import create_table, load_table, open_catalog
from lakemend.iceberg.files import partition_day
from lakemend.project.project import Project, load_project
from lakemend.state.store import StateStore

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

    from lakemend.engines.base import Engine

__all__ = ["Lake", "partition_day"]


@dataclass
class Lake:
    project: Project
    _tables: dict[str, Table] = field(default_factory=dict)

    @classmethod
    def open(cls, root: object = None) -> Lake:
        from pathlib import Path

        return cls(load_project(Path(root) if root else None))

    @cached_property
    def catalog(self) -> Catalog:
        return open_catalog(self.project)

    @cached_property
    def engine(self) -> Engine:
        """The engine that runs the project's SQL (``engine:`` in lakemend.yaml)."""
        return open_engine(self.project.config.engine)

    @cached_property
    def state(self) -> StateStore:
        return StateStore(self.project.state_url)

    def table(self, qualified: str, *, refresh: bool = True) -> Table | None:
        """The table at its newest metadata (``refresh=False``: as last loaded by this Lake)."""
        table = self._tables.get(qualified)
        if table is None:
            table = load_table(self.catalog, qualified)
            if table is not None:
                self._tables[qualified] = table
        elif refresh:
            table.refresh()
        return table

    def ensure_table(self, qualified: str, schema: pa.Schema) -> Table:
        """Load or create a table; a new one starts with an empty snapshot (the first restore point)."""
        table = self.table(qualified, refresh=False)
        if table is None:
            table = create_table(self.catalog, self.project, qualified, schema)
            if table.current_snapshot() is None:
                table.append(schema.empty_table())
            self._tables[qualified] = table
        return table

    def published_days(self, qualified: str, *, refresh: bool = True) -> dict[dt.date, str]:
        """Day → files key of the table's current snapshot, from manifests only (no data read)."""
        return files.published_days(self.table(qualified, refresh=refresh))
