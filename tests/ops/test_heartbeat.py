"""A run keeps its leases however long it takes (heartbeat), and the stage branches a killed run
left behind go with the next publish of their table."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import START
from sqlalchemy import select

from lakemend.errors import LeaseHeld
from lakemend.lake import Lake
from lakemend.ops.job import run_scope
from lakemend.ops.runner import Execution, execute, execute_plan
from lakemend.state import leases
from lakemend.state.store import leases as lease_table

KEY = ("bronze.orders", START)
OTHER = ("silver.orders_clean", START)


@pytest.fixture
def short_leases(monkeypatch: pytest.MonkeyPatch) -> float:
    """Leases that expire after 1.5 s instead of 15 minutes (the heartbeat renews every 0.5 s)."""
    monkeypatch.setattr(leases, "LEASE_SECONDS", 1.5)
    return 1.5


def test_a_run_longer_than_its_lease_keeps_it(example: Path, short_leases: float) -> None:
    lake, rival = Lake.open(example), Lake.open(example)
    leases.acquire(lake.state, [OTHER], "long-run")  # as backfill.apply does, before the run opens
    with run_scope(lake, "long-run", "backfill", {}, "long", hold=[KEY]):
        time.sleep(3 * short_leases)  # well past the first expiry
        with pytest.raises(LeaseHeld, match="long-run"):
            leases.acquire(rival.state, [KEY], "second-run")
        with pytest.raises(LeaseHeld, match="long-run"):
            leases.acquire(rival.state, [OTHER], "second-run")
    assert not [t for t in threading.enumerate() if t.name.startswith("lakemend-heartbeat-")]  # stopped
    leases.acquire(rival.state, [KEY, OTHER], "second-run")  # released on exit
    time.sleep(2 * short_leases)  # not renewed (a hung holder, or one on another host): it does expire
    leases.acquire(lake.state, [KEY, OTHER], "third-run")


# A run that died: its ledger row exists, its process is gone (it exits without closing the run).
DEAD_RUN = textwrap.dedent("""
    import os, sys
    from lakemend.lake import Lake
    Lake.open(sys.argv[1]).state.start_run(sys.argv[2], "backfill", {}, "killed")
    os._exit(0)
""")


def test_stage_branch_of_a_killed_run_goes_with_the_next_publish(example: Path) -> None:
    lake = Lake.open(example)
    spec = lake.project.table("bronze.orders")
    assert not execute(lake, command="run", days=[START], tables=[spec], reason="test").failed
    subprocess.run([sys.executable, "-c", DEAD_RUN, str(example), "20251020T000000-dead01"], check=True, timeout=120)
    lake.state.start_run("20251020T000001-live01", "backfill", {}, "still running")  # this process: alive
    table = lake.table("bronze.orders")
    head = table.current_snapshot().snapshot_id
    leftovers = {"dead": "stage-20251020T000000-dead01-20251021", "live": "stage-20251020T000001-live01-20251021",
                 "unknown": "stage-20251020T000002-nosuch-20251021"}
    for name in leftovers.values():  # what a kill between stage and publish leaves
        table.manage_snapshots().create_branch(head, name).commit()

    rebuild = Execution(command="backfill", tables=(spec,), days={spec.qualified: (START,)}, reason="test", args={},
                        choose=lambda target, s, day, reads: reads.decide(target, s, day, force=True))
    report = execute_plan(lake, rebuild)
    assert [r.status for r in report.results] == ["succeeded"]
    refs = set(lake.table("bronze.orders").metadata.refs)
    assert leftovers["dead"] not in refs  # its run is over: dropped
    assert leftovers["live"] in refs and leftovers["unknown"] in refs  # a live or unknown run's: kept
    assert not [n for n in refs if n.startswith("stage-") and n not in leftovers.values()]
    assert lake.state.get_run("20251020T000000-dead01")["status"] == "interrupted"


def test_heartbeat_thread_is_a_daemon_and_renews(example: Path, short_leases: float) -> None:
    lake = Lake.open(example)
    leases.acquire(lake.state, [KEY], "beating")
    with lake.state.engine.connect() as conn:
        first = conn.execute(select(lease_table.c.expires_at)).scalar_one()
    with leases.heartbeat(lake.state, "beating"):
        (thread,) = [t for t in threading.enumerate() if t.name == "lakemend-heartbeat-beating"]
        assert thread.daemon
        time.sleep(1.2)
    with lake.state.engine.connect() as conn:
        renewed = conn.execute(select(lease_table.c.expires_at)).scalar_one()
    assert renewed > first
    assert os.getpid() == leases.holders(lake.state, [KEY], "other")[0].pid
    assert isinstance(renewed, dt.datetime)
