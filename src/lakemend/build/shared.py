"""What the days of one batch share while they are built: one engine session, one manifest scan
per input table, and the row counts of the days published so far.

A batch is one table over several days (``lakemend.ops.batch``). Each day is still built by the
same SQL as a day built alone — the model sees exactly that day's input window — so a batched
build equals a day-by-day one row for row; what the days share is only what costs time: opening
a session, planning an input's files, reading the table's per-day row counts.
"""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

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

    def __init__(self, lake: Lake, engine: Engine, spec: TableSpec, days: list[dt.date]) -> None:
        self.lake, self.engine, self.spec, self.days = lake, engine, spec, sorted(days)
        self._stack = ExitStack()
        self._con: Session | None = None
        self._tables: dict[str, Table | None] = {}
        self._files: dict[str, dict[dt.date, tuple[list[str], int]] | None] = {}
        self._counts: dict[str, dict[dt.date, int]] = {}

    def __enter__(self) -> BuildSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def con(self) -> Session:
        """The batch's engine session, opened on first use."""
        if self._con is None:
            self._con = self._stack.enter_context(self.engine.session())
        return self._con

    def reset(self) -> None:
        """Drop what one day's build left in the session (temporary tables and views)."""
        if self._con is not None:
            for statement in ("DROP VIEW IF EXISTS _good", "DROP TABLE IF EXISTS _checked"):
                self._con.execute(statement)

    def table(self, qualified: str) -> Table | None:
        """An input table, loaded once per batch (inputs are not written while the batch runs)."""
        if qualified not in self._tables:
            self._tables[qualified] = self.lake.table(qualified)
        return self._tables[qualified]

    def input_files(self, qualified: str, first: dt.date | None, last: dt.date) -> tuple[list[str], int] | None:
        """The local data files (and rows) of an input's days ``first … last``, from one manifest
        scan per input and batch; None when pyiceberg must read the input itself."""
        if qualified not in self._files:
            self._files[qualified] = self._plan(qualified)
        by_day = self._files[qualified]
        if by_day is None:
            return None
        paths: list[str] = []
        rows = 0
        for day in sorted(by_day):
            if (first is None or day >= first) and day <= last:
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

    def published_counts(self, qualified: str) -> dict[dt.date, int]:
        """Rows per published day of the table being built, including the days this batch has
        staged so far (what a day-by-day build would see as already published)."""
        if qualified not in self._counts:
            self._counts[qualified] = partition_counts(self.lake.table(qualified))
        return self._counts[qualified]

    def staged(self, qualified: str, day: dt.date, rows: int) -> None:
        """Record a day the batch will publish with ``rows`` rows (for later days' recent counts)."""
        self.published_counts(qualified)[day] = rows
