"""Crash safety of every mutating command: SIGKILL at random moments, old-or-new, honest rerun (slow; CI runs it).

One family per command (tests/kill_trials.py has the set-ups and the checks): backfill, run,
repair --late, quarantine, rollback, vacuum and incident close, each killed ``KILLS`` times at
moments drawn with a fixed seed. The longer sweep is bench/bench_kill_sweep.py (docs/reliability.md).
A window too short for random kills to hit is tested by leaving the state such a kill leaves.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from kill_trials import FAMILIES, Folder, make_base, run_family

from lakemend.lake import Lake
from lakemend.ops.incidents import default_postmortem_path, get_incident, open_incident

KILLS = 5
SEED = 20251026


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    parent = tmp_path_factory.mktemp("kill")
    return make_base(parent / "company", parent / "saved")


@pytest.mark.slow
@pytest.mark.parametrize("command", list(FAMILIES))
def test_sigkill_leaves_old_or_new_and_an_honest_rerun_finishes(base: Folder, command: str) -> None:
    result = run_family(base, FAMILIES[command], KILLS, random.Random(f"{SEED}:{command}"))
    assert len(result.killed) == KILLS, f"only {len(result.killed)} of {len(result.outcomes)} attempts were killed"
    problems = [f"kill after {o.kill_after:.2f}s: {p}" for o in result.outcomes for p in o.problems]
    assert not problems, "\n".join(problems)


def test_incident_close_reruns_after_a_kill_between_the_draft_and_the_close(example: Path, cli) -> None:
    lake = Lake.open(example)
    incident = open_incident(lake.state, "orders of 2025-10-21 look wrong")
    draft = default_postmortem_path(lake, incident.id)
    draft.parent.mkdir(parents=True, exist_ok=True)
    draft.write_text(f"# {incident.id}: orders of 2025-10-21 look wrong\n\n## Tim")  # cut short by the kill
    rerun = cli("incident", "close", incident.id, cwd=example)
    assert rerun.code == 0, rerun.err
    assert get_incident(Lake.open(example).state, incident.id).status == "closed"
    assert draft.read_text().rstrip().endswith("- [ ]")  # the whole draft
