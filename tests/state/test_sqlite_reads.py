"""The look commands' reads through the standard library's sqlite3 (``state.sqlite_reads``) give
what the SQLAlchemy store gives, and are used only where opening the store would change nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lakemend.lake import Lake
from lakemend.project.sources import Fingerprint
from lakemend.state import leases
from lakemend.state.sqlite_reads import MARK_COLUMNS, PARTITION_COLUMNS, PAUSE_COLUMNS, SqliteReads, open_reads
from lakemend.state.store import PauseFlags, StateStore, marks, partitions, pauses

D1, D2, D3 = dt.date(2025, 10, 21), dt.date(2025, 10, 22), dt.date(2025, 10, 23)
TABLES = ("bronze.orders", "silver.orders_clean", "gold.empty")


def filled(path: Path) -> StateStore:
    """A state DB with every kind of row the look commands read, written through the store."""
    store = StateStore(f"sqlite:///{path}")
    store.start_run("r1", "backfill", {"days": ["2025-10-21"]}, "test")
    store.record_partition("bronze.orders", D1, input_key="k1", files_key="f1", snapshot_id=11, run_id="r1", rows=20,
                           files=["/lake/bronze/orders/day=2025-10-21/b.parquet", "/lake/bronze/orders/day=2025-10-21/a.parquet"])
    store.record_partition("bronze.orders", D2, input_key="k2", files_key="f2", snapshot_id=None, run_id="r1", rows=0,
                           files=[])
    store.record_partition("silver.orders_clean", D1, input_key="k3", files_key="f3", snapshot_id=2**62, run_id="r1",
                           rows=None)  # a record made before revision 0003: no paths
    store.record_fingerprints("bronze.orders", D1, [Fingerprint("orders/2025-10-21/b.csv", 10, "2025-10-21T01:00:00", "x"),
                                                    Fingerprint("orders/2025-10-21/a.csv", 0, "2025-10-21T01:00:01", "y")], "r1")
    store.record_fingerprints("bronze.orders", D3, [Fingerprint("orders/2025-10-23/c.csv", 7, "2025-10-23T00:00:00", "z")], "r1")
    store.mark("silver.orders_clean", D2, "stale", "input rebuilt", "r1")
    store.mark("bronze.orders", D3, "damaged", "truncated file", "r1")
    for table, day, status in [("bronze.orders", D1, "failed"), ("bronze.orders", D2, "failed"),
                               ("bronze.orders", D2, "succeeded"), ("silver.orders_clean", D1, "failed")]:
        store.finish_job(store.start_job("r1", "backfill", table.split(".")[0], table, day, None, None, None), status)
    PauseFlags(store).pause("silver.orders_clean", "incident 7")
    PauseFlags(store).pause("*", "freeze")
    store.finish_run("r1", "succeeded")
    return store


def test_every_read_equals_the_stores(tmp_path: Path) -> None:
    store = filled(tmp_path / "state.db")
    reads = open_reads(tmp_path / "state.db")
    assert isinstance(reads, SqliteReads)
    for table in TABLES:
        assert reads.partition_states(table) == store.partition_states(table)
        assert reads.fingerprints_by_day(table) == store.fingerprints_by_day(table)
        assert reads.failed_days(table) == store.failed_days(table)
        assert reads.marks(table) == store.marks(table)
        for day in (D1, D2, D3):
            assert reads.fingerprints(table, day) == store.fingerprints(table, day)
    assert reads.marks() == store.marks() and len(reads.marks()) == 2
    assert reads.pauses() == store.pauses() == PauseFlags(store).all() and set(reads.pauses()) == {"*", "silver.orders_clean"}
    assert reads.failed_days("bronze.orders") == {D1}  # D2's newest job succeeded
    states = reads.partition_states("bronze.orders")
    assert states[D1]["files"] == ("/lake/bronze/orders/day=2025-10-21/a.parquet",
                                   "/lake/bronze/orders/day=2025-10-21/b.parquet")
    assert states[D2]["files"] == () and reads.partition_states("silver.orders_clean")[D1]["files"] is None
    assert isinstance(states[D1]["built_at"], dt.datetime) and list(states[D1]) == list(PARTITION_COLUMNS)


def test_the_column_lists_are_the_stores_tables() -> None:
    """A column added to one of these tables must be added to the reader too."""
    for table, columns in ((partitions, PARTITION_COLUMNS), (marks, MARK_COLUMNS), (pauses, PAUSE_COLUMNS)):
        assert tuple(table.c.keys()) == columns


def running(store: StateStore) -> None:
    store.start_run("r2", "backfill", {}, None)


def holding(store: StateStore) -> None:
    leases.acquire(store, [("bronze.orders", D1)], "r2")


def running_job(store: StateStore) -> None:
    store.start_job("r1", "backfill", "bronze", "bronze.orders", D1, None, None, None)


def older(store: StateStore) -> None:
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0002'")


@pytest.mark.parametrize("change", [running, holding, running_job, older])
def test_the_store_answers_when_opening_it_would_change_something(tmp_path: Path, change) -> None:  # noqa: ANN001
    """A run, job or lease the store may have to close, or a revision it must migrate: no reader."""
    store = filled(tmp_path / "state.db")
    assert open_reads(tmp_path / "state.db") is not None
    change(store)
    assert open_reads(tmp_path / "state.db") is None
    assert open_reads(tmp_path / "missing.db") is None


def test_a_lake_reads_through_the_store_once_it_opened_it(example: Path) -> None:
    lake = Lake.open(example)
    filled(Path(lake.project.state_url.removeprefix("sqlite:///")))
    assert isinstance(lake.state_reader, SqliteReads) and "state" not in lake.__dict__
    assert lake.state_reader.pauses() == lake.state.pauses()
    assert lake.state_reader is lake.state  # opened now: one connection pool, read-your-writes
    fresh = Lake.open(example)
    running(fresh.state)
    assert Lake.open(example).state_reader is not None and not isinstance(Lake.open(example).state_reader, SqliteReads)
