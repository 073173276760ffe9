"""The engine boundary: what lakemend asks of the engine that runs its SQL.

lakemend's build steps (``lakemend.build``) compose SQL in one *canonical dialect* — DuckDB's —
and hand it to an engine session together with the data it needs. An engine is anything that
can, for one table over one or more days:

- take input rows in (``register`` an Arrow table, or ``parquet_relation`` over published
  data files so the engine streams only the columns a model reads);
- run the model SQL and the generated projections on top of it — masking, dedup, row rules,
  contract checks (``execute`` / ``scalar``), transpiling from the canonical dialect to its own
  with sqlglot when it has another (``dialect``);
- hand back rows, quarantine rows and check figures as Arrow tables (``arrow``) in the types
  pyiceberg writes (microsecond timestamps, plain strings).

Who writes the Iceberg table is the engine's ``writer``: ``None`` (DuckDB) means lakemend writes
the data files itself with pyiceberg and publishes them (``lakemend.iceberg.publish``); an engine
with a :class:`Writer` (Spark) writes them, and lakemend drives its write-audit-publish through
it — a stage branch, the audit, ``fast_forward`` of main, the restore-point tag — and a whole-table
rollback moves main through it (``Writer.move_main``: Iceberg's procedures). Either way
nothing unaudited is ever visible on main. Landing files are always parsed by the
:data:`lakemend.engines.PARSER` engine, so bronze rows do not depend on the engine.

The job lifecycle (``lakemend.ops``) never talks to an engine library directly: it opens the
project's engine with :func:`lakemend.engines.open_engine` (``engine:`` in lakemend.yaml) and
passes it to ``lakemend.build``. Adding an engine (Spark next) is one new module here with a
class satisfying :class:`Engine`, registered in ``lakemend.engines.ENGINES``.

A statement the engine rejects raises :class:`lakemend.errors.SqlError` with the engine's
first message line, never the engine library's own exception type.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

CANONICAL_DIALECT = "duckdb"


class Session(Protocol):
    """One working session of an engine: a scope for registered inputs and temporary tables.

    Sessions are cheap to open and are closed after each build (use them as context managers).
    Every ``execute`` fully drains its result before returning.
    """

    dialect: str

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement (canonical dialect) and return all its rows."""

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """The first column of the first row, or None."""

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """The result as an Arrow table in the types Iceberg accepts."""

    def register(self, name: str, data: pa.Table) -> None:
        """Expose an Arrow table to SQL under ``name``."""

    def unregister(self, name: str) -> None:
        """Drop a name bound by :meth:`register` or :meth:`materialize` (nothing if unbound)."""

    def materialize(self, name: str, query: str) -> pa.Table | None:
        """Run ``query`` once and keep its rows as the temporary table ``name`` (a plain
        identifier) for the statements that follow, until :meth:`unregister`.

        An engine whose results live in this process keeps them as an Arrow table and returns it
        (DuckDB): the caller may take rows from it without the engine copying them again. An
        engine that keeps them itself returns None (Spark: a persisted view on the cluster).
        """

    def parquet_relation(self, paths: Sequence[str]) -> str:
        """A FROM-clause relation reading these local Parquet files, streaming only used columns."""

    def lock_down(self) -> None:
        """Make the session read-only towards the outside world, for good (``lakemend query``).

        Called after the inputs are registered: what is registered stays readable, but from
        then on no statement may reach anything else — no file, URL or directory (reading,
        writing, globbing), no other database (attach), no extension (install, load, autoload),
        and no setting may be changed back. A statement that tries raises :class:`SqlError`.
        Irreversible: there is no unlock; open a new session instead.
        """

    def close(self) -> None:
        """Free the session's memory; the session is unusable afterwards."""

    def __enter__(self) -> Session: ...

    def __exit__(self, *exc: object) -> None: ...


class ThreadSessions:
    """One engine session per thread, opened on the thread's first :meth:`get` and kept for its next
    items of work; :meth:`close` closes them all (from the thread that made this). A DuckDB session
    costs ~15 ms to open and ~4 to close: ``verify`` of a year of small days spent three quarters of
    its time opening and closing one session per day."""

    def __init__(self, engine: Engine, *, side_by_side: int = 1) -> None:
        """``side_by_side``: how many of these sessions work at once (their share of the cores)."""
        self.engine, self.side_by_side = engine, side_by_side
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[Session] = []

    def current(self) -> Session | None:
        """This thread's session if it has one (none is opened)."""
        return getattr(self._local, "con", None)

    def get(self) -> Session:
        """This thread's session."""
        con = self.current()
        if con is None:
            con = self.engine.session(side_by_side=self.side_by_side)
            with self._lock:
                self._sessions.append(con)
            self._local.con = con
        return con

    def discard(self) -> None:
        """Close this thread's session (after a failure that may have left it unusable): its next
        :meth:`get` opens a new one."""
        con = self.current()
        if con is not None:
            self._local.con = None
            with self._lock:
                self._sessions.remove(con)
            con.close()

    def interrupt(self) -> None:
        """Stop the statements the sessions are running (from another thread: Ctrl-C)."""
        with self._lock:
            sessions = list(self._sessions)
        interrupt_all(sessions)

    def close(self) -> None:
        """Close every session (each one, even when another fails to close; the first failure is raised)."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        failed: BaseException | None = None
        for con in sessions:
            try:
                con.close()
            except BaseException as exc:  # noqa: BLE001 - the others are closed first
                failed = failed or exc
        if failed is not None:
            raise failed

    def __enter__(self) -> ThreadSessions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def interrupt_all(sessions: Sequence[Session]) -> None:
    """Stop the statements these sessions are running (from another thread), on the engines that
    can (DuckDB's ``Connection.interrupt``: the statement raises SqlError in its thread)."""
    for session in sessions:
        interrupt = getattr(session, "interrupt", None)
        if interrupt is not None:
            interrupt()


class Writer(Protocol):
    """An engine's own Iceberg writer, on the project's catalog (see the module docstring)."""

    catalog: str
    """The catalog name the engine knows the project's catalog by (pyiceberg's name too)."""

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        """One statement in the engine's own dialect with its Iceberg extensions (branches, tags,
        procedures); a refusal raises :class:`lakemend.errors.SqlError` with its first line."""

    def identifier(self, qualified: str, ref: str | None = None) -> str:
        """``layer.table`` (on branch ``ref``) as the engine's quoted identifier."""

    def overwrite_day(self, qualified: str, branch: str, rows: pa.Table, day: dt.date, properties: dict[str, str]) -> None:
        """Replace every row of ``day`` on ``branch`` by ``rows`` in one commit with these snapshot properties."""

    def move_main(self, qualified: str, snapshot_id: int, *, ancestor: bool) -> None:
        """Point main of ``layer.table`` at an existing snapshot, writing no data file (whole-table
        rollback): Iceberg's ``rollback_to_snapshot`` when it is an ``ancestor`` of main, else
        ``set_current_snapshot``. A refusal raises :class:`lakemend.errors.SqlError`."""


class Engine(Protocol):
    """An engine lakemend can build tables with (see the module docstring for the contract)."""

    name: str
    dialect: str
    writer: Writer | None
    parallel_sessions: bool
    """Whether sessions working side by side each run on their own share of the cores (DuckDB),
    so that one read split over several sessions uses more cores; not where every session
    shares one pool of executors (Spark)."""

    def session(self, *, side_by_side: int = 1) -> Session:
        """A new, empty session working in UTC. ``side_by_side``: how many sessions of this
        process work at once (a batch's build threads); an engine with its own thread pool per
        session gives each its share of the cores instead of all of them."""
