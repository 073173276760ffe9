"""The state DB schema as it was before Alembic: revision 0001, frozen.

Never edit these tables: a change is a new revision under ``versions/``. Revision 0001 creates
exactly this; a state DB made before Alembic (its tables there, no ``alembic_version``) is brought
to it by :func:`adopt` and stamped 0001, so baseline == what ``create_all`` made until then.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
)
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateColumn


def baseline_metadata() -> MetaData:
    """A fresh ``MetaData`` holding the eleven tables of revision 0001."""
    md = MetaData()
    Table("runs", md,
          Column("run_id", String(64), primary_key=True),
          Column("command", String(64), nullable=False),
          Column("args", JSON, nullable=False),
          Column("reason", Text),
          Column("user", String(128)),
          Column("host", String(255)),
          Column("status", String(16), nullable=False),
          Column("started_at", DateTime, nullable=False),
          Column("ended_at", DateTime),
          Column("error", Text),
          Column("pid", Integer))
    Table("jobs", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("run_id", String(64), nullable=False, index=True),
          Column("command", String(64), nullable=False),
          Column("layer", String(16), nullable=False),
          Column("table_name", String(128), nullable=False, index=True),
          Column("day", Date, nullable=False),
          Column("reason", Text),
          Column("user", String(128)),
          Column("host", String(255)),
          Column("status", String(16), nullable=False),
          Column("started_at", DateTime, nullable=False),
          Column("ended_at", DateTime),
          Column("rows_read", BigInteger),
          Column("rows_written", BigInteger),
          Column("rows_quarantined", BigInteger),
          Column("rows_deduplicated", BigInteger),
          Column("snapshot_before", BigInteger),
          Column("snapshot_after", BigInteger),
          Column("input_key", String(64)),
          Column("error", Text),
          Column("pid", Integer))
    Table("partitions", md,
          Column("table_name", String(128), primary_key=True),
          Column("day", Date, primary_key=True),
          Column("input_key", String(64), nullable=False),
          Column("files_key", String(64), nullable=False),
          Column("snapshot_id", BigInteger),
          Column("run_id", String(64), nullable=False),
          Column("rows", BigInteger),
          Column("built_at", DateTime, nullable=False))
    Table("source_files", md,
          Column("table_name", String(128), primary_key=True),
          Column("day", Date, primary_key=True),
          Column("path", String(1024), primary_key=True),
          Column("size", BigInteger, nullable=False),
          Column("mtime", String(64), nullable=False),
          Column("sha256", String(64), nullable=False),
          Column("run_id", String(64), nullable=False),
          Column("recorded_at", DateTime, nullable=False))
    Table("leases", md,
          Column("table_name", String(128), primary_key=True),
          Column("day", Date, primary_key=True),
          Column("run_id", String(64), nullable=False),
          Column("host", String(255), nullable=False),
          Column("pid", Integer, nullable=False),
          Column("acquired_at", DateTime, nullable=False),
          Column("expires_at", DateTime, nullable=False))
    Table("pauses", md,
          Column("table_name", String(128), primary_key=True),
          Column("reason", Text, nullable=False),
          Column("user", String(128)),
          Column("since", DateTime, nullable=False))
    Table("metrics", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("name", String(64), nullable=False, index=True),
          Column("value", Float, nullable=False),
          Column("layer", String(16)),
          Column("table_name", String(128)),
          Column("source", String(128)),
          Column("run_id", String(64)),
          Column("at", DateTime, nullable=False, index=True))
    Table("partition_marks", md,
          Column("table_name", String(128), primary_key=True),
          Column("day", Date, primary_key=True),
          Column("mark", String(16), nullable=False),
          Column("reason", Text),
          Column("run_id", String(64)),
          Column("at", DateTime, nullable=False))
    Table("dq_results", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("check_run", String(64), nullable=False, index=True),
          Column("run_at", DateTime, nullable=False, index=True),
          Column("table_name", String(128), nullable=False, index=True),
          Column("day", Date, nullable=False),
          Column("check_name", String(255), nullable=False),
          Column("observed", Text),
          Column("value", Float),
          Column("threshold", Text, nullable=False),
          Column("passed", Boolean, nullable=False),
          Column("detail", Text))
    Table("incidents", md,
          Column("id", String(16), primary_key=True),
          Column("title", Text, nullable=False),
          Column("severity", String(8), nullable=False),
          Column("status", String(8), nullable=False),
          Column("opened_at", DateTime, nullable=False),
          Column("closed_at", DateTime),
          Column("opened_by", String(128)),
          Column("closed_by", String(128)),
          Column("summary", Text))
    Table("incident_notes", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("incident_id", String(16), nullable=False, index=True),
          Column("at", DateTime, nullable=False),
          Column("user", String(128)),
          Column("text", Text, nullable=False))
    return md


def is_legacy(conn: Connection) -> bool:
    """Whether the database holds lakemend's tables without Alembic's version table."""
    names = set(inspect(conn).get_table_names())
    return "alembic_version" not in names and bool(names & set(baseline_metadata().tables))


def adopt(conn: Connection) -> None:
    """Bring a pre-Alembic state DB to revision 0001 without losing a row: add the tables it lacks
    (older lakemend versions made fewer) and the nullable columns it lacks (``pid``), as
    ``create_all`` and ``_add_missing_columns`` did on every open before Alembic."""
    md = baseline_metadata()
    md.create_all(conn, checkfirst=True)
    inspector = inspect(conn)
    for table in md.sorted_tables:
        existing = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in existing and column.nullable:
                ddl = CreateColumn(column).compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {conn.dialect.identifier_preparer.format_table(table)} ADD COLUMN {ddl}")
