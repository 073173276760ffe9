"""Open the Iceberg catalog and create tables with lakemend's layout.

Every table lives in the namespace of its layer, is partitioned by identity on ``day`` and writes
its data files to ``<warehouse>/<layer>/<table>/day=YYYY-MM-DD/``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pyarrow as pa

from lakemend.errors import LakemendError

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

    from lakemend.project.project import Project

NAMESPACES = ("bronze", "silver", "gold", "quarantine")
# pyiceberg logs a warning per scan when the optional bodo/daft engines are missing.
logging.getLogger("pyiceberg").setLevel(logging.ERROR)


def open_catalog(project: Project) -> Catalog:
    from pyiceberg.catalog.sql import SqlCatalog

    project.warehouse.mkdir(parents=True, exist_ok=True)
    catalog = SqlCatalog(
        project.config.catalog.name,
        uri=project.catalog_uri,
        warehouse=project.warehouse.as_uri(),
    )
    existing = {ns[0] for ns in catalog.list_namespaces()}
    for namespace in NAMESPACES:
        if namespace not in existing:
            catalog.create_namespace_if_not_exists(namespace)
    return catalog


def table_location(project: Project, qualified: str) -> str:
    layer, name = qualified.split(".", 1)
    return f"{project.warehouse.as_uri()}/{layer}/{name}"


def load_table(catalog: Catalog, qualified: str) -> Table | None:
    from pyiceberg.exceptions import NoSuchTableError

    try:
        return catalog.load_table(qualified)
    except NoSuchTableError:
        return None


def create_table(catalog: Catalog, project: Project, qualified: str, schema: pa.Schema) -> Table:
    """Create a day-partitioned table whose data files live under its layer folder."""
    from pyiceberg.transforms import IdentityTransform

    if "day" not in schema.names:
        raise LakemendError(f"cannot create {qualified}: the rows have no day column", "this is a bug in lakemend")
    location = table_location(project, qualified)
    table = catalog.create_table_if_not_exists(
        qualified,
        schema=schema,
        location=location,
        properties={"write.data.path": location, "format-version": "2"},
    )
    if table.spec().is_unpartitioned():
        day_id = table.schema().find_field("day").field_id
        with table.update_spec() as spec:
            spec.add_field("day", IdentityTransform(), "day")
        table = catalog.load_table(qualified)
        assert table.spec().fields[0].source_id == day_id
    return table


def ensure_schema(table: Table, schema: pa.Schema) -> Table:
    """Add columns that new rows bring (union by name); refuse type changes loudly."""
    current = table.schema().as_arrow()
    new = [f for f in schema if f.name not in current.names]
    if new:
        with table.update_schema() as update:
            update.union_by_name(schema)
        table.refresh()
    return table


