"""Partition leases: all or none, refused naming the holder, reclaimed when expired or dead."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from sqlalchemy import update

from lakemend.state import leases
from lakemend.state.store import StateStore
from lakemend.state.store import leases as lease_table

DAY = dt.date(2025, 10, 21)
A, B = ("bronze.orders", DAY), ("silver.orders_clean", DAY)


@pytest.fixture
def store(state_url: str) -> StateStore:
    """A new state DB: a SQLite file, then a database on a real PostgreSQL server."""
    return StateStore(state_url)


def dead_pid() -> int:
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                              check=True).stdout)


def test_acquire_is_all_or_none_and_names_the_holder(store: StateStore) -> None:
    leases.acquire(store, [A], "run-1")
    leases.acquire(store, [A], "run-1")  # taking again what one holds is a no-op
    with pytest.raises(leases.LeaseHeld) as refused:
        leases.acquire(store, [B, A], "run-2")
    assert "bronze.orders 2025-10-21 is being written by run run-1" in str(refused.value)
    assert leases.holders(store, [B], "run-2") == []  # run-2 took nothing
    (holder,) = leases.holders(store, [A, B], "run-2")
    assert holder.run_id == "run-1" and holder.table == "bronze.orders"
    leases.release(store, "run-1")
    leases.acquire(store, [A, B], "run-2")
    assert {(h.table, h.day) for h in leases.holders(store, [A, B], "other")} == {A, B}


def test_release_of_some_keys_only(store: StateStore) -> None:
    leases.acquire(store, [A, B], "run-1")
    leases.release(store, "run-1", [])  # nothing named: nothing released
    leases.release(store, "run-1", [A])
    assert [(h.table, h.day) for h in leases.holders(store, [A, B], "other")] == [B]


def test_lease_of_a_dead_process_is_reclaimed(store: StateStore) -> None:
    leases.acquire(store, [A], "crashed-run")
    with store.engine.begin() as conn:
        conn.execute(update(lease_table).values(pid=dead_pid()))
    leases.acquire(store, [A], "run-2")
    assert [h.run_id for h in leases.holders(store, [A], "other")] == ["run-2"]


def test_expired_lease_is_reclaimed_and_renew_extends(store: StateStore) -> None:
    leases.acquire(store, [A], "slow-run")
    with store.engine.begin() as conn:
        conn.execute(update(lease_table).values(expires_at=dt.datetime(2000, 1, 1)))
    leases.renew(store, "slow-run")  # renewed before anyone looked: still held
    with pytest.raises(leases.LeaseHeld):
        leases.acquire(store, [A], "run-2")
    with store.engine.begin() as conn:
        conn.execute(update(lease_table).values(expires_at=dt.datetime(2000, 1, 1)))
    leases.acquire(store, [A], "run-2")
    assert [h.run_id for h in leases.holders(store, [A], "other")] == ["run-2"]


def test_racing_writers_exactly_one_takes_the_leases(state_url: str) -> None:
    """Eight writers (each with its own store and connections) want the same partitions at the same
    moment, some naming them in another order: exactly one gets all of them, the others none."""
    import threading

    stores = [StateStore(state_url) for _ in range(8)]
    go = threading.Barrier(len(stores))
    won: list[str] = []
    refused: list[str] = []

    def writer(i: int) -> None:
        go.wait()
        try:
            leases.acquire(stores[i], [A, B] if i % 2 else [B, A], f"run-{i}")
            won.append(f"run-{i}")
        except leases.LeaseHeld:
            refused.append(f"run-{i}")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(won) == 1 and len(refused) == len(stores) - 1, (won, refused)
    assert {h.run_id for h in leases.holders(stores[0], [A, B], "other")} == set(won)
