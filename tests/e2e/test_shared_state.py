"""Shared state for a team: two project copies on two "hosts" share one PostgreSQL state DB (and one
lake). A lease held on one host refuses the other's writer; a pause set on one is obeyed on the
other, and lifted there; once the lease is released the other host's backfill publishes, once.

The hosts are real processes; as root each runs in its own UTS namespace (``unshare --uts``) with
its own host name, so neither can mistake the other's rows for its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import START, build
from support import configure

from lakemend.lake import Lake
from lakemend.state.store import PauseFlags

REASON = "shared state test"

# Host A's writer: holds the lease of bronze.orders START through the library's run lifecycle
# (ledger row, lease, heartbeat) until a line arrives on stdin.
HOLDER = textwrap.dedent("""
    import datetime as dt, sys
    from lakemend.lake import Lake
    from lakemend.ops.job import run_scope
    lake = Lake.open(sys.argv[1])
    day = dt.date.fromisoformat(sys.argv[2])
    with run_scope(lake, "shared-holder", "backfill", {}, "holding a lease", hold=[("bronze.orders", day)]):
        print("ready", flush=True)
        sys.stdin.readline()
""")


def _namespaces() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "--uts", "true"], capture_output=True, check=False).returncode == 0


SEPARATE_HOSTS = _namespaces()


def on_host(host: str, *command: str) -> list[str]:
    """``command`` run with the host name ``host`` when this machine allows it (root), else as is."""
    if not SEPARATE_HOSTS:
        return list(command)
    return ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host, *command]


def lakemend(host: str, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")} | {"LAKEMEND_REASON": REASON}
    return subprocess.run(on_host(host, sys.executable, "-m", "lakemend", *args), cwd=root, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture
def two_hosts(example: Path, tmp_path: Path, pg_url: str) -> tuple[Path, Path]:  # noqa: F811
    """Project copies A and B: one PostgreSQL state DB, one lake (A's warehouse, catalog, landing)."""
    a, b = example, tmp_path / "host-b" / "company"
    shutil.copytree(a, b, symlinks=True)
    configure(a, state=pg_url)
    configure(b, state=pg_url, warehouse=str(a / "lake"), raw=str(a / "landing"),
              catalog={"uri": f"sqlite:///{a / 'lake' / 'catalog.db'}"})
    assert not build(a, START, START).failed
    for root in (a, b):
        lake = Lake.open(root)
        assert lake.state.engine.dialect.name == "postgresql" and not (root / ".lakemend" / "state.db").exists()
    return a, b


def test_leases_and_pauses_are_shared_across_hosts(two_hosts: tuple[Path, Path]) -> None:
    a, b = two_hosts
    day = str(START)
    holder = subprocess.Popen(on_host("host-a", sys.executable, "-c", HOLDER, str(a), day), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline()
        assert line.strip() == "ready", (line, holder.stderr.read() if holder.poll() is not None else "")

        refused = lakemend("host-b", b, "backfill", "bronze", "orders", day)
        assert refused.returncode == 1, refused.stderr
        held_by = f"bronze.orders {day} is being written by run shared-holder on {'host-a' if SEPARATE_HOSTS else ''}"
        assert held_by in refused.stderr and "(pid " in refused.stderr

        assert lakemend("host-b", b, "pause", "--table", "silver.orders_clean", "--reason", "dupes on host b").returncode == 0
        paused = lakemend("host-a", a, "rebuild", "silver", "--table", "orders_clean", "--date", day, "--yes")
        assert paused.returncode != 0 and "silver.orders_clean is paused" in paused.stderr, paused.stderr
        assert "dupes on host b" in paused.stderr
        assert lakemend("host-a", a, "resume", "--table", "silver.orders_clean").returncode == 0
        assert PauseFlags(Lake.open(b).state).all() == {}
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=60) == 0, holder.stderr.read()

    published = lakemend("host-b", b, "backfill", "bronze", "orders", day)
    assert published.returncode == 0, published.stderr
    jobs = Lake.open(a).state.list_jobs(table="bronze.orders", limit=100)
    mine = [j for j in jobs if j["reason"] == REASON]
    assert [(str(j["day"]), j["status"]) for j in mine] == [(day, "succeeded")]  # the refused run wrote no job
    listed = json.loads(lakemend("host-a", a, "runs", "--table", "bronze.orders", "-o", "json").stdout)
    assert mine[0]["id"] and listed[0]["reason"] == REASON and listed[0]["host"] == mine[0]["host"]
    assert (listed[0]["external_id"], listed[0]["external_log_uri"]) == (None, None)  # ran here, not on EMR
    if SEPARATE_HOSTS:
        assert mine[0]["host"] == "host-b"
        assert {r["run_id"]: r["host"] for r in Lake.open(b).state.list_runs()}["shared-holder"] == "host-a"
