"""The status heatmap: tables × days, each cell's state from metadata and the state DB only.

A cell is one partition's state: ``published``, ``missing`` (expected, not there), ``stale``
(``recovery.find_stale`` — the one staleness scan ``late`` and ``repair --stale`` use too),
``failed`` (its newest job failed) or ``quarantined`` (taken out of the table by ``lakemend
quarantine``). Beside the states, and never hiding them: the tables that are paused, and the
records each day sent to ``quarantine.<table>`` (counted from that table's metadata).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lakemend.iceberg.files import files_by_day
from lakemend.lake import Lake
from lakemend.ops.reads import LakeReads
from lakemend.ops.recovery import ExpectedDays, PresentDays, find_stale, upstream_scope

if TYPE_CHECKING:
    from pyiceberg.table import Table

STATES = ("published", "missing", "stale", "failed", "quarantined")
SYMBOLS = {"published": ("■", "green"), "missing": ("·", "red"), "stale": ("◐", "yellow"), "failed": ("✗", "bold red"),
           "quarantined": ("▨", "magenta")}
RECORDS_SYMBOL = ("▣", "dark_orange")
"""A published day that sent records to quarantine (the state is still ``published``)."""
PAUSED_SYMBOL = ("‖", "blue")
GAP_SYMBOL = "┊"
"""Between two shown days that are not consecutive: the days between have no data and are not expected."""


@dataclass(frozen=True)
class Heatmap:
    days: tuple[dt.date, ...]
    cells: dict[str, dict[dt.date, str]]
    paused: dict[str, str] = field(default_factory=dict)
    """Table → the reason it is paused (its own pause or ``pause --all``); its cells keep their state."""
    records_quarantined: dict[str, dict[dt.date, int]] = field(default_factory=dict)
    """Table → day → records of that day in ``quarantine.<table>`` (days shown only)."""
    pauses: dict[str, dict] = field(default_factory=dict)
    """Every pause flag, of any table (``*``: ``pause --all``) → its row (reason, user, since)."""

    def totals(self) -> dict[str, int]:
        counts: Counter[str] = Counter(state for row in self.cells.values() for state in row.values())
        return {state: counts.get(state, 0) for state in STATES}

    def quarantined_record_total(self) -> int:
        return sum(n for row in self.records_quarantined.values() for n in row.values())

    def gap_after(self) -> set[int]:
        """Indexes ``i`` of ``days`` followed by a jump of more than one day (a gap to mark)."""
        return {i for i in range(len(self.days) - 1) if (self.days[i + 1] - self.days[i]).days > 1}


def build_heatmap(lake: Lake, tables: list, start: dt.date | None, end: dt.date | None, last: int = 14) -> Heatmap:  # noqa: ANN001
    """The cells of ``tables`` for the days between ``start`` and ``end`` that have data or expect
    it (without either: the last ``last`` such days).

    Only what the shown cells depend on is read: the folders of the days in question
    (``recovery.PresentDays``), the landing zone down to the day folders and a glob of each
    expected day that is not present (``recovery.ExpectedDays``), and the staleness of the shown
    days and of the input days they read (``recovery.upstream_scope``)."""
    reads = LakeReads(lake)  # each table's records, proof and landing listing, read once for all three
    pauses = lake.state_reader.pauses()
    marks = lake.state_reader.marks()
    present = PresentDays(lake, reads)
    expected = ExpectedDays(lake, reads)
    days = _shown_days(tables, present, expected, start, end, last)
    shown = set(days)
    # the one staleness of `late` and `repair` too, for the shown cells and what they read
    stale = find_stale(lake, reads, upstream_scope(lake, {t.qualified: shown for t in tables}, reads)) if days else {}
    cells: dict[str, dict[dt.date, str]] = {}
    paused: dict[str, str] = {}
    records: dict[str, dict[dt.date, int]] = {}
    for spec in tables:
        failed = lake.state_reader.failed_days(spec.qualified)
        flag = pauses.get(spec.qualified) or pauses.get("*")
        if flag:
            paused[spec.qualified] = flag["reason"]
        row = {}
        for day in days:
            mark = marks.get((spec.qualified, day), {}).get("mark")
            if mark == "damaged":
                state = "quarantined"
            elif day in failed:
                state = "failed"
            elif not present.holds(spec.qualified, day) and expected.holds(spec, day):
                state = "missing"
            elif day in stale.get(spec.qualified, ()):
                state = "stale"
            elif present.holds(spec.qualified, day):
                state = "published"
            else:
                continue
            row[day] = state
        cells[spec.qualified] = row
        counted = _quarantined_records(reads.table(f"quarantine.{spec.name}"), shown)
        if counted:
            records[spec.qualified] = counted
    return Heatmap(tuple(days), cells, paused, records, pauses)


def _shown_days(tables: list, present: PresentDays, expected: ExpectedDays,  # noqa: ANN001
                start: dt.date | None, end: dt.date | None, last: int) -> list[dt.date]:
    """The days some table has present or expected, between ``start`` and ``end`` (neither: the last
    ``last`` of them), oldest first; a candidate day is listed or globbed only when it comes into question."""
    pool = set().union(*(present.candidates(t.qualified) for t in tables),
                       *(expected.candidates(t) for t in tables)) if tables else set()

    def has_data(day: dt.date) -> bool:
        return any(present.holds(t.qualified, day) or expected.holds(t, day) for t in tables)

    if start or end:
        return sorted(d for d in pool if (start is None or d >= start) and (end is None or d <= end) and has_data(d))
    days: list[dt.date] = []
    for day in sorted(pool, reverse=True):
        if len(days) == last:
            break
        if has_data(day):
            days.append(day)
    return sorted(days)


def _quarantined_records(table: Table | None, days: set[dt.date]) -> dict[dt.date, int]:
    """Records per shown day in ``quarantine.<name>`` (``table``; None: there is none), from its
    manifests (no data file read)."""
    if table is None:
        return {}
    counts = {day: sum(f.record_count for f in data_files) for day, data_files in files_by_day(table).items() if day in days}
    return {day: n for day, n in counts.items() if n}
