"""A table's current metadata read straight from the catalog database and its metadata JSON.

``status``, ``gaps``, ``late`` and ``verify`` on a big lake need, per table, only its current
snapshot history (to prove the state DB's records current, ``iceberg.history``), where its data
files live and (``verify``) its current schema's columns. pyiceberg gives them, at a price paid
before any work: importing its SQL catalog and SQLAlchemy's ORM, opening the catalog
(namespace queries) and parsing each table's whole metadata into pydantic models — about half a
second on these machines. For the embedded
catalog (SQLite, the schema pyiceberg's SqlCatalog and Iceberg's JdbcCatalog share) this module
reads the ``iceberg_tables`` pointer rows with the standard library in one query and each
table's ``*.metadata.json`` with ``json``. Any other catalog, a catalog file that does not
exist, or metadata it cannot read gives None: the caller goes through pyiceberg as always.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyiceberg.table import StaticTable

    from lakemend.project.project import Project


@dataclass(frozen=True)
class SnapshotEntry:
    """The fields of a snapshot that ``iceberg.history`` reads (as pyiceberg's ``Snapshot`` names them)."""

    snapshot_id: int
    parent_snapshot_id: int | None
    summary: dict[str, str]


@dataclass(frozen=True)
class MetadataView:
    """What ``iceberg.history.records_hold`` and a listing of the day folders need of a table —
    the methods it calls on a pyiceberg ``Table`` — and the current schema's columns ``verify``
    checks against the contract, read from its current metadata file."""

    metadata_location: str
    table_location: str
    properties: dict[str, str]
    current_snapshot_id: int | None
    snapshots: dict[int, SnapshotEntry]
    columns: dict[str, object] | None = None
    """The current schema's top-level columns: name → Iceberg type as the JSON writes it (``"long"``,
    ``"decimal(18, 2)"``, a struct as an object); None if the metadata names no current schema."""

    def location(self) -> str:
        return self.table_location

    def current_snapshot(self) -> SnapshotEntry | None:
        return None if self.current_snapshot_id is None else self.snapshots.get(self.current_snapshot_id)

    def snapshot_by_id(self, snapshot_id: int) -> SnapshotEntry | None:
        return self.snapshots.get(snapshot_id)


def data_root(properties: dict[str, str], table_location: str) -> str:
    """Where a table writes its data files (``write.data.path``, else ``<location>/data``), no trailing slash."""
    root = properties.get("write.data.path") or f"{table_location.rstrip('/')}/data"
    return root.rstrip("/")


def metadata_locations(project: Project) -> dict[str, str] | None:
    """``layer.table`` → current metadata location of every table in the project's catalog, from
    one query of its SQLite database; None for another catalog (or one not created yet)."""
    from lakemend.project.project import sqlite_file

    config = project.config.catalog
    database = sqlite_file(project.catalog_uri) if config.is_sql else None
    if database is None or not database.is_file():
        return None
    try:
        con = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return None
    try:
        rows = con.execute(
            "SELECT table_namespace, table_name, metadata_location FROM iceberg_tables WHERE catalog_name = ?",
            (config.name,)).fetchall()
    except sqlite3.Error:  # not a catalog pyiceberg made (yet): let pyiceberg open it
        return None
    finally:
        con.close()
    return {f"{namespace}.{name}": location for namespace, name, location in rows if location}


def read_view(project: Project, metadata_location: str) -> MetadataView | None:
    """The table metadata at ``metadata_location`` (local or S3, plain or gzip JSON), or None if
    it cannot be read or is not what this understands (pyiceberg reads it then)."""
    from lakemend.project.storage import file_uri_to_location

    try:
        raw = file_uri_to_location(metadata_location, project.s3).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return _view(metadata_location, json.loads(raw))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _view(metadata_location: str, metadata: dict[str, Any]) -> MetadataView:
    current = metadata.get("current-snapshot-id")
    snapshots = {
        int(s["snapshot-id"]): SnapshotEntry(int(s["snapshot-id"]),
                                             None if s.get("parent-snapshot-id") is None else int(s["parent-snapshot-id"]),
                                             {str(k): str(v) for k, v in (s.get("summary") or {}).items()})
        for s in metadata.get("snapshots") or []
    }
    return MetadataView(metadata_location, str(metadata["location"]), dict(metadata.get("properties") or {}),
                        None if current is None or int(current) == -1 else int(current), snapshots,
                        _current_columns(metadata))


def _current_columns(metadata: dict[str, Any]) -> dict[str, object] | None:
    """Name → type of the current schema's top-level fields (format v2 ``schemas`` + ``current-schema-id``,
    or v1's single ``schema``)."""
    schema = metadata.get("schema")
    if "current-schema-id" in metadata:
        schema = next((s for s in metadata.get("schemas") or [] if s.get("schema-id") == metadata["current-schema-id"]), None)
    if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list):
        return None
    return {str(f["name"]): f["type"] for f in schema["fields"]}


def static_table(project: Project, view: MetadataView) -> StaticTable:
    """The table at the metadata a view was read from, for reading its manifests (pyiceberg's
    ``StaticTable``: read-only, no catalog opened)."""
    from pyiceberg.table import StaticTable

    from lakemend.iceberg.catalog import catalog_properties

    return StaticTable.from_metadata(view.metadata_location, properties=catalog_properties(project))
