"""What the days of one batch share while they are built: an engine session per build thread, one
manifest scan per input table, and the row counts of the days published so far.

A batch is one table over several days (``lakemend.ops.batch``). Each day is still built by the
same SQL as a day built alone — the model sees exactly that day's input window — so a batched
build equals a day-by-day one row for row; what the days share is only what costs time: opening
a session, planning an input's files, reading the table's per-day row counts.

Days may be built by several threads at once (an engine works outside the GIL, and one day of a
few rows keeps DuckDB on one core): each thread gets its own session, the input plans are made
once under a lock, and a day's ``row_count_vs_recent`` check waits until every earlier day of the
batch is settled, so it sees exactly the counts a day-by-day build would see.
"""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import suppress
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from lakemend.engines.base import ThreadSessions
from lakemend.iceberg.files import local_files_by_day, partition_counts

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from lakemend.engines.base import Engine, Session
    from lakemend.lake import Lake
    from lakemend.project.project import TableSpec


class BuildSession:
    """Open with ``with BuildSession(lake, engine, spec, days) as shared:``; pass ``shared`` to
    each day's build of ``spec``.

    ``days``: every day of the batch, so an input's files are planned once for the union of the
    windows those days read.
    """

    def __init__(self, lake: Lake, engine: Engine, spec: TableSpec, days: list[dt.date], *, threads: int = 1) -> None:
        """``threads``: the build threads that will share the batch (one engine session each)."""
        self.lake, self.engine, self.spec, self.days = lake, engine, spec, sorted(days)
        self.threads = threads
        self._sessions = ThreadSessions(engine, side_by_side=threads)
        self._tables: dict[str, Table | None] = {}
        self._files: dict[str, dict[dt.date, tuple[list[str], int]] | None] = {}
        self._counts: dict[dt.date, int] | None = None
        self._lock = threading.RLock()
        self._settled_changed = threading.Condition(self._lock)
        self._unsettled = set(self.days)
        self._stopped = False
        self._thread = threading.local()
        self._columns: dict[str, list[str]] = {}

    def __enter__(self) -> BuildSession:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self._sessions.close()
            return
        with suppress(Exception):  # the batch already failed: a session that will not close must not hide why
            self._sessions.close()

    @property
    def con(self) -> Session:
        """This thread's engine session for the batch, opened on first use."""
        return self._sessions.get()

    def reset(self) -> None:
        """Drop what one day's build left in this thread's session: its checked rows (the view
        ``_good`` on them is replaced by the next day's)."""
        con = self._sessions.current()
        if con is not None:
            con.unregister("_checked")

    def once(self, what: str) -> bool:
        """Whether ``what`` (a schema, the masking key) is still to be set up in this thread's
        session: True the first time it is asked. Every statement costs DuckDB a fraction of a
        millisecond whatever it does, and each day of a batch needs the same set-up."""
        done: set[str] = self._thread.__dict__.setdefault("done", set())
        if what in done:
            return False
        done.add(what)
        return True

    def model_columns(self, sql: str, describe: Callable[[], list[str]]) -> list[str]:
        """The output columns of a model's ``sql``, from ``describe`` once per batch: every day of
        the batch runs the same SQL over views of the same input tables (binding it again cost
        1–2 ms a day on DuckDB)."""
        with self._lock:
            known = self._columns.get(sql)
        if known is None:
            known = describe()
            with self._lock:
                self._columns[sql] = known
        return list(known)

    def stop(self) -> None:
        """Stop the batch's builds: the engines' running statements are interrupted and a day
        waiting for earlier days gives up (both raise :class:`BuildStopped` in its thread)."""
        with self._lock:
            self._stopped = True
            self._settled_changed.notify_all()
        self._sessions.interrupt()

    def table(self, qualified: str) -> Table | None:
        """An input table, loaded once per batch (inputs are not written while the batch runs)."""
        with self._lock:
            if qualified not in self._tables:
                self._tables[qualified] = self.lake.table(qualified)
            return self._tables[qualified]

    def input_files(self, qualified: str, first: dt.date | None, last: dt.date,
                    skip: Collection[dt.date] = ()) -> tuple[list[str], int] | None:
        """The local data files (and rows) of an input's days ``first … last`` but ``skip``, from
        one manifest scan per input and batch; None when pyiceberg must read the input itself."""
        with self._lock:
            if qualified not in self._files:
                self._files[qualified] = self._plan(qualified)
            by_day = self._files[qualified]
        if by_day is None:
            return None
        paths: list[str] = []
        rows = 0
        for day in sorted(by_day):
            if (first is None or day >= first) and day <= last and day not in skip:
                paths.extend(by_day[day][0])
                rows += by_day[day][1]
        return paths, rows

    def _plan(self, qualified: str) -> dict[dt.date, tuple[list[str], int]] | None:
        from pyiceberg.expressions import And, GreaterThanOrEqual, LessThanOrEqual

        table = self.table(qualified)
        if table is None:
            return {}
        windows = [inp.window(day) for day in self.days for inp in self.spec.inputs if inp.table == qualified]
        lows = [first for first, _ in windows]
        last = max(window[1] for window in windows)
        row_filter: Any = LessThanOrEqual("day", last.isoformat())
        if None not in lows:
            row_filter = And(GreaterThanOrEqual("day", min(lows).isoformat()), row_filter)  # type: ignore[type-var]
        return local_files_by_day(table, row_filter)

    def counts_before(self, day: dt.date) -> dict[dt.date, int]:
        """Rows per published day of the table being built as a day-by-day build of ``day`` would
        see them: the published days and every earlier day of this batch that will publish.

        Waits until each earlier day of the batch is settled (see :meth:`settled`).
        """
        with self._lock:
            while not self._stopped and any(earlier < day for earlier in self._unsettled):
                self._settled_changed.wait()
            if self._stopped:
                raise BuildStopped("the batch was stopped")
            return dict(self._published_counts())

    def settled(self, day: dt.date, rows: int | None = None) -> None:
        """A day's build is over: it will publish ``rows`` rows (None: nothing)."""
        with self._lock:
            if rows is not None:
                self._published_counts()[day] = rows
            self._unsettled.discard(day)
            self._settled_changed.notify_all()

    def _published_counts(self) -> dict[dt.date, int]:
        if self._counts is None:
            self._counts = partition_counts(self.lake.table(self.spec.qualified))
        return self._counts


class BuildStopped(Exception):
    """A day's build given up because its batch stopped (Ctrl-C, or the state DB failed)."""
