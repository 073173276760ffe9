"""The status heatmap: tables × days, each cell's state from metadata and the state DB only."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from lakemend.lake import Lake
from lakemend.ops.recovery import expected_days, find_stale, present_days
from lakemend.state.store import PauseFlags

STATES = ("published", "missing", "stale", "failed", "quarantined", "paused")
SYMBOLS = {"published": ("■", "green"), "missing": ("·", "red"), "stale": ("◐", "yellow"), "failed": ("✗", "bold red"),
           "quarantined": ("▨", "magenta"), "paused": ("‖", "blue")}


@dataclass(frozen=True)
class Heatmap:
    days: tuple[dt.date, ...]
    cells: dict[str, dict[dt.date, str]]

    def totals(self) -> dict[str, int]:
        counts: Counter[str] = Counter(state for row in self.cells.values() for state in row.values())
        return {state: counts.get(state, 0) for state in STATES}


def build_heatmap(lake: Lake, tables: list, start: dt.date | None, end: dt.date | None, last: int = 14) -> Heatmap:  # noqa: ANN001
    cache: dict[str, set[dt.date]] = {}
    pauses = PauseFlags(lake.state).all()
    marks = lake.state.marks()
    present = {t.qualified: present_days(lake, t.qualified) for t in tables}
    stale = find_stale(lake) if tables else {}  # the one staleness of `late` and `repair` too
    expected = {t.qualified: expected_days(lake, t, cache) for t in tables}
    every = set().union(*present.values(), *expected.values()) if tables else set()
    if start or end:
        days = sorted(d for d in every if (start is None or d >= start) and (end is None or d <= end))
    else:
        days = sorted(every)[-last:]
    cells: dict[str, dict[dt.date, str]] = {}
    for spec in tables:
        failed = lake.state.failed_days(spec.qualified)
        paused = spec.qualified in pauses or "*" in pauses
        row = {}
        for day in days:
            mark = marks.get((spec.qualified, day), {}).get("mark")
            if mark == "damaged":
                state = "quarantined"
            elif day in failed:
                state = "failed"
            elif day in expected[spec.qualified] and day not in present[spec.qualified]:
                state = "missing"
            elif day in stale.get(spec.qualified, ()):
                state = "stale"
            elif day in present[spec.qualified]:
                state = "paused" if paused else "published"
            else:
                continue
            row[day] = state
        cells[spec.qualified] = row
    return Heatmap(tuple(days), cells)
