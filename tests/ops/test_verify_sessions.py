"""``verify`` reads its days in one engine session per thread, not one per day (opening and closing
a DuckDB session cost three quarters of a year-long ``verify`` of small days: 29 s, 5.7 s since);
a day found damaged closes its thread's session, and the days after it are read as before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import START, build
from support import count_calls

from lakemend.engines.duckdb import DuckDBEngine
from lakemend.lake import Lake
from lakemend.ops import verify as verify_module
from lakemend.ops.verify import verify

LAST = START + dt.timedelta(days=2)
DAMAGED = START + dt.timedelta(days=1)


@pytest.fixture
def lake_root(example: Path) -> Path:
    assert not build(example, START, LAST).failed
    return example


def verified(root: Path, monkeypatch: pytest.MonkeyPatch, threads: int) -> tuple[list[tuple[str, dt.date, str]], int]:
    """The damage found over every table and day, and how many engine sessions it opened."""
    monkeypatch.setattr(verify_module, "VERIFY_THREADS", threads)
    seen = count_calls(monkeypatch, sessions=(DuckDBEngine, "session"))
    lake = Lake.open(root)
    return [(d.table, d.day, d.reason) for d in verify(lake, lake.project.ordered)], seen["sessions"]


@pytest.mark.parametrize("threads", [1, 2])
def test_every_day_is_read_in_its_threads_one_session(lake_root: Path, monkeypatch: pytest.MonkeyPatch, threads: int) -> None:
    damage, opened = verified(lake_root, monkeypatch, threads)
    assert damage == []
    assert opened == threads  # 18 days (6 tables × 3 days) read


@pytest.mark.parametrize("threads", [1, 2])
def test_a_damaged_day_leaves_the_next_days_sound(lake_root: Path, monkeypatch: pytest.MonkeyPatch, threads: int) -> None:
    for table in ("silver.orders_clean", "gold.customer_orders"):
        path = sorted((lake_root / "lake" / table.replace(".", "/") / f"day={DAMAGED}").glob("*.parquet"))[0]
        path.write_bytes(path.read_bytes()[:-200])  # the footer gone: DuckDB cannot read the file
    damage, opened = verified(lake_root, monkeypatch, threads)
    assert [(table, day) for table, day, _ in damage] == [("silver.orders_clean", DAMAGED), ("gold.customer_orders", DAMAGED)]
    assert all(reason.startswith("data file unreadable") for _, _, reason in damage)
    assert opened <= threads + 2  # each damaged day's session closed and another opened after it
