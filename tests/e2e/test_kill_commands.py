"""Crash safety of every mutating command: SIGKILL at random moments, old-or-new, honest rerun (slow; CI runs it).

One family per command (tests/kill_trials.py has the set-ups and the checks): backfill, run,
repair --late, quarantine, rollback, vacuum and incident close, each killed ``KILLS`` times at
moments drawn with a fixed seed. The longer sweep is bench/bench_kill_sweep.py (docs/reliability.md).
"""

from __future__ import annotations

import random

import pytest
from kill_trials import FAMILIES, Folder, make_base, run_family

KILLS = 5
SEED = 20251026


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    parent = tmp_path_factory.mktemp("kill")
    return make_base(parent / "company", parent / "saved")


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("command", list(FAMILIES))
def test_sigkill_leaves_old_or_new_and_an_honest_rerun_finishes(base: Folder, command: str) -> None:
    result = run_family(base, FAMILIES[command], KILLS, random.Random(f"{SEED}:{command}"))
    assert len(result.killed) == KILLS, f"only {len(result.killed)} of {len(result.outcomes)} attempts were killed"
    problems = [f"kill after {o.kill_after:.2f}s: {p}" for o in result.outcomes for p in o.problems]
    assert not problems, "\n".join(problems)
