"""The SQL catalog on SQLAlchemy Core (``iceberg.sql_catalog``) and pyiceberg's own ``SqlCatalog``
are one catalog: each sees, loads and commits on to what the other wrote, on SQLite and on
PostgreSQL; a commit that lost a race is refused
and retried, never overwriting; rows another engine keeps for
views are never taken for tables; an old (v0) catalog without ``iceberg_type`` still works."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import (
    NamespaceAlreadyExistsError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from sqlalchemy import create_engine, text

from lakemend.iceberg.sql_catalog import CoreSqlCatalog

ROWS = pa.table({"id": pa.array([1, 2], pa.int64()), "name": pa.array(["a", "b"])})


def both(url: str, warehouse: Path) -> tuple[CoreSqlCatalog, SqlCatalog]:
    props = {"uri": url, "warehouse": warehouse.as_uri()}
    core = CoreSqlCatalog("lake", **props)  # first: it creates the catalog's tables
    return core, SqlCatalog("lake", **props)


def ids(table) -> list[int]:  # noqa: ANN001
    return sorted(table.scan().to_arrow().column("id").to_pylist())


def test_each_side_sees_and_commits_on_what_the_other_wrote(state_url: str, tmp_path: Path) -> None:
    core, theirs = both(state_url, tmp_path)
    core.create_namespace("bronze")
    theirs.create_namespace("silver", {"owner": "data"})
    assert sorted(core.list_namespaces()) == sorted(theirs.list_namespaces()) == [("bronze",), ("silver",)]
    assert theirs.load_namespace_properties("bronze") == {"exists": "true"}
    with pytest.raises(NamespaceAlreadyExistsError):
        core.create_namespace("silver")
    with pytest.raises(NoSuchNamespaceError):
        core.create_table("gold.t", ROWS.schema)

    core.create_table("bronze.a", ROWS.schema).append(ROWS)
    theirs.create_table("silver.b", ROWS.schema).append(ROWS)
    with pytest.raises(TableAlreadyExistsError):
        core.create_table("silver.b", ROWS.schema)
    assert core.list_tables("bronze") == theirs.list_tables("bronze") == [("bronze", "a")]
    assert core.list_tables("silver") == [("silver", "b")]

    theirs.load_table("bronze.a").append(pa.table({"id": pa.array([3], pa.int64()), "name": ["c"]}))
    core.load_table("silver.b").append(pa.table({"id": pa.array([4], pa.int64()), "name": ["d"]}))
    assert ids(core.load_table("bronze.a")) == ids(theirs.load_table("bronze.a")) == [1, 2, 3]
    assert ids(theirs.load_table("silver.b")) == [1, 2, 4]
    assert core.load_table("bronze.a").metadata_location == theirs.load_table("bronze.a").metadata_location
    with pytest.raises(NoSuchTableError):
        core.load_table("bronze.nothing")

    # what lakemend never runs itself goes to pyiceberg's catalog on the same database
    core.rename_table("silver.b", "silver.c")
    assert ids(theirs.load_table("silver.c")) == [1, 2, 4]
    core.drop_table("silver.c")
    assert not core.table_exists("silver.c")
    core.close()
    theirs.close()


class RacedCatalog(CoreSqlCatalog):
    """Between writing its new metadata file and moving the table's row to it, another writer
    (pyiceberg's catalog, another process in real life) commits first."""

    rival: SqlCatalog | None = None

    def _write_metadata(self, metadata, io, metadata_path) -> None:  # noqa: ANN001
        super()._write_metadata(metadata, io, metadata_path)
        if self.rival is not None:
            rival, self.rival = self.rival, None
            rival.load_table("bronze.a").append(pa.table({"id": pa.array([9], pa.int64()), "name": ["z"]}))


def test_a_commit_that_lost_the_race_is_refused_then_retried_on_top(state_url: str, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """The row moves only from the metadata the commit started from: the rival's commit is never
    overwritten; pyiceberg's transaction sees CommitFailedException and retries on the new state."""
    raced = RacedCatalog("lake", uri=state_url, warehouse=tmp_path.as_uri())
    raced.create_namespace("bronze")
    raced.create_table("bronze.a", ROWS.schema).append(ROWS)
    theirs = SqlCatalog("lake", uri=state_url, warehouse=tmp_path.as_uri())
    raced.rival = theirs
    with caplog.at_level("WARNING", logger="pyiceberg"):
        raced.load_table("bronze.a").append(pa.table({"id": pa.array([5], pa.int64()), "name": ["e"]}))
    assert "Commit failed due to a concurrent update" in caplog.text
    assert ids(theirs.load_table("bronze.a")) == [1, 2, 5, 9]  # both commits, none lost
    raced.close()
    theirs.close()


def test_rows_of_views_are_not_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    core, _ = both(url, tmp_path)
    core.create_namespace("gold")
    core.create_table("gold.t", ROWS.schema)
    with create_engine(url).begin() as connection:  # as Iceberg's JdbcCatalog stores a view
        connection.execute(text("INSERT INTO iceberg_tables VALUES ('lake', 'gold', 'v', 'x.json', NULL, 'VIEW')"))
    assert core.list_tables("gold") == [("gold", "t")]
    with pytest.raises(NoSuchTableError):
        core.load_table("gold.v")


def test_an_old_catalog_without_iceberg_type_is_used_as_it_is(tmp_path: Path) -> None:
    """A v0 catalog (Iceberg's JdbcCatalog by default, older pyiceberg) keeps its schema unless
    ``schema_version: v1`` is asked for, as pyiceberg does."""
    url = f"sqlite:///{tmp_path}/c.db"
    with create_engine(url).begin() as connection:
        connection.execute(text("CREATE TABLE iceberg_tables (catalog_name VARCHAR(255) NOT NULL, "
                                "table_namespace VARCHAR(255) NOT NULL, table_name VARCHAR(255) NOT NULL, "
                                "metadata_location VARCHAR(1000), previous_metadata_location VARCHAR(1000), "
                                "PRIMARY KEY (catalog_name, table_namespace, table_name))"))
        connection.execute(text("CREATE TABLE iceberg_namespace_properties (catalog_name VARCHAR(255) NOT NULL, "
                                "namespace VARCHAR(255) NOT NULL, property_key VARCHAR(255) NOT NULL, "
                                "property_value VARCHAR(1000) NOT NULL, "
                                "PRIMARY KEY (catalog_name, namespace, property_key))"))
    core = CoreSqlCatalog("lake", uri=url, warehouse=tmp_path.as_uri())
    core.create_namespace("bronze")
    core.create_table("bronze.a", ROWS.schema).append(ROWS)
    assert ids(SqlCatalog("lake", uri=url, warehouse=tmp_path.as_uri()).load_table("bronze.a")) == [1, 2]
    CoreSqlCatalog("lake", uri=url, warehouse=tmp_path.as_uri(), schema_version="v1")
    with create_engine(url).connect() as connection:
        assert connection.execute(text("SELECT table_name, iceberg_type FROM iceberg_tables")).all() == [("a", None)]
    assert CoreSqlCatalog("lake", uri=url, warehouse=tmp_path.as_uri()).list_tables("bronze") == [("bronze", "a")]


def test_the_catalog_tables_it_creates_are_pyicebergs(tmp_path: Path) -> None:
    """Same columns, types, keys and nullability as pyiceberg's ORM declares them."""
    def columns(url: str) -> list[tuple]:
        with create_engine(url).connect() as connection:
            return [tuple(row) for table in ("iceberg_tables", "iceberg_namespace_properties")
                    for row in connection.execute(text(f"PRAGMA table_info({table})")).all()]

    CoreSqlCatalog("lake", uri=f"sqlite:///{tmp_path}/core.db", warehouse=tmp_path.as_uri())
    SqlCatalog("lake", uri=f"sqlite:///{tmp_path}/theirs.db", warehouse=tmp_path.as_uri())
    assert columns(f"sqlite:///{tmp_path}/core.db") == columns(f"sqlite:///{tmp_path}/theirs.db")
