"""The open lake: project + catalog + state, and metadata-only views of what is published."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from lakemend.engines import open_engine
from lakemend.errors import PreconditionFailed
from lakemend.iceberg import files
from lakemend.iceberg.catalog import create_table, load_table, open_catalog
from lakemend.iceberg.files import partition_day
from lakemend.project.project import Project, load_project, sqlite_file
from lakemend.project.storage import local_path, s3_uri

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

    from lakemend.engines.base import Engine, Writer
    from lakemend.iceberg.metadata_json import MetadataView
    from lakemend.state.sqlite_reads import StateReader
    from lakemend.state.store import StateStore

__all__ = ["Lake", "check_own_warehouse", "inside_warehouse", "outside_warehouse_error", "partition_day"]


def _local(uri: str) -> str | None:
    """The real local path of a ``file://`` URI or an absolute path; ``None`` for other stores."""
    import os

    path = local_path(uri)
    return None if path is None else os.path.realpath(path)


def _s3(uri: str) -> str | None:
    """``s3://bucket/key`` of an S3 URI; ``None`` for other stores and for a key that climbs (``/../``)."""
    key = s3_uri(uri)
    return None if key is None or "/../" in key[len("s3://"):] + "/" else key


def inside_warehouse(project: Project, uri: str) -> bool:
    """Whether a file or folder (path, ``file://`` or ``s3://`` URI) lies inside the project's own warehouse.

    Symlinks are resolved on both sides, so a link inside the warehouse to somewhere else is outside.
    An S3 warehouse owns exactly the keys under its prefix (``s3://b/lake`` does not own ``s3://b/lake2/x``).
    """
    import os

    from lakemend.project.storage import S3Path

    warehouse = project.warehouse
    if isinstance(warehouse, S3Path):
        key = _s3(uri)
        root = warehouse.as_uri().rstrip("/")
        return key is not None and (key.rstrip("/") == root or key.startswith(root + "/"))
    path = _local(uri)
    if path is None:
        return False
    root = os.path.realpath(project.warehouse)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def check_own_warehouse(project: Project, qualified: str, table: Table | MetadataView) -> None:
    """Refuse a table whose location or metadata lies outside the project's warehouse.

    The catalog records absolute paths: a project copied (``cp -a``) or moved keeps pointing at
    the original's files, and writing or vacuuming through it would change someone else's lake.
    """
    for uri in (table.location(), table.metadata_location):
        if not inside_warehouse(project, uri):
            raise outside_warehouse_error(project, qualified, _local(uri) or uri)


def _refuse_missing_outside(project: Project, qualified: str, exc: FileNotFoundError) -> None:
    """The table's metadata file is missing: refuse as copied/moved when it was outside the warehouse."""
    import re

    match = re.search(r"'(/[^']+)'", str(exc))
    missing = exc.filename if isinstance(exc.filename, str) else (match.group(1) if match else None)
    if missing and not inside_warehouse(project, missing):
        raise outside_warehouse_error(project, qualified, f"{missing} (missing)", moved=True) from exc


def outside_warehouse_error(project: Project, qualified: str, where: str, *, moved: bool = False) -> PreconditionFailed:
    """The one refusal of a table outside the project's warehouse, with what to do (copied or moved)."""
    what = (f"this project's catalog points at {where} for {qualified}, outside its own warehouse "
            f"{project.warehouse}: the project was {'moved' if moved else 'copied'}, and lakemend will not "
            f"read, write or vacuum another project's lake through it")
    if moved:  # the lake exists only here: never suggest deleting it
        return PreconditionFailed(what, "move the project back where it was built (the catalog records absolute paths; "
                                        "see docs/runbook.md, Copying or moving a project)")
    return PreconditionFailed(
        what,
        f"work in the original project; or make this copy a lake of its own: delete its "
        f"{project.warehouse.name}/ folder (the catalog and files copied with it) and "
        f".lakemend/state.db, then rebuild from the landing data with lakemend run "
        f"(see docs/runbook.md, Copying or moving a project)",
    )


@dataclass
class Lake:
    project: Project
    _tables: dict[str, Table] = field(default_factory=dict)
    _checked: set[str] = field(default_factory=set)  # metadata locations found inside the warehouse
    _upkept: set[str] = field(default_factory=set)  # tables whose maintenance properties this Lake checked
    read_only: bool = False
    """For dry runs: a catalog or state DB that does not exist yet is not created (an empty one in
    memory stands in), and no warehouse folder or namespace is made — a dry run writes nothing."""
    use_records: bool = True
    """Whether :meth:`recorded_partitions` may answer from the state DB (False: manifests always)."""
    _reader: StateReader | None = None

    @classmethod
    def open(cls, root: object = None, *, profile: str | None = None, read_only: bool = False) -> Lake:
        """The project at ``root`` (default: found from the current folder) with ``profile`` applied
        (``read_only``: see the field)."""
        from pathlib import Path

        return cls(load_project(Path(root) if root else None, profile), read_only=read_only)

    @cached_property
    def catalog(self) -> Catalog:
        return open_catalog(self.project, read_only=self.read_only)

    @cached_property
    def engine(self) -> Engine:
        """The engine that runs the project's SQL (``engine:`` in lakemend.yaml).

        ``emr-serverless`` builds partitions remotely (``ops/remote``); what runs on this machine —
        queries, checks, dry-run previews — runs on DuckDB.
        """
        name = self.project.config.engine
        return self.local_engine if name == "emr-serverless" else open_engine(name, self.project)

    @cached_property
    def local_engine(self) -> Engine:
        """DuckDB on this machine, whatever engine builds the models: what ``query`` reads published
        files with (a Spark session for one read-only statement would cost a JVM start)."""
        return open_engine("duckdb", self.project)

    @property
    def writer(self) -> Writer | None:
        """The engine's own Iceberg writer (Spark), or None: lakemend writes with pyiceberg (DuckDB)."""
        return getattr(self.engine, "writer", None)

    @cached_property
    def state(self) -> StateStore:
        from lakemend.state.store import StateStore

        url = self.project.state_url
        database = sqlite_file(url)
        if self.read_only and database is not None and not database.exists():
            url = "sqlite://"  # an empty ledger in memory: nothing built yet, nothing recorded
        return StateStore(url)

    @property
    def state_reader(self) -> StateReader:
        """The state DB for the reads of ``status``, ``gaps`` and ``late``: the store once this Lake
        has opened it; before that, on a SQLite state DB that opening a store would leave as it is,
        a reader on the standard library's ``sqlite3`` (``state/sqlite_reads``: no SQLAlchemy import)."""
        if "state" not in self.__dict__ and self._reader is None:
            from lakemend.state.sqlite_reads import open_reads

            database = sqlite_file(self.project.state_url)
            self._reader = None if database is None or "?" in self.project.state_url else open_reads(database)
        if "state" in self.__dict__ or self._reader is None:
            return self.state
        return self._reader

    def table(self, qualified: str, *, refresh: bool = True) -> Table | None:
        """The table at its newest metadata (``refresh=False``: as last loaded by this Lake).

        Every read, write and vacuum reaches a table here, so this is where a table whose files
        lie outside the project's warehouse (a copied or moved project) is refused.
        """
        table = self._tables.get(qualified)
        if table is None:
            try:
                table = load_table(self.catalog, qualified)
            except FileNotFoundError as exc:  # a moved project: the catalog's metadata path is gone
                _refuse_missing_outside(self.project, qualified, exc)
                raise
            if table is not None:
                check_own_warehouse(self.project, qualified, table)
                self._checked.add(table.metadata_location)
                self._tables[qualified] = table
        elif refresh:
            table.refresh()
        if table is not None and table.metadata_location not in self._checked:
            check_own_warehouse(self.project, qualified, table)
            self._checked.add(table.metadata_location)
        return table

    def ensure_table(self, qualified: str, schema: pa.Schema) -> Table:
        """Load or create a table; a new one starts with an empty snapshot (the first restore point).

        A table an older lakemend created gets the metadata-history cap (``iceberg.maintenance``)
        the first time this Lake writes to it: one property commit, skipped if it loses a race.
        """
        table = self.table(qualified, refresh=False)
        if table is None:
            table = create_table(self.catalog, self.project, qualified, schema)
            if table.current_snapshot() is None:
                table.append(schema.empty_table())
            self._tables[qualified] = table
        elif qualified not in self._upkept:
            from pyiceberg.exceptions import CommitFailedException

            from lakemend.iceberg.maintenance import missing_properties
            from lakemend.iceberg.transaction import transaction

            missing = missing_properties(table)
            if missing:
                try:
                    with transaction(table) as tx:
                        tx.set_properties(missing)
                except CommitFailedException:
                    table.refresh()  # someone committed meanwhile; vacuum sets them too
        self._upkept.add(qualified)
        return table

    def published_days(self, qualified: str, *, refresh: bool = True, from_state: bool = False) -> dict[dt.date, str]:
        """Day → files key of the table's current snapshot, from manifests only (no data read).

        ``from_state``: from the state DB's partition records instead when they provably are the
        current snapshot's (:meth:`recorded_partitions`; no manifest read), else from manifests.
        """
        if from_state:
            records = self.recorded_partitions(qualified, refresh=refresh)
            if records is not None:
                return files.published_keys(records)
        return files.published_days(self.table(qualified, refresh=refresh))

    def recorded_partitions(self, qualified: str, *, refresh: bool = True,
                            records: dict[dt.date, dict] | None = None) -> dict[dt.date, dict] | None:
        """The table's partition records (``records``: as read already) when they are exactly what its
        current snapshot publishes — proven from snapshot summaries (``iceberg.history``), no manifest
        read — else None (another writer, a killed commit: read the manifests)."""
        from lakemend.iceberg.history import records_hold

        if not self.use_records:
            return None
        table = self.table(qualified, refresh=refresh)
        states = self.state_reader.partition_states(qualified) if records is None else records
        return states if records_hold(table, states, files.EMPTY_FILES_KEY) else None
