"""The SQL catalog (``catalog: {type: sql}`` / ``jdbc``) without SQLAlchemy's ORM.

pyiceberg's ``SqlCatalog`` maps its two tables with SQLAlchemy's ORM, and importing it imports
the ORM: 0.11 CPU s on these machines, an eighth of a one-day backfill of a tiny table (issue 10's
start-up target). :class:`CoreSqlCatalog` runs what every command does — open the catalog, load a
table, commit to it, create tables and namespaces, list them — as SQLAlchemy Core statements on
the very same tables (``iceberg_tables``, ``iceberg_namespace_properties``, the schema pyiceberg
and Iceberg's JdbcCatalog share), with the same optimistic commit: the row moves to the new
metadata only ``WHERE metadata_location`` is still the one the commit started from.

What lakemend never does on a command's path (drop, rename and register tables, drop namespaces,
namespace properties, views) is handed to pyiceberg's own ``SqlCatalog`` on the same database,
imported on first use.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from pyiceberg.catalog import METADATA_LOCATION, URI, Catalog, MetastoreCatalog, PropertiesUpdateSummary
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NoSuchNamespaceError,
    NoSuchPropertyException,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.io import load_file_io
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.serializers import FromInputFile
from pyiceberg.table import CommitTableResponse, Table, TableProperties
from pyiceberg.table.locations import load_location_provider
from pyiceberg.table.metadata import new_table_metadata
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortOrder
from pyiceberg.typedef import EMPTY_DICT, Identifier, Properties
from pyiceberg.types import strtobool
from sqlalchemy import Column, MetaData, String, create_engine, insert, literal, or_, select, text, union, update
from sqlalchemy import Table as SqlTable
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.table.update import TableRequirement, TableUpdate
    from pyiceberg.view import View
    from pyiceberg.view.metadata import ViewVersion

TABLE_TYPE = "TABLE"
NAMESPACE_MINIMAL_PROPERTIES = {"exists": "true"}
"""What pyiceberg stores for a namespace created without properties."""

_SCHEMA = MetaData()


def _key(name: str) -> Column:
    """A column of a catalog table's primary key."""
    return Column(name, String(255), nullable=False, primary_key=True)


TABLES = SqlTable(
    "iceberg_tables", _SCHEMA, _key("catalog_name"), _key("table_namespace"), _key("table_name"),
    Column("metadata_location", String(1000), nullable=True),
    Column("previous_metadata_location", String(1000), nullable=True),
    Column("iceberg_type", String(5), nullable=True),
)
NAMESPACES = SqlTable(
    "iceberg_namespace_properties", _SCHEMA, _key("catalog_name"), _key("namespace"), _key("property_key"),
    Column("property_value", String(1000), nullable=False),
)
"""The two tables as pyiceberg's ORM classes declare them (v1: with ``iceberg_type``)."""


class CoreSqlCatalog(MetastoreCatalog):
    """An Iceberg catalog in a SQL database, interchangeable with pyiceberg's ``SqlCatalog``
    (same properties: ``uri``, ``warehouse``, ``schema_version``, ``init_catalog_tables``, …)."""

    def __init__(self, name: str, **properties: str) -> None:
        super().__init__(name, **properties)
        if not (uri := self.properties.get(URI)):
            raise NoSuchPropertyException("SQL connection URI is required")
        echo = str(self.properties.get("echo", "false")).lower()
        self.engine = create_engine(uri, echo="debug" if echo == "debug" else strtobool(echo),
                                    pool_pre_ping=strtobool(self.properties.get("pool_pre_ping", "false")))
        self._schema_version = self._init_catalog()

    # ----- set-up ---------------------------------------------------------------------------

    def _init_catalog(self) -> str:
        """The schema version of the catalog's tables, created (v1) when absent, as pyiceberg does:
        an existing v0 catalog (no ``iceberg_type``) is migrated only when ``schema_version`` is v1."""
        if not self._probe(select(literal(1)).select_from(TABLES)) or not self._probe(
                select(literal(1)).select_from(NAMESPACES)):
            if strtobool(self.properties.get("init_catalog_tables", "true")):
                _SCHEMA.create_all(self.engine)
            return "v1"
        if self._probe(text("SELECT iceberg_type FROM iceberg_tables LIMIT 0")):
            return "v1"
        if self.properties.get("schema_version", "v0") != "v1":
            return "v0"
        try:
            with self.engine.begin() as connection:
                connection.execute(text("ALTER TABLE iceberg_tables ADD COLUMN iceberg_type VARCHAR(5)"))
        except (OperationalError, ProgrammingError):
            pass
        return "v1"

    def _probe(self, statement: Any) -> bool:  # noqa: ANN401 - any SQLAlchemy statement
        try:
            with self.engine.connect() as connection:
                connection.execute(statement)
        except (OperationalError, ProgrammingError):
            return False
        return True

    @functools.cached_property
    def _pyiceberg(self) -> SqlCatalog:
        """pyiceberg's own catalog on the same database, for the operations lakemend never runs."""
        from pyiceberg.catalog.sql import SqlCatalog

        return SqlCatalog(self.name, **self.properties)

    # ----- tables ---------------------------------------------------------------------------

    def _table_row(self, namespace: str, table_name: str, metadata_location: str) -> dict[str, Any]:
        row = {"catalog_name": self.name, "table_namespace": namespace, "table_name": table_name,
               "metadata_location": metadata_location, "previous_metadata_location": None}
        if self._schema_version == "v1":
            row["iceberg_type"] = TABLE_TYPE
        return row

    def _tables_in(self, namespace: str) -> list[Any]:
        """The rows of a namespace's tables (never a view another engine keeps in the same table)."""
        where = [TABLES.c.catalog_name == self.name, TABLES.c.table_namespace == namespace]
        if self._schema_version == "v1":
            where.append(or_(TABLES.c.iceberg_type == TABLE_TYPE, TABLES.c.iceberg_type.is_(None)))
        return where

    def _where_table(self, namespace: str, table_name: str) -> list[Any]:
        return [*self._tables_in(namespace), TABLES.c.table_name == table_name]

    @staticmethod
    def _split(identifier: str | Identifier) -> tuple[str, str]:
        return Catalog.namespace_to_string(Catalog.namespace_from(identifier)), Catalog.table_name_from(identifier)

    def load_table(self, identifier: str | Identifier) -> Table:
        namespace, table_name = self._split(identifier)
        with self.engine.connect() as connection:
            location = connection.execute(
                select(TABLES.c.metadata_location).where(*self._where_table(namespace, table_name))).scalar()
        if location is None:
            raise NoSuchTableError(f"Table does not exist: {namespace}.{table_name}")
        return self._table(namespace, table_name, location)

    def _table(self, namespace: str, table_name: str, metadata_location: str) -> Table:
        if not metadata_location:
            raise NoSuchTableError(f"Table property {METADATA_LOCATION} is missing")
        io = load_file_io(properties=self.properties, location=metadata_location)
        metadata = FromInputFile.table_metadata(io.new_input(metadata_location))
        return Table(identifier=Catalog.identifier_to_tuple(namespace) + (table_name,), metadata=metadata,
                     metadata_location=metadata_location,
                     io=self._load_file_io(metadata.properties, metadata_location), catalog=self)

    def create_table(self, identifier: str | Identifier, schema: Schema | pa.Schema, location: str | None = None,
                     partition_spec: PartitionSpec = UNPARTITIONED_PARTITION_SPEC,
                     sort_order: SortOrder = UNSORTED_SORT_ORDER, properties: Properties = EMPTY_DICT) -> Table:
        format_version = int(properties.get(TableProperties.FORMAT_VERSION, TableProperties.DEFAULT_FORMAT_VERSION))
        iceberg_schema = self._convert_schema_if_needed(schema, format_version)  # type: ignore[arg-type]
        namespace_id = Catalog.namespace_from(identifier)
        if not self.namespace_exists(namespace_id):
            raise NoSuchNamespaceError(f"Namespace does not exist: {namespace_id}")
        namespace, table_name = self._split(identifier)
        location = self._resolve_table_location(location, namespace, table_name)
        metadata_location = load_location_provider(location, properties).new_table_metadata_file_location()
        metadata = new_table_metadata(location=location, schema=iceberg_schema, partition_spec=partition_spec,
                                      sort_order=sort_order, properties=properties)
        self._write_metadata(metadata, load_file_io(self.properties, metadata_location), metadata_location)
        self._insert_table(namespace, table_name, metadata_location)
        return self.load_table(identifier)

    def _insert_table(self, namespace: str, table_name: str, metadata_location: str) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(TABLES).values(**self._table_row(namespace, table_name, metadata_location)))
        except IntegrityError as exc:
            raise TableAlreadyExistsError(f"Table {namespace}.{table_name} already exists") from exc

    def commit_table(self, table: Table, requirements: tuple[TableRequirement, ...],
                     updates: tuple[TableUpdate, ...]) -> CommitTableResponse:
        """Write the new metadata file, then move the table's row to it if nobody moved it first
        (:class:`CommitFailedException` otherwise; pyiceberg's transaction retries on it)."""
        if not self.engine.dialect.supports_sane_rowcount:  # the row count is the conflict check
            return self._pyiceberg.commit_table(table, requirements, updates)
        namespace, table_name = self._split(table.name())
        try:
            current: Table | None = self.load_table(table.name())
        except NoSuchTableError:
            current = None
        staged = self._update_and_stage_table(current, table.name(), requirements, updates)
        if current is not None and staged.metadata == current.metadata:
            return CommitTableResponse(metadata=current.metadata, metadata_location=current.metadata_location)
        self._write_metadata(metadata=staged.metadata, io=staged.io, metadata_path=staged.metadata_location)
        if current is None:
            self._insert_table(namespace, table_name, staged.metadata_location)
        else:
            with self.engine.begin() as connection:
                moved = connection.execute(
                    update(TABLES)
                    .where(*self._where_table(namespace, table_name),
                           TABLES.c.metadata_location == current.metadata_location)
                    .values(metadata_location=staged.metadata_location,
                            previous_metadata_location=current.metadata_location))
                if moved.rowcount < 1:
                    raise CommitFailedException(f"Table has been updated by another process: {namespace}.{table_name}")
        return CommitTableResponse(metadata=staged.metadata, metadata_location=staged.metadata_location)

    def list_tables(self, namespace: str | Identifier) -> list[Identifier]:
        if namespace and not self.namespace_exists(namespace):
            raise NoSuchNamespaceError(f"Namespace does not exist: {namespace}")
        where = self._tables_in(Catalog.namespace_to_string(namespace))
        with self.engine.connect() as connection:
            rows = connection.execute(select(TABLES.c.table_namespace, TABLES.c.table_name).where(*where)).all()
        return [Catalog.identifier_to_tuple(row[0]) + (row[1],) for row in rows]

    # ----- namespaces -----------------------------------------------------------------------

    def namespace_exists(self, identifier: str | Identifier) -> bool:
        namespace = Catalog.namespace_to_string(Catalog.identifier_to_tuple(identifier), NoSuchNamespaceError)
        below = namespace.replace("!", "!!").replace("_", "!_").replace("%", "!%") + ".%"
        with self.engine.connect() as connection:
            for column, owner in ((TABLES.c.table_namespace, TABLES.c.catalog_name),
                                  (NAMESPACES.c.namespace, NAMESPACES.c.catalog_name)):
                found = connection.execute(select(literal(1)).where(
                    owner == self.name, or_(column == namespace, column.like(below, escape="!"))).limit(1)).first()
                if found is not None:
                    return True
        return False

    def create_namespace(self, namespace: str | Identifier, properties: Properties = EMPTY_DICT) -> None:
        if self.namespace_exists(namespace):
            raise NamespaceAlreadyExistsError(f"Namespace {namespace} already exists")
        name = Catalog.namespace_to_string(namespace, NoSuchNamespaceError)
        rows = [{"catalog_name": self.name, "namespace": name, "property_key": key, "property_value": value}
                for key, value in (properties or NAMESPACE_MINIMAL_PROPERTIES).items()]
        with self.engine.begin() as connection:
            connection.execute(insert(NAMESPACES), rows)

    def list_namespaces(self, namespace: str | Identifier = ()) -> list[Identifier]:
        if namespace and not self.namespace_exists(namespace):
            raise NoSuchNamespaceError(f"Namespace does not exist: {namespace}")
        of_tables = select(TABLES.c.table_namespace).where(TABLES.c.catalog_name == self.name)
        of_properties = select(NAMESPACES.c.namespace).where(NAMESPACES.c.catalog_name == self.name)
        if namespace:
            like = Catalog.namespace_to_string(namespace, NoSuchNamespaceError) + "%"
            of_tables = of_tables.where(TABLES.c.table_namespace.like(like))
            of_properties = of_properties.where(NAMESPACES.c.namespace.like(like))
        with self.engine.connect() as connection:
            names = connection.execute(union(of_tables, of_properties)).scalars().all()
        parent = Catalog.identifier_to_tuple(namespace)
        level = len(parent) + 1
        found = {Catalog.identifier_to_tuple(name) for name in names}
        return list({ns[:level] for ns in found if len(ns) >= level and ns[: level - 1] == parent})

    # ----- handed to pyiceberg's SqlCatalog -------------------------------------------------

    def register_table(self, identifier: str | Identifier, metadata_location: str, overwrite: bool = False) -> Table:
        self._pyiceberg.register_table(identifier, metadata_location, overwrite)
        return self.load_table(identifier)

    def drop_table(self, identifier: str | Identifier) -> None:
        self._pyiceberg.drop_table(identifier)

    def rename_table(self, from_identifier: str | Identifier, to_identifier: str | Identifier) -> Table:
        self._pyiceberg.rename_table(from_identifier, to_identifier)
        return self.load_table(to_identifier)

    def drop_namespace(self, namespace: str | Identifier) -> None:
        self._pyiceberg.drop_namespace(namespace)

    def load_namespace_properties(self, namespace: str | Identifier) -> Properties:
        return self._pyiceberg.load_namespace_properties(namespace)

    def update_namespace_properties(self, namespace: str | Identifier, removals: set[str] | None = None,
                                    updates: Properties = EMPTY_DICT) -> PropertiesUpdateSummary:
        return self._pyiceberg.update_namespace_properties(namespace, removals, updates)

    def create_view(self, identifier: str | Identifier, schema: Schema | pa.Schema, view_version: ViewVersion,
                    location: str | None = None, properties: Properties = EMPTY_DICT) -> View:
        return self._pyiceberg.create_view(identifier, schema, view_version, location, properties)

    def list_views(self, namespace: str | Identifier) -> list[Identifier]:
        return self._pyiceberg.list_views(namespace)

    def view_exists(self, identifier: str | Identifier) -> bool:
        return self._pyiceberg.view_exists(identifier)

    def register_view(self, identifier: str | Identifier, metadata_location: str) -> View:
        return self._pyiceberg.register_view(identifier, metadata_location)

    def drop_view(self, identifier: str | Identifier) -> None:
        self._pyiceberg.drop_view(identifier)

    def load_view(self, identifier: str | Identifier) -> View:
        return self._pyiceberg.load_view(identifier)

    def close(self) -> None:
        self.engine.dispose()
        if "_pyiceberg" in self.__dict__:
            self._pyiceberg.close()
