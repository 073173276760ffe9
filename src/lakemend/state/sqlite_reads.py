"""What ``status``, ``gaps`` and ``late`` read of a SQLite state DB, through the standard library.

Those commands only read the state DB, and on a large lake they are over within a second, of which
importing SQLAlchemy (which :class:`~lakemend.state.store.StateStore` is written in) would take
0.12–0.15 s. :func:`open_reads` gives them a :class:`SqliteReads` instead, with the same read
methods and the same results, when opening a store would do nothing else:

- the state DB is a SQLite file that exists (other URLs, in-memory and ``file:`` URIs, URLs with
  query options: the store);
- it is at the head revision (an older or newer one: the store migrates or refuses it);
- no run or job is ``running`` and no lease is held (the store first closes those whose process
  is gone, :meth:`~lakemend.state.store.StateStore.close_interrupted`).

Otherwise — and once the command has opened the store anyway — the store answers
(``Lake.state_reader``). A test fills a state DB through the store and checks that both give
equal answers to every method, and that the column lists here are the store's tables' columns.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any, Protocol

from lakemend.errors import LakemendError
from lakemend.project.sources import Fingerprint
from lakemend.state.revision import HEAD

BUSY_TIMEOUT_SECONDS = 30
"""How long a state DB connection waits for another process's write (the store's and this reader's)."""

PARTITION_COLUMNS = ("table_name", "day", "input_key", "files_key", "snapshot_id", "run_id", "rows", "built_at",
                     "files")
MARK_COLUMNS = ("table_name", "day", "mark", "reason", "run_id", "at")
PAUSE_COLUMNS = ("table_name", "reason", "user", "since")
_DATES = frozenset({"day"})
_TIMES = frozenset({"built_at", "at", "since"})

_OPEN: list[sqlite3.Connection] = []


class StateReader(Protocol):
    """The reads the on-call look commands make; :class:`StateStore` and :class:`SqliteReads` both have them."""

    def partition_states(self, table: str) -> dict[dt.date, dict[str, Any]]: ...
    def fingerprints_by_day(self, table: str) -> dict[dt.date, list[Fingerprint]]: ...
    def fingerprints(self, table: str, day: dt.date) -> list[Fingerprint]: ...
    def marks(self, table: str | None = None) -> dict[tuple[str, dt.date], dict[str, Any]]: ...
    def failed_days(self, table: str) -> set[dt.date]: ...
    def pauses(self) -> dict[str, dict[str, Any]]: ...


def split_files(text: str | None) -> tuple[str, ...] | None:
    """``partitions.files`` (the day's data file paths, one per line) as a tuple; None: not recorded."""
    if text is None:
        return None
    return tuple(text.split("\n")) if text else ()


def open_reads(database: Path) -> SqliteReads | None:
    """A reader of the SQLite state DB file ``database``, or None where a store must open it (see the
    module docstring; an error while checking is the store's to report, in its words)."""
    if not database.is_file():
        return None
    try:
        connection = sqlite3.connect(database, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
    except sqlite3.Error:
        return None
    try:
        ready = _needs_nothing(connection)
    except sqlite3.Error:
        ready = False
    if not ready:
        connection.close()
        return None
    _OPEN.append(connection)
    return SqliteReads(database, connection)


def _needs_nothing(connection: sqlite3.Connection) -> bool:
    """Whether opening a store on this database would neither migrate it nor close anything."""
    if connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone() \
            is None:
        return False
    if connection.execute("SELECT version_num FROM alembic_version").fetchone() != (HEAD,):
        return False
    busy = ("SELECT 1 FROM runs WHERE status = 'running' UNION ALL SELECT 1 FROM jobs WHERE status = 'running' "
            "UNION ALL SELECT 1 FROM leases LIMIT 1")
    return connection.execute(busy).fetchone() is None


def close_open_reads() -> None:
    """Close every reader's connection (SQLite folds its write-ahead log back when the last one
    closes): what ``store.close_open_stores`` is to the stores, for a process that leaves without
    Python's teardown."""
    while _OPEN:
        _OPEN.pop().close()


class SqliteReads:
    """The state DB's read methods the look commands use, on one ``sqlite3`` connection."""

    def __init__(self, database: Path, connection: sqlite3.Connection) -> None:
        self.database = database
        self._connection = connection

    def partition_states(self, table: str) -> dict[dt.date, dict[str, Any]]:
        states = {}
        for state in self._rows("partitions", PARTITION_COLUMNS, "table_name = ?", (table,)):
            state["files"] = split_files(state["files"])
            states[state["day"]] = state
        return states

    def fingerprints_by_day(self, table: str) -> dict[dt.date, list[Fingerprint]]:
        out: dict[dt.date, list[Fingerprint]] = {}
        query = "SELECT day, path, size, mtime, sha256 FROM source_files WHERE table_name = ? ORDER BY day, path"
        for day, path, size, mtime, sha256 in self._execute(query, (table,)):
            out.setdefault(dt.date.fromisoformat(day), []).append(Fingerprint(path, size, mtime, sha256))
        return out

    def fingerprints(self, table: str, day: dt.date) -> list[Fingerprint]:
        query = "SELECT path, size, mtime, sha256 FROM source_files WHERE table_name = ? AND day = ? ORDER BY path"
        return [Fingerprint(*row) for row in self._execute(query, (table, day.isoformat()))]

    def marks(self, table: str | None = None) -> dict[tuple[str, dt.date], dict[str, Any]]:
        where, parameters = ("table_name = ?", (table,)) if table is not None else ("1 = 1", ())
        return {(m["table_name"], m["day"]): m for m in self._rows("partition_marks", MARK_COLUMNS, where, parameters)}

    def failed_days(self, table: str) -> set[dt.date]:
        """Days whose newest partition job of ``table`` failed."""
        query = ("SELECT jobs.day FROM jobs JOIN (SELECT day, max(id) AS id FROM jobs WHERE table_name = ? "
                 "GROUP BY day) AS newest ON jobs.id = newest.id WHERE jobs.status = 'failed'")
        return {dt.date.fromisoformat(day) for (day,) in self._execute(query, (table,))}

    def pauses(self) -> dict[str, dict[str, Any]]:
        return {p["table_name"]: p for p in self._rows("pauses", PAUSE_COLUMNS, "1 = 1", ())}

    def _rows(self, table: str, columns: tuple[str, ...], where: str, parameters: tuple) -> list[dict[str, Any]]:
        """The table's rows as dicts, dates and times as the store returns them."""
        dates = [i for i, name in enumerate(columns) if name in _DATES]
        times = [i for i, name in enumerate(columns) if name in _TIMES]
        day, moment = dt.date.fromisoformat, dt.datetime.fromisoformat
        rows = []
        for found in self._execute(f"SELECT {', '.join(columns)} FROM {table} WHERE {where}", parameters):
            values = list(found)  # status reads every day of every table: no per-row set work
            for i in dates:
                values[i] = day(values[i])
            for i in times:
                if values[i] is not None:
                    values[i] = moment(values[i])
            rows.append(dict(zip(columns, values)))
        return rows

    def _execute(self, query: str, parameters: tuple) -> list[tuple]:
        try:
            return self._connection.execute(query, parameters).fetchall()
        except sqlite3.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise LakemendError(f"state DB {self.database} cannot be read: {first}",
                                "check that the file is readable and not damaged (sqlite3 FILE 'PRAGMA "
                                "integrity_check'), or point state: in lakemend.yaml ($LAKEMEND_STATE) at "
                                "the right database") from None
