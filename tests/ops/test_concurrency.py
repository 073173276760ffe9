"""Two real processes: one writer per partition (lease), different partitions publish side by side —
with the state DB in SQLite, and in a real PostgreSQL server (``pgserver``)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import build
from support import configure

from lakemend.examples.data import generate
from lakemend.lake import Lake

BIG_DAY = dt.date(2025, 10, 21)


def start(root: Path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")} | {"LAKEMEND_REASON": "concurrency test"}
    return subprocess.Popen([sys.executable, "-m", "lakemend", *args], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def big(example: Path, request: pytest.FixtureRequest) -> Path:
    """Two built days; 2025-10-21 is large so that a backfill of it holds its leases for seconds.
    The state DB is the project's SQLite file, or a database on a real PostgreSQL server."""
    if request.param == "postgresql":
        configure(example, state=request.getfixturevalue("pg_url"))
    for folder in (example / "landing").glob("*/**/2025-10-21"):
        for path in folder.iterdir():
            path.unlink()
    generate(example / "landing", BIG_DAY, BIG_DAY, rows=120_000)
    contract = example / "contracts" / "orders_clean.yaml"  # a 1000x day would rightly fail row_count_vs_recent
    contract.write_text("\n".join(line for line in contract.read_text().splitlines() if "row_count_vs_recent" not in line))
    assert not build(example, dt.date(2025, 10, 20), BIG_DAY).failed
    assert Lake.open(example).state.engine.dialect.name == request.param
    return example


def test_same_partition_exactly_one_publishes(big: Path) -> None:
    args = ("backfill", "bronze", "orders", str(BIG_DAY), "--downstream")
    first, second = start(big, *args), start(big, *args)
    results = [(p.wait(timeout=600), *p.communicate()) for p in (first, second)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, _, err in results if code == 1)
    assert "is being written by run" in loser and "pid" in loser
    lake = Lake.open(big)
    jobs = lake.state.list_jobs(table="bronze.orders", day=BIG_DAY, limit=10)
    assert [j["reason"] for j in jobs].count("concurrency test") == 1  # the refused run wrote no job


def test_different_partitions_both_publish(big: Path) -> None:
    before = Lake.open(big).state.list_jobs(table="bronze.orders", limit=100)
    first = start(big, "backfill", "bronze", "orders", "2025-10-20")
    second = start(big, "backfill", "bronze", "orders", str(BIG_DAY))
    results = [(p.wait(timeout=600), *p.communicate()) for p in (first, second)]
    assert [code for code, _, _ in results] == [0, 0], results
    jobs = Lake.open(big).state.list_jobs(table="bronze.orders", limit=100)
    new = [j for j in jobs if j["id"] not in {b["id"] for b in before}]
    assert sorted(str(j["day"]) for j in new) == ["2025-10-20", str(BIG_DAY)]
    assert all(j["status"] == "succeeded" for j in new)
