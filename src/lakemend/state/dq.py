"""Data-quality results in the state DB: the record, and every statement on ``dq_results``.

Every result of every ``dq check`` (``lakemend.ops.dq``) is kept, passed or not, so the report
can show trends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from lakemend.state.store import StateStore, dq_results


@dataclass(frozen=True)
class DqResult:
    """One check of one partition; ``run_at`` and ``check_run`` are set once stored."""

    table: str
    day: dt.date
    check: str
    observed: Any
    threshold: str
    passed: bool
    detail: str | None = None
    run_at: dt.datetime | None = None
    check_run: str | None = None


def _number(value: Any) -> float | None:
    """The observed value as a number for trend charts, when it is one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).rstrip("h"))  # freshness is reported as "12.5h"
    except ValueError:
        return None


def record_results(store: StateStore, check_run: str, run_at: dt.datetime, results: Iterable[DqResult]) -> None:
    """Store every result of one ``dq check`` run, passed or not."""
    rows = [dict(check_run=check_run, run_at=run_at, table_name=r.table, day=r.day, check_name=r.check,
                 observed=None if r.observed is None else str(r.observed), value=_number(r.observed),
                 threshold=r.threshold, passed=r.passed, detail=r.detail) for r in results]
    if rows:
        with store.engine.begin() as conn:
            conn.execute(insert(dq_results), rows)


def dq_history(store: StateStore, table: str | None = None, since: dt.datetime | dt.date | None = None) -> list[DqResult]:
    """Stored results, oldest first; ``table`` filters by table, ``since`` by check time (UTC)."""
    query = select(dq_results).order_by(dq_results.c.run_at, dq_results.c.id)
    if table:
        query = query.where(dq_results.c.table_name == table)
    if since is not None:
        if not isinstance(since, dt.datetime):
            since = dt.datetime.combine(since, dt.time())
        query = query.where(dq_results.c.run_at >= since.replace(tzinfo=None))
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [DqResult(r["table_name"], r["day"], r["check_name"], r["observed"], r["threshold"], bool(r["passed"]),
                     r["detail"], r["run_at"], r["check_run"]) for r in rows]
