"""Open the Iceberg catalog, create tables with lakemend's layout, evolve their schemas as a plan.

Every table lives in the namespace of its layer, is partitioned by identity on ``day`` and writes
its data files to ``<warehouse>/<layer>/<table>/day=YYYY-MM-DD/``.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakemend.errors import LakemendError, SchemaChangeRefused

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table
    from pyiceberg.types import IcebergType

    from lakemend.project.project import Project

NAMESPACES = ("bronze", "silver", "gold", "quarantine")
# pyiceberg logs a warning per scan when the optional bodo/daft engines are missing.
logging.getLogger("pyiceberg").setLevel(logging.ERROR)


def catalog_properties(project: Project) -> dict[str, str]:
    """The pyiceberg properties of the project's catalog (``catalog:``, ``warehouse:``, ``aws:``).

    No secret is ever among them: S3 and Glue credentials come from the standard AWS chain.
    """
    from lakemend.project.storage import is_s3

    config = project.config
    props = {"warehouse": project.warehouse_uri}
    if is_s3(config.warehouse):
        props.update(project.s3.pyiceberg_properties())
    if config.catalog.is_sql:
        props["uri"] = project.catalog_uri
    elif config.catalog.type == "glue":
        props["glue.region"] = config.aws.region
        if config.aws.endpoint_url:
            props["glue.endpoint"] = config.aws.endpoint_url
    else:  # rest
        assert config.catalog.uri is not None
        props["uri"] = config.catalog.uri
    props.update(config.catalog.properties)
    return props


def open_catalog(project: Project, *, read_only: bool = False) -> Catalog:
    """The project's catalog, with lakemend's namespaces (one per layer) created when missing.

    ``sql`` / ``jdbc``: the tables of pyiceberg's SqlCatalog in the database Spark's JdbcCatalog
    shares (same catalog name on both sides), opened without SQLAlchemy's ORM
    (``iceberg.sql_catalog``); ``glue``: the Glue Data Catalog of ``aws.region``; ``rest``: an
    Iceberg REST catalog. ``read_only`` (dry runs): nothing is created — no warehouse folder, no
    namespace, and a SQLite catalog file that does not exist yet is stood in for by an empty one
    in memory.
    """
    from lakemend.project.project import sqlite_file

    config = project.config.catalog
    warehouse = project.warehouse
    if isinstance(warehouse, Path) and not read_only:
        warehouse.mkdir(parents=True, exist_ok=True)
    props = catalog_properties(project)
    database = sqlite_file(props["uri"]) if config.is_sql else None
    if database is not None and not database.exists():
        if read_only:
            props["uri"] = "sqlite:///:memory:"
        else:
            database.parent.mkdir(parents=True, exist_ok=True)
    if config.is_sql:
        from lakemend.iceberg.sql_catalog import CoreSqlCatalog

        catalog: Catalog = CoreSqlCatalog(config.name, **props)
    elif config.type == "glue":
        from pyiceberg.catalog.glue import GlueCatalog

        catalog = GlueCatalog(config.name, **props)
    else:
        from pyiceberg.catalog.rest import RestCatalog

        catalog = RestCatalog(config.name, **props)
    if read_only:
        return catalog
    existing = {ns[0] for ns in catalog.list_namespaces()}
    for namespace in NAMESPACES:
        if namespace not in existing:
            catalog.create_namespace_if_not_exists(namespace)
    return catalog


def table_location(project: Project, qualified: str) -> str:
    """``<warehouse>/<layer>/<table>`` on every catalog (Glue's own default would be ``<db>.db/<table>``)."""
    layer, name = qualified.split(".", 1)
    return f"{project.warehouse_uri}/{layer}/{name}"


def load_table(catalog: Catalog, qualified: str) -> Table | None:
    from pyiceberg.exceptions import NoSuchTableError

    try:
        return catalog.load_table(qualified)
    except NoSuchTableError:
        return None


def create_table(catalog: Catalog, project: Project, qualified: str, schema: pa.Schema) -> Table:
    """Create a day-partitioned table whose data files live under its layer folder.

    It keeps a capped metadata history (``iceberg.maintenance.MAINTENANCE_PROPERTIES``: the last
    20 metadata files, older ones deleted by the commit that drops them from the log).
    """
    from pyiceberg.transforms import IdentityTransform

    from lakemend.iceberg.maintenance import MAINTENANCE_PROPERTIES

    if "day" not in schema.names:
        raise LakemendError(f"cannot create {qualified}: the rows have no day column", "this is a bug in lakemend")
    location = table_location(project, qualified)
    table = catalog.create_table_if_not_exists(
        qualified,
        schema=schema,
        location=location,
        properties={"write.data.path": location, "format-version": "2", **MAINTENANCE_PROPERTIES},
    )
    if table.spec().is_unpartitioned():
        day_id = table.schema().find_field("day").field_id
        with table.update_spec() as spec:
            spec.add_field("day", IdentityTransform(), "day")
        table = catalog.load_table(qualified)
        assert table.spec().fields[0].source_id == day_id
    return table


# ----- schema evolution as a plan --------------------------------------------------------------------
#
# A build's rows and its table's schema are compared column by column (top level, by name, in
# Iceberg types). What the rows add, and Iceberg's safe widenings (int → long, float → double, a
# decimal's precision), are evolved without asking; a column the rows no longer carry (a removal,
# or the old half of a rename) is removed only with --allow-schema-change; any other type change
# is refused even then, because Iceberg cannot reinterpret the files already written. Rows whose
# type is narrower than the column's (an int into a long column) need no change: they are cast.

_SAFE_WIDENINGS = "int → long, float → double, decimal(P,S) → decimal(P',S) with P' > P"


@dataclass(frozen=True)
class ColumnChange:
    """One column of a schema change; types in Iceberg's notation (``long``, ``decimal(12, 2)``)."""

    name: str
    kind: str  # added | removed | widened | changed | untyped
    old: str | None = None  # the table's type
    new: str | None = None  # the rows' type

    def describe(self) -> str:
        if self.kind == "added":
            return f"added {self.name} ({self.new})"
        if self.kind == "removed":
            return f"removed {self.name} ({self.old})"
        if self.kind == "untyped":
            return f"{self.name} has no type (a bare NULL)"
        return f"{self.kind} {self.name} ({self.old} → {self.new})"


@dataclass(frozen=True)
class SchemaChange:
    """How one build's columns differ from its table's schema (empty: they match)."""

    table: str
    columns: tuple[ColumnChange, ...] = ()

    def _of(self, kind: str) -> tuple[ColumnChange, ...]:
        return tuple(c for c in self.columns if c.kind == kind)

    @property
    def added(self) -> tuple[ColumnChange, ...]:
        return self._of("added")

    @property
    def removed(self) -> tuple[ColumnChange, ...]:
        return self._of("removed")

    @property
    def widened(self) -> tuple[ColumnChange, ...]:
        return self._of("widened")

    @property
    def changed(self) -> tuple[ColumnChange, ...]:
        """Type changes Iceberg cannot do in place (and untyped columns): always refused."""
        return self._of("changed") + self._of("untyped")

    @property
    def empty(self) -> bool:
        return not self.columns

    @property
    def needs_flag(self) -> bool:
        """Whether applying it needs ``--allow-schema-change`` (a column leaves the schema)."""
        return bool(self.removed)

    def describe(self) -> str:
        order = {"changed": 0, "untyped": 0, "removed": 1, "added": 2, "widened": 3}
        return "; ".join(c.describe() for c in sorted(self.columns, key=lambda c: order[c.kind]))

    def refusal(self, allow: bool) -> SchemaChangeRefused | None:
        """The error a write of these rows must stop with, or None when the change may be applied."""
        if self.changed:
            what = ", ".join(f"{c.name} ({c.old} → {c.new})" if c.kind == "changed" else f"{c.name} (a bare NULL: no type)"
                             for c in self.changed)
            return SchemaChangeRefused(
                f"{self.table}: the build changes the type of {what}, which Iceberg cannot do to the files "
                f"already written (safe widenings only: {_SAFE_WIDENINGS}); nothing was written",
                "keep the column's type (CAST it back in the model), or write the new type under a new column "
                "name with --allow-schema-change and rebuild every day of the table",
            )
        if self.removed and not allow:
            return SchemaChangeRefused(
                f"{self.table}: the build's columns differ from the table's ({self.describe()}); removing or "
                f"renaming a column needs --allow-schema-change; nothing was written",
                "put the column back in the model, or pass --allow-schema-change to evolve the table's schema "
                "(the removed column's values stay only in older snapshots; days not rebuilt read NULL for new "
                "columns: rebuild every day of the table)",
            )
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "added": [{"column": c.name, "type": c.new} for c in self.added],
            "removed": [{"column": c.name, "type": c.old} for c in self.removed],
            "widened": [{"column": c.name, "from": c.old, "to": c.new} for c in self.widened],
            "changed": [{"column": c.name, "from": c.old, "to": c.new} for c in self.changed],
        }


def schema_diff(qualified: str, current: Schema, rows: pa.Schema) -> SchemaChange:
    """How rows with the ``rows`` schema differ from a table whose schema is ``current``."""
    import pyarrow as pa

    existing = {f.name: f for f in current.fields}
    changes: list[ColumnChange] = []
    for field in rows:
        old = existing.get(field.name)
        if pa.types.is_null(field.type):  # a bare NULL column: fits a typed column, cannot create one
            if old is None:
                changes.append(ColumnChange(field.name, "untyped", None, "null"))
            continue
        new_type = _iceberg_type(field)
        if old is None:
            changes.append(ColumnChange(field.name, "added", None, str(new_type)))
            continue
        relation = _relation(old.field_type, new_type)
        if relation in ("widen", "incompatible"):
            kind = "widened" if relation == "widen" else "changed"
            changes.append(ColumnChange(field.name, kind, str(old.field_type), str(new_type)))
    for name, old in existing.items():
        if name not in rows.names:
            changes.append(ColumnChange(name, "removed", str(old.field_type), None))
    return SchemaChange(qualified, tuple(changes))


def evolve_schema(table: Table, qualified: str, rows: pa.Schema, *, allow: bool = False) -> SchemaChange:
    """Make the table's schema fit rows with the ``rows`` schema, or refuse (see :func:`schema_diff`).

    Added columns and safe widenings go through Iceberg schema evolution (``union_by_name``; an
    added column is placed after its predecessor in the rows); removed columns are dropped from
    the schema only with ``allow`` (their data stays in older snapshots); other type changes, and
    removing the partition column, raise :class:`SchemaChangeRefused`. One schema commit; a
    concurrent writer's commit is reloaded and the difference computed again. Returns the change
    applied (empty when the schema already fits).
    """
    import pyarrow as pa
    from pyiceberg.exceptions import CommitFailedException

    for attempt in range(8):
        table.refresh()
        change = schema_diff(qualified, table.schema(), rows)
        if change.empty:
            return change
        sources = {table.schema().find_column_name(f.source_id) for f in table.spec().fields}
        kept = [c.name for c in change.removed if c.name in sources]
        if kept:
            raise SchemaChangeRefused(f"{qualified}: the build drops {', '.join(kept)}, the table's partition column",
                                      "every row needs its day: put the column back in the model")
        refusal = change.refusal(allow)
        if refusal is not None:
            raise refusal
        grow = pa.schema([rows.field(c.name).with_nullable(True) for c in change.added + change.widened])
        try:
            with table.update_schema() as update:
                if len(grow):
                    update.union_by_name(grow)
                for column in change.removed:
                    update.delete_column(column.name)
                for column in change.added:  # where the model puts it, not at the end
                    index = rows.names.index(column.name)
                    if index == 0:
                        update.move_first(column.name)
                    else:
                        update.move_after(column.name, rows.names[index - 1])
        except CommitFailedException:
            if attempt == 7:
                raise
            time.sleep(random.uniform(0.05, 0.2))
            continue
        return change
    raise AssertionError("unreachable")


def _iceberg_type(field: pa.Field) -> IcebergType:
    import pyarrow as pa
    from pyiceberg.io.pyarrow import _ConvertToIcebergWithoutIDs, visit_pyarrow

    converted = visit_pyarrow(pa.schema([field]), _ConvertToIcebergWithoutIDs(downcast_ns_timestamp_to_us=True))
    return converted.fields[0].field_type


_RANK = {"same": 0, "fits": 1, "widen": 2, "incompatible": 3}


def _worst(relations: list[str]) -> str:
    return max(relations, key=_RANK.__getitem__, default="same")


def _relation(old: IcebergType, new: IcebergType) -> str:
    """``same``; ``fits`` (new values cast into the old type losslessly); ``widen`` (Iceberg can
    promote the column, or add nested fields); ``incompatible``."""
    from pyiceberg.types import (
        DecimalType,
        DoubleType,
        FloatType,
        IntegerType,
        ListType,
        LongType,
        MapType,
        StructType,
    )

    if isinstance(old, StructType) and isinstance(new, StructType):
        fields = {f.name: f for f in new.fields}
        if any(f.name not in fields for f in old.fields):
            return "incompatible"  # a nested field removed: refused like a type change
        relations = [_relation(f.field_type, fields[f.name].field_type) for f in old.fields]
        if len(fields) > len(old.fields):
            relations.append("widen")
        return _worst(relations)
    if isinstance(old, ListType) and isinstance(new, ListType):
        return _relation(old.element_type, new.element_type)
    if isinstance(old, MapType) and isinstance(new, MapType):
        return _worst([_relation(old.key_type, new.key_type), _relation(old.value_type, new.value_type)])
    if old == new:
        return "same"
    pairs = ((IntegerType, LongType), (FloatType, DoubleType))
    for narrow, wide in pairs:
        if isinstance(old, narrow) and isinstance(new, wide):
            return "widen"
        if isinstance(old, wide) and isinstance(new, narrow):
            return "fits"
    if isinstance(old, DecimalType) and isinstance(new, DecimalType) and old.scale == new.scale:
        return "widen" if new.precision > old.precision else "fits"
    return "incompatible"


