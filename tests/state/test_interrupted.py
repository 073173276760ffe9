"""Ledger hygiene after kills: runs and jobs whose process is gone are closed ``interrupted`` and
their leases freed when the state DB is next opened; older state DBs gain the pid columns."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from lakemend.state import leases
from lakemend.state.store import StateStore, jobs, runs, utcnow

DAY = dt.date(2025, 10, 21)
KEY = ("bronze.orders", DAY)

# A real writer: opens its run and a job, takes a lease, says so, then waits to be killed.
WRITER = textwrap.dedent("""
    import datetime as dt, sys, time
    from lakemend.state import leases
    from lakemend.state.store import StateStore
    store = StateStore(sys.argv[1])
    day = dt.date(2025, 10, 21)
    store.start_run("killed-run", "backfill", {}, "kill test")
    store.start_job("killed-run", "backfill", "bronze", "bronze.orders", day, "kill test", None, None)
    leases.acquire(store, [("bronze.orders", day)], "killed-run")
    print("ready", flush=True)
    time.sleep(600)
""")

# The same through the library's run lifecycle (run_scope: ledger row, held leases, heartbeat).
SCOPED_WRITER = textwrap.dedent("""
    import datetime as dt, sys, time
    from lakemend.lake import Lake
    from lakemend.ops.job import run_scope
    lake = Lake.open(sys.argv[1])
    day = dt.date(2025, 10, 21)
    with run_scope(lake, "killed-run", "backfill", {}, "kill test", hold=[("bronze.orders", day)]):
        lake.state.start_job("killed-run", "backfill", "bronze", "bronze.orders", day, "kill test", None, None)
        print("ready", flush=True)
        time.sleep(600)
""")


def start_and_kill(script: str, arg: str) -> int:
    """Run ``script`` in a real process until it prints "ready", SIGKILL it; its pid."""
    process = subprocess.Popen([sys.executable, "-c", script, arg], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        line = process.stdout.readline()
        assert line.strip() == "ready", (line, process.stderr.read() if process.poll() is not None else "")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    return process.pid


@pytest.fixture
def url(state_url: str) -> str:
    """A SQLite file, then a database on a real PostgreSQL server."""
    return state_url


def test_killed_run_is_interrupted_and_its_leases_freed(url: str) -> None:
    pid = start_and_kill(WRITER, url)
    store = StateStore(url)  # any command opening the state DB
    run = store.get_run("killed-run")
    assert run["status"] == "interrupted" and run["pid"] == pid and run["host"] == socket.gethostname()
    assert run["ended_at"] is not None and f"pid {pid}" in run["error"]
    (job,) = store.list_jobs(run_id="killed-run")
    assert job["status"] == "interrupted" and job["pid"] == pid and job["ended_at"] is not None
    assert store.list_jobs(status="running") == []
    assert leases.holders(store, [KEY], "someone-else") == []  # freed, not merely reclaimable
    leases.acquire(store, [KEY], "next-run")  # and a second writer takes it at once
    assert store.close_interrupted() == []  # idempotent


def test_live_run_stays_running(url: str) -> None:
    store = StateStore(url)
    store.start_run("live-run", "run", {}, None)
    store.start_job("live-run", "run", "bronze", "bronze.orders", DAY, None, None, None)
    leases.acquire(store, [KEY], "live-run")
    again = StateStore(url)
    assert again.close_interrupted() == []
    assert again.get_run("live-run")["status"] == "running" and again.get_run("live-run")["pid"] == os.getpid()
    assert [j["status"] for j in again.list_jobs(run_id="live-run")] == ["running"]
    assert [h.run_id for h in leases.holders(again, [KEY], "other")] == ["live-run"]


def _start_times_known() -> bool:
    try:
        import psutil  # noqa: F401
    except ImportError:
        return Path("/proc/self/stat").exists()
    return True


@pytest.mark.skipif(not _start_times_known(), reason="no process start times on this platform")
def test_a_reused_pid_does_not_keep_a_run_alive(url: str) -> None:
    """The pid is alive, but its process started after the run did: it is another process."""
    store = StateStore(url)
    host = socket.gethostname()
    long_ago = dt.datetime(2000, 1, 1)
    with store.engine.begin() as conn:
        conn.execute(insert(runs).values(run_id="old-run", command="run", args={}, host=host, pid=os.getpid(),
                                         status="running", started_at=long_ago))
        conn.execute(insert(jobs).values(run_id="old-run", command="run", layer="bronze", table_name="bronze.orders",
                                         day=DAY, host=host, pid=os.getpid(), status="running", started_at=long_ago))
    assert store.close_interrupted() == ["old-run"]
    assert store.get_run("old-run")["status"] == "interrupted"
    assert [j["status"] for j in store.list_jobs(run_id="old-run")] == ["interrupted"]


def test_rows_of_another_host_are_left_alone(url: str) -> None:
    store = StateStore(url)
    with store.engine.begin() as conn:
        conn.execute(insert(runs).values(run_id="remote-run", command="run", args={}, host="elsewhere.invalid",
                                         pid=2 ** 22 + 7, status="running", started_at=utcnow()))
    assert StateStore(url).get_run("remote-run")["status"] == "running"


def test_an_older_state_db_gains_the_pid_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    StateStore(url)
    with sqlite3.connect(tmp_path / "state.db") as db:  # the state DB as lakemend wrote it before pids (and Alembic)
        db.execute("DROP TABLE alembic_version")
        db.execute("ALTER TABLE jobs DROP COLUMN external_log_uri")
        db.execute("ALTER TABLE jobs DROP COLUMN external_id")
        db.execute("ALTER TABLE runs DROP COLUMN pid")
        db.execute("ALTER TABLE jobs DROP COLUMN pid")
        db.execute("INSERT INTO runs (run_id, command, args, host, status, started_at) "
                   f"VALUES ('pre-pid', 'run', '{{}}', '{socket.gethostname()}', 'running', '2025-10-01 00:00:00')")
    store = StateStore(url)
    StateStore(url)  # twice: idempotent
    with sqlite3.connect(tmp_path / "state.db") as db:
        for table in ("runs", "jobs"):
            assert "pid" in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    assert store.get_run("pre-pid")["status"] == "running"  # no pid recorded: nothing to judge by
    store.start_run("new-run", "run", {}, None)
    with store.engine.connect() as conn:
        assert conn.execute(select(runs.c.pid).where(runs.c.run_id == "new-run")).scalar_one() == os.getpid()


def test_runs_lists_interrupted_jobs_and_logs_follow_ends(example: Path, cli) -> None:
    pid = start_and_kill(SCOPED_WRITER, str(example))
    listed = cli("runs", "--status", "interrupted", "-o", "json", cwd=example)
    assert listed.code == 0, listed.err
    (job,) = json.loads(listed.out)
    assert job["run_id"] == "killed-run" and job["status"] == "interrupted" and job["pid"] == pid
    assert json.loads(cli("runs", "--status", "running", "-o", "json", cwd=example).out) == []
    started = time.monotonic()
    followed = cli("runs", "logs", "killed-run", "--follow", cwd=example)
    assert followed.code == 0 and time.monotonic() - started < 30, followed.err
    from lakemend.lake import Lake

    lake = Lake.open(example)
    assert lake.state.get_run("killed-run")["status"] == "interrupted"
    assert leases.holders(lake.state, [KEY], "other") == []


@pytest.mark.slow
def test_sigkilled_backfill_leaves_no_running_rows_nor_stage_branches(example: Path) -> None:
    """The CLI itself, killed while a job runs: the ledger says interrupted, the rerun cleans up."""
    from conftest import build

    from lakemend.lake import Lake

    days = ["--start", "2025-10-20", "--end", "2025-10-24"]
    assert not build(example, dt.date(2025, 10, 20), dt.date(2025, 10, 24)).failed
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")} | {"LAKEMEND_REASON": "kill test"}
    backfill = [sys.executable, "-m", "lakemend", "backfill", "bronze", "all", *days, "--downstream"]
    lake = Lake.open(example)
    before = {j["id"] for j in lake.state.list_jobs(limit=10_000)}
    process = subprocess.Popen(backfill, cwd=example, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300

    def wait_for_a_running_job(pause: float) -> None:
        while not [j for j in lake.state.list_jobs(status="running") if j["id"] not in before]:
            assert process.poll() is None and time.monotonic() < deadline, "the backfill ended before a job was seen"
            time.sleep(pause)

    wait_for_a_running_job(0.05)
    time.sleep(0.2)  # into the work, not at its start
    wait_for_a_running_job(0.005)  # that batch may have ended meanwhile: a job of the next one
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    after = Lake.open(example)
    assert after.state.list_jobs(status="running") == []
    assert {r["status"] for r in after.state.list_runs(limit=1)} == {"interrupted"}
    assert after.state.list_jobs(status="interrupted")
    with after.state.engine.connect() as conn:
        assert conn.execute(select(leases.leases)).all() == []
    rerun = subprocess.run(backfill, cwd=example, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert rerun.returncode == 0, rerun.stderr
    final = Lake.open(example)
    for spec in final.project.ordered:
        table = final.table(spec.qualified)
        assert table is not None
        assert not [n for n in table.metadata.refs if n.startswith("stage-")], spec.qualified
