"""Partition leases: one writer per (table, day), held in the state DB.

A lease names its holder (run id, host, pid) and expires; a lease whose holder process is gone
(same host, pid not alive or reused) or whose expiry passed is reclaimed by the next writer.
While a run holds leases, :func:`heartbeat` renews them every ``LEASE_SECONDS / 3``, so a long
run keeps its partitions however long it takes; only a holder that stopped renewing (a dead or
hung process, on any host) loses them when they expire.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from lakemend.errors import LeaseHeld
from lakemend.state.store import StateStore, leases, process_gone, utcnow

logger = logging.getLogger(__name__)

LEASE_SECONDS = 15 * 60  # read at each use: tests may shorten it


@dataclass(frozen=True)
class Holder:
    table: str
    day: dt.date
    run_id: str
    host: str
    pid: int
    since: dt.datetime

    def describe(self) -> str:
        return f"{self.table} {self.day} is being written by run {self.run_id} on {self.host} (pid {self.pid}) since {self.since:%Y-%m-%d %H:%M:%S} UTC"


def _reclaim_dead(store: StateStore, keys: set[tuple[str, dt.date]]) -> None:
    """Drop expired leases and leases of dead processes on this host."""
    host = socket.gethostname()
    now = utcnow()
    with store.engine.begin() as conn:
        conn.execute(delete(leases).where(leases.c.expires_at < now))
        rows = conn.execute(select(leases).where(leases.c.host == host)).mappings().all()
        for row in rows:
            if (row["table_name"], row["day"]) in keys and process_gone(row["pid"], row["acquired_at"]):
                conn.execute(delete(leases).where(and_(leases.c.table_name == row["table_name"], leases.c.day == row["day"],
                                                       leases.c.run_id == row["run_id"])))


def holders(store: StateStore, keys: Iterable[tuple[str, dt.date]], run_id: str) -> list[Holder]:
    keys = set(keys)
    if not keys:
        return []
    with store.engine.connect() as conn:
        rows = conn.execute(select(leases).where(leases.c.run_id != run_id)).mappings().all()
    return [Holder(r["table_name"], r["day"], r["run_id"], r["host"], r["pid"], r["acquired_at"])
            for r in rows if (r["table_name"], r["day"]) in keys]


def acquire(store: StateStore, keys: Iterable[tuple[str, dt.date]], run_id: str, *, wait_seconds: float = 0.0) -> None:
    """Take every lease or none: fail fast naming the holder, or wait up to ``wait_seconds``."""
    wanted = sorted(set(keys))
    deadline = time.monotonic() + wait_seconds
    while True:
        _reclaim_dead(store, set(wanted))
        try:
            _insert_all(store, wanted, run_id)
            return
        except IntegrityError:
            pass
        held = holders(store, wanted, run_id)
        if time.monotonic() >= deadline:
            first = held[0].describe() if held else "a partition is locked by another writer"
            more = f" (and {len(held) - 1} more)" if len(held) > 1 else ""
            raise LeaseHeld(first + more, "wait for it to finish, pass --wait, or check `lakemend runs --status running`")
        time.sleep(0.5)


def _insert_all(store: StateStore, keys: list[tuple[str, dt.date]], run_id: str) -> None:
    now = utcnow()
    expires = now + dt.timedelta(seconds=LEASE_SECONDS)
    rows = [dict(table_name=t, day=d, run_id=run_id, host=socket.gethostname(), pid=os.getpid(), acquired_at=now,
                 expires_at=expires) for t, d in keys]
    with store.engine.begin() as conn:
        mine = conn.execute(select(leases.c.table_name, leases.c.day).where(leases.c.run_id == run_id)).all()
        rows = [r for r in rows if (r["table_name"], r["day"]) not in set(mine)]
        if rows:
            conn.execute(insert(leases), rows)


def renew(store: StateStore, run_id: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(leases).where(leases.c.run_id == run_id)
                     .values(expires_at=utcnow() + dt.timedelta(seconds=LEASE_SECONDS)))


@contextmanager
def heartbeat(store: StateStore, run_id: str) -> Iterator[None]:
    """Renew every lease of ``run_id`` every ``LEASE_SECONDS / 3`` from a daemon thread, until the
    block exits (the thread is stopped and joined then; a failed renewal is logged and retried)."""
    stop = threading.Event()
    interval = max(LEASE_SECONDS / 3, 0.05)

    def beat() -> None:
        while not stop.wait(interval):
            try:
                renew(store, run_id)
            except Exception as exc:  # noqa: BLE001 - a busy DB: the next beat retries well before expiry
                logger.warning("could not renew the leases of run %s: %s", run_id, exc)

    thread = threading.Thread(target=beat, name=f"lakemend-heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=max(interval, 5.0))


def release(store: StateStore, run_id: str, keys: Iterable[tuple[str, dt.date]] | None = None) -> None:
    with store.engine.begin() as conn:
        query = delete(leases).where(leases.c.run_id == run_id)
        if keys is not None:
            keys = list(keys)
            if not keys:
                return
            query = query.where(or_(*[and_(leases.c.table_name == t, leases.c.day == d) for t, d in keys]))
        conn.execute(query)
