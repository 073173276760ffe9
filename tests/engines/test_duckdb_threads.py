"""DuckDB sessions working side by side share the cores instead of each taking all of them."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from lakemend.build.shared import BuildSession
from lakemend.engines.duckdb import DuckDBEngine
from lakemend.lake import Lake

CORES = os.cpu_count() or 1


def _threads(con) -> int:  # noqa: ANN001 - an engine session
    return int(con.scalar("SELECT current_setting('threads')"))


def test_a_session_alone_has_every_core_and_side_by_side_its_share() -> None:
    engine = DuckDBEngine()
    with engine.session() as alone:
        assert _threads(alone) == CORES
    with engine.session(side_by_side=2) as shared:
        assert _threads(shared) == max(1, CORES // 2)
    with engine.session(side_by_side=CORES * 4) as crowded:
        assert _threads(crowded) == 1


def test_a_batch_built_by_several_threads_gives_each_session_its_share(example: Path) -> None:
    lake = Lake.open(example)
    spec = lake.project.table("silver.orders_clean")
    days = [dt.date(2025, 10, 20), dt.date(2025, 10, 21)]
    with BuildSession(lake, lake.engine, spec, days, threads=2) as shared:
        assert _threads(shared.con) == max(1, CORES // 2)
    with BuildSession(lake, lake.engine, spec, days) as alone:
        assert _threads(alone.con) == CORES
