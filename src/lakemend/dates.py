"""Day parsing and day ranges. Days are ``datetime.date``; ranges are inclusive on the CLI."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator

from lakemend.errors import UsageError

DAY_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(text: str, flag: str = "--date") -> dt.date:
    """A strict YYYY-MM-DD day; anything else (``2025-13-40``, ``../../etc``) is a usage error."""
    value = (text or "").strip()
    if not DAY_PATTERN.match(value):
        raise UsageError(f"invalid date {text!r} for {flag}", "use YYYY-MM-DD, e.g. 2025-10-26")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"invalid date {text!r} for {flag}: no such day", "use YYYY-MM-DD, e.g. 2025-10-26") from None


def day_range(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every day from start to end, both included."""
    return list(iter_days(start, end))


def iter_days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def resolve_days(date: str | None, start: str | None, end: str | None, *, required: bool = True) -> list[dt.date]:
    """Turn ``--date`` or ``--start/--end`` into the list of days, validating the combination."""
    if date and (start or end):
        raise UsageError("give either --date or --start/--end, not both", "e.g. --date 2025-10-26")
    if date:
        return [parse_day(date)]
    if start or end:
        if not (start and end):
            raise UsageError("--start and --end go together", "e.g. --start 2025-10-20 --end 2025-10-27")
        first, last = parse_day(start, "--start"), parse_day(end, "--end")
        if last < first:
            raise UsageError(f"--end {last} is before --start {first}", "swap them")
        if (last - first).days > 3660:
            raise UsageError("a range of more than 10 years", "split the work into smaller ranges")
        return day_range(first, last)
    if required:
        raise UsageError("no day given", "pass --date YYYY-MM-DD or --start D --end D")
    return []


DayRange = tuple[dt.date, dt.date]


def to_ranges(days: Iterable[dt.date]) -> list[DayRange]:
    """Consecutive days folded into inclusive ranges: {1, 2, 3, 5} → [(1, 3), (5, 5)]."""
    ranges: list[DayRange] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges
