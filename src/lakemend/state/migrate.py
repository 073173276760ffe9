"""Create and upgrade the state DB schema with Alembic, on SQLite and PostgreSQL alike.

Every command opens the state DB, so :func:`upgrade` is cheap when there is nothing to do: two
small queries (is there an ``alembic_version`` table, which revision does it hold) and no Alembic
import. A new database is made at the head revision in one step, also without Alembic (its
cookbook's "create_all, then stamp head"): the tables of the model the queries use, then
Alembic's version table holding :data:`HEAD` (importing Alembic alone costs 0.17 CPU s; the first
``status`` of a new project went from 0.67 to 0.59 CPU s). A test keeps the revisions equal to
the model.
Only a database that is older or made before Alembic takes the slow path:

- one writer at a time (a new database too): on PostgreSQL a transaction-scoped advisory lock, on SQLite a
  ``BEGIN IMMEDIATE`` transaction on a connection of its own; the revision is read again under the
  lock, so two processes opening a fresh or old DB at once migrate it once;
- a state DB made before Alembic (lakemend's tables, no ``alembic_version``) is adopted: brought
  to the baseline (missing tables and nullable columns added, nothing dropped) and stamped ``0001``;
- then ``alembic upgrade head``, in the same transaction (both databases have transactional DDL:
  a failed migration leaves the DB as it was).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, create_engine, event, insert, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from lakemend.errors import LakemendError
from lakemend.state.guard import describe_url, guard
from lakemend.state.revision import HEAD  # the newest revision under migrations/versions

BASELINE = "0001"  # the schema of state DBs made before Alembic
MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x1A4E3E4D  # PostgreSQL advisory lock id of lakemend's schema migrations


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at (None: no ``alembic_version`` table or row)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


_VERSIONS = Table("alembic_version", MetaData(), Column("version_num", String(32), nullable=False),
                  PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))
"""Alembic's version table, as ``alembic stamp`` creates it."""


def upgrade(engine: Engine, model: MetaData, sqlite_connect: Any = None) -> None:
    """Bring the state DB behind ``engine`` to :data:`HEAD` (see the module docstring); a new
    database is created from ``model``, the tables at :data:`HEAD`.

    ``sqlite_connect`` is the engine's connect-event hook (pragmas), reused by the migration
    connection of a SQLite DB."""
    with engine.connect() as conn:
        if current_revision(conn) == HEAD:
            return
    with _locked(engine, sqlite_connect) as conn:
        _upgrade_locked(conn, engine, model)


def _upgrade_locked(conn: Connection, engine: Engine, model: MetaData) -> None:
    from lakemend.state.migrations.baseline import adopt, is_legacy

    revision = current_revision(conn)
    if revision == HEAD:
        return  # another process migrated it while we waited for the lock
    if revision is None and not set(inspect(conn).get_table_names()) & set(model.tables):
        model.create_all(conn)  # a new database: none of lakemend's tables yet
        _VERSIONS.create(conn, checkfirst=True)  # Alembic's downgrade to base leaves it, empty
        conn.execute(insert(_VERSIONS).values(version_num=HEAD))
        return
    config = _config(conn)
    if revision is None and is_legacy(conn):
        adopt(conn)
        _alembic().stamp(config, BASELINE)
        revision = BASELINE
    if revision is not None and revision not in _known():
        raise LakemendError(
            f"state DB {describe_url(engine)} is at schema revision {revision}, which this lakemend does not know",
            "a newer lakemend migrated it: upgrade lakemend on this host (every host sharing a state DB needs "
            "the same or a newer version)")
    _alembic().upgrade(config, "head")


def _alembic() -> Any:
    from alembic import command

    return command


def _config(conn: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = conn
    return config


def _known() -> set[str]:
    from alembic.script import ScriptDirectory

    config = _config(None)  # type: ignore[arg-type]
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


@contextmanager
def _locked(engine: Engine, sqlite_connect: Any) -> Iterator[Connection]:
    """A connection in a transaction that no other lakemend migration runs beside; committed at
    the end of the block, rolled back on an error."""
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        with engine.begin() as conn:  # a dry run's empty ledger: no other process can see it
            yield conn
        return
    if engine.dialect.name == "sqlite":
        # pysqlite begins transactions itself, late and never for DDL: hand BEGIN to SQLite
        # (IMMEDIATE takes the write lock now; a second process waits on busy_timeout).
        own = guard(create_engine(engine.url, poolclass=NullPool))

        @event.listens_for(own, "connect")
        def _connect(dbapi_connection: Any, record: Any) -> None:
            if sqlite_connect is not None:
                sqlite_connect(dbapi_connection, record)
            dbapi_connection.isolation_level = None

        @event.listens_for(own, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        try:
            with own.begin() as conn:
                yield conn
        finally:
            own.dispose()
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        yield conn
