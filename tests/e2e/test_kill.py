"""Crash safety: SIGKILL a 5-day downstream backfill at random moments, check, rerun (slow; CI runs it)."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import content
from conftest import START, build
from lakemend.examples.data import generate, parse_fault
from lakemend.lake import Lake

END5 = START + dt.timedelta(days=4)
KILLS = 20
BACKFILL = ["backfill", "bronze", "all", "--start", str(START), "--end", str(END5), "--downstream", "--max-parallel", "2"]



def run_cli(root: Path, args: list[str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")} | {"LAKEMEND_REASON": "kill test"}
    return subprocess.Popen([sys.executable, "-m", "lakemend", *args], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_old_or_new_rows(example: Path, tmp_path: Path) -> None:
    assert not build(example, START, END5).failed
    old = content(example)
    for offset in range(5):
        day = START + dt.timedelta(days=offset)
        generate(example / "landing", day, day, rows=120, faults=[parse_fault(f"late:{day}")])
    # the reference: the same backfill, uninterrupted, on a copy
    reference = tmp_path / "reference"
    shutil.copytree(example, reference, symlinks=True)
    shutil.rmtree(reference / "lake")
    for leftover in (reference / ".lakemend").glob("state.db*"):
        leftover.unlink()
    assert not build(reference, START, END5).failed
    new = content(reference)
    started = time.monotonic()
    assert run_cli(reference, BACKFILL).wait(timeout=600) == 0
    full = time.monotonic() - started
    assert content(reference) == new

    rng = random.Random(20251026)
    outcomes: list[str] = []
    while outcomes.count("killed") < KILLS:
        assert len(outcomes) < 3 * KILLS, outcomes
        process = run_cli(example, BACKFILL)
        time.sleep(rng.uniform(0.3, 0.9 * full))
        killed = process.poll() is None
        if killed:
            process.send_signal(signal.SIGKILL)
        code = process.wait(timeout=600)
        outcomes.append("killed" if killed else f"exit {code}")
        now = content(example)
        for key in set(old) | set(new) | set(now):
            assert now.get(key) in (old.get(key), new.get(key)), f"attempt {len(outcomes)}: {key} holds neither old nor new rows"
    final = run_cli(example, BACKFILL)
    assert final.wait(timeout=600) == 0, final.stderr.read() if final.stderr else ""
    assert content(example) == new
    # no duplicate rows anywhere: each bronze row once per record landed
    lake = Lake.open(example)
    orders = lake.table("bronze.orders").scan().to_arrow()
    assert orders.num_rows == sum(len(v) for k, v in new.items() if k[0] == "bronze.orders")
