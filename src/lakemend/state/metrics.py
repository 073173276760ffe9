"""The runbook's CloudWatch metrics, recorded for every partition job in the state DB.

Names are exact: BackfillJobsStarted, BackfillJobsSucceeded, BackfillJobsFailed,
BackfillDurationSeconds; dimensions: layer, table, source.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select

from lakemend.errors import UsageError
from lakemend.state.store import StateStore, metrics, utcnow

STARTED = "BackfillJobsStarted"
SUCCEEDED = "BackfillJobsSucceeded"
FAILED = "BackfillJobsFailed"
DURATION = "BackfillDurationSeconds"
NAMES = (STARTED, SUCCEEDED, FAILED, DURATION)


@dataclass(frozen=True)
class Dimensions:
    layer: str
    table: str
    source: str | None


def row(name: str, value: float, dims: Dimensions, run_id: str) -> dict[str, Any]:
    """One metric sample as a row of the metrics table (for a state-DB transaction that writes many)."""
    return dict(name=name, value=value, layer=dims.layer, table_name=dims.table, source=dims.source, run_id=run_id,
                at=utcnow())


def record(store: StateStore, name: str, value: float, dims: Dimensions, run_id: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(metrics).values(**row(name, value, dims, run_id)))


MAX_SINCE_DAYS = 36500  # about 100 years: longer durations are a typo, and overflow a datetime
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def parse_since(text: str | None) -> dt.datetime | None:
    """``30m``, ``6h``, ``7d`` or an ISO date/time (UTC)."""
    if not text:
        return None
    match = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        if amount * _UNIT_SECONDS[unit] > MAX_SINCE_DAYS * 86400:
            raise UsageError(f"--since {text!r} reaches back more than {MAX_SINCE_DAYS} days",
                             f"use e.g. 30m, 6h, 7d (at most {MAX_SINCE_DAYS}d) or a date like 2025-10-26")
        return utcnow() - dt.timedelta(seconds=amount * _UNIT_SECONDS[unit])
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since {text!r} is not a duration or a date", "use e.g. 30m, 6h, 7d or 2025-10-26") from None


def summary(store: StateStore, since: dt.datetime | None = None) -> list[dict[str, Any]]:
    """One row per metric and dimension set: count (jobs) or sum/max (seconds)."""
    query = select(metrics)
    if since:
        query = query.where(metrics.c.at >= since)
    groups: dict[tuple[str, str, str, str | None], list[float]] = defaultdict(list)
    with store.engine.connect() as conn:
        for row in conn.execute(query).mappings():
            groups[(row["name"], row["layer"], row["table_name"], row["source"])].append(row["value"])
    rows = []
    for (name, layer, table, source), values in sorted(groups.items(), key=lambda kv: (NAMES.index(kv[0][0]), kv[0][1], kv[0][2], kv[0][3] or "")):
        entry: dict[str, Any] = {"metric": name, "layer": layer, "table": table, "source": source or ""}
        if name == DURATION:
            entry.update(value=round(sum(values), 3), samples=len(values), max=round(max(values), 3))
        else:
            entry.update(value=int(sum(values)), samples=len(values), max=None)
        rows.append(entry)
    return rows


def totals(store: StateStore, since: dt.datetime | None = None) -> dict[tuple[str, tuple[str, str, str]], tuple[float, int]]:
    """(metric, (layer, table, source)) → (sum of values, number of samples), aggregated by the database."""
    query = select(metrics.c.name, metrics.c.layer, metrics.c.table_name, metrics.c.source,
                   func.sum(metrics.c.value), func.count()).group_by(
        metrics.c.name, metrics.c.layer, metrics.c.table_name, metrics.c.source)
    if since is not None:
        query = query.where(metrics.c.at >= since)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    out: dict[tuple[str, tuple[str, str, str]], tuple[float, int]] = {}
    for name, layer, table, source, total, count in rows:
        key = (name, (layer or "", table or "", source or ""))
        before = out.get(key, (0.0, 0))
        out[key] = (before[0] + float(total or 0), before[1] + int(count))
    return out
