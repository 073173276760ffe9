"""Repair resumes from storage truth: a rerun after a killed repair finds every partition still stale.

A killed ``repair --late`` that rebuilt the bronze days (their fingerprints recorded) but not
their dependants used to look finished: ``late`` listed nothing, ``status`` said stale 0 and the
rerun said "Nothing to repair (late)". ``status``, ``late``, ``repair --late`` and
``repair --stale`` now share one staleness (``recovery.find_stale``), so they agree.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import START, build
from support import content

from lakemend.examples.data import generate, parse_fault
from lakemend.lake import Lake

D = dt.date
LAST = D(2025, 10, 22)
LATE = D(2025, 10, 21)
# hubspot's late export on LATE: bronze, then its silver day, then every later gold day (upto)
DOWNSTREAM = {"silver.customers_clean": ["2025-10-21"], "gold.customer_orders": ["2025-10-21", "2025-10-22"]}
BRONZE = {"bronze.hubspot_contacts": ["2025-10-21"]}


@pytest.fixture
def three_days(example: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example built for START … LAST, with only those days landed (no gaps)."""
    for folder in (example / "landing").glob("*/**/2025-10-2[3-7]"):
        shutil.rmtree(folder)
    assert not build(example, START, LAST).failed
    monkeypatch.setenv("LAKEMEND_REASON", "late CRM export")
    return example


def land_late_export(root: Path) -> None:
    generate(root / "landing", LATE, LATE, rows=120, faults=[parse_fault("late:2025-10-21:hubspot")])


def rebuild_bronze_only(root: Path) -> None:
    """What a repair killed after its bronze step leaves: the bronze day rebuilt, its dependants not."""
    from lakemend.ops.backfill import ApplyOptions, apply, make_plan

    lake = Lake.open(root)
    plan = make_plan(lake, command="repair", layer="bronze", name="hubspot", days=[LATE], downstream=False)
    assert [(p.table, p.day) for p in plan.todo] == [("bronze.hubspot_contacts", LATE)]
    assert not apply(lake, plan, ApplyOptions(reason="killed repair")).failed


def status_stale(cli, root: Path) -> dict[str, list[str]]:
    result = cli("status", "--output", "json", cwd=root)
    assert result.code == 0, result.err
    cells = json.loads(result.out)["tables"]
    found = {t: sorted(d for d, s in row.items() if s == "stale") for t, row in cells.items()}
    return {t: days for t, days in found.items() if days}


def late_report(cli, root: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    result = cli("late", "--output", "json", cwd=root)
    assert result.code == 0, result.err
    found = json.loads(result.out)
    late: dict[str, list[str]] = {}
    for item in found["late"]:
        late.setdefault(item["table"], []).append(item["day"])
    return late, found["downstream"]


def planned(cli, root: Path, *flags: str) -> dict[str, list[str]]:
    result = cli("repair", *flags, "--dry-run", "--output", "json", cwd=root)
    assert result.code == 0, result.err
    plan = json.loads(result.out)["plan"] or {"partitions": []}
    out: dict[str, list[str]] = {}
    for part in plan["partitions"]:
        out.setdefault(part["table"], []).append(part["day"])
    return {t: sorted(days) for t, days in out.items()}


def reference(root: Path, tmp_path: Path) -> dict:
    """The same landing data built from nothing: what every table must hold after the repair."""
    scratch = tmp_path / "scratch"
    shutil.copytree(root, scratch, symlinks=True, ignore=shutil.ignore_patterns("lake", "state.db*", "logs"))
    assert not build(scratch, START, LAST).failed
    return content(scratch)


def test_late_status_and_repair_agree_on_late_landing_data(three_days: Path, cli) -> None:
    assert status_stale(cli, three_days) == {}
    land_late_export(three_days)
    late, downstream = late_report(cli, three_days)
    assert (late, downstream) == (BRONZE, DOWNSTREAM)
    everything = {**BRONZE, **DOWNSTREAM}
    assert status_stale(cli, three_days) == everything
    assert planned(cli, three_days, "--stale") == everything
    assert planned(cli, three_days, "--late") == everything


def test_rerun_after_a_repair_killed_after_bronze_rebuilds_the_stale_downstream(
        three_days: Path, cli, tmp_path: Path) -> None:
    land_late_export(three_days)
    rebuild_bronze_only(three_days)
    # storage truth: the bronze day is new, the silver and gold days built from its old files are stale
    assert late_report(cli, three_days) == ({}, DOWNSTREAM)
    assert status_stale(cli, three_days) == DOWNSTREAM
    assert planned(cli, three_days, "--stale") == DOWNSTREAM
    assert planned(cli, three_days, "--late") == DOWNSTREAM

    result = cli("repair", "--late", "--output", "json", cwd=three_days)
    assert result.code == 0, result.err
    rebuilt = {(j["table"], j["day"]) for j in json.loads(result.out)["jobs"]}
    assert rebuilt == {(t, d) for t, days in DOWNSTREAM.items() for d in days}

    assert status_stale(cli, three_days) == {}
    assert late_report(cli, three_days) == ({}, {})
    assert planned(cli, three_days, "--stale") == {}
    again = cli("repair", "--late", cwd=three_days)
    assert again.code == 0 and "Nothing to repair (late)" in again.out
    assert content(three_days) == reference(three_days, tmp_path)


def run_cli(root: Path, args: list[str]) -> subprocess.Popen:
    """The CLI as its own process (as tests/e2e/test_kill.py runs it), so it can be SIGKILLed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")} | {"LAKEMEND_REASON": "kill test"}
    return subprocess.Popen([sys.executable, "-m", "lakemend", *args], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkilled_repair_late_reruns_to_the_clean_result(three_days: Path, tmp_path: Path) -> None:
    from lakemend.ops.recovery import find_stale

    timing = tmp_path / "timing"  # the same repair, uninterrupted, to know how long it takes
    shutil.copytree(three_days, timing, symlinks=True, ignore=shutil.ignore_patterns("lake", "state.db*", "logs"))
    assert not build(timing, START, LAST).failed
    land_late_export(timing)
    started = time.monotonic()
    assert run_cli(timing, ["repair", "--late"]).wait(timeout=600) == 0
    full = time.monotonic() - started

    land_late_export(three_days)
    expected = reference(three_days, tmp_path)
    # first a kill right after the bronze day is rebuilt (its new fingerprints recorded), while its
    # dependants are still old: the moment that used to make the rerun say "Nothing to repair"
    state = Lake.open(three_days).state
    late_file = "hubspot/contacts/2025-10-21/contacts-late-0001.jsonl"
    process = run_cli(three_days, ["repair", "--late"])
    deadline = time.monotonic() + 600
    while late_file not in {f.path for f in state.fingerprints("bronze.hubspot_contacts", LATE)}:
        assert process.poll() is None and time.monotonic() < deadline, "the repair ended before its bronze step was seen"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=600)
    assert find_stale(Lake.open(three_days)), "killed after bronze: its dependants must still be stale"
    # then reruns killed at random moments, then one that finishes
    rng = random.Random(20251021)
    for _ in range(2):
        process = run_cli(three_days, ["repair", "--late"])
        time.sleep(rng.uniform(0.2, 0.9) * full)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=600)
    final = run_cli(three_days, ["repair", "--late"])
    assert final.wait(timeout=600) == 0, final.stderr.read() if final.stderr else ""
    assert content(three_days) == expected
    assert find_stale(Lake.open(three_days)) == {}


@pytest.mark.parametrize("last", [1, 2, 14])
def test_status_shows_for_its_days_what_the_whole_lake_scan_finds(three_days: Path, last: int) -> None:
    """``status`` reads only what its cells depend on (``PresentDays``, ``ExpectedDays``,
    ``upstream_scope``): its cells equal those from every day's presence, expectation and the
    whole staleness scan — also for a gold day stale through an ``upto`` input day it does not show."""
    from lakemend.ops.heatmap import build_heatmap
    from lakemend.ops.reads import LakeReads
    from lakemend.ops.recovery import expected_days, find_stale, present_days

    land_late_export(three_days)
    [lost] = (three_days / "lake" / "bronze" / "orders" / f"day={START}").glob("*.parquet")
    lost.unlink()
    lake = Lake.open(three_days)
    specs = lake.project.ordered
    heat = build_heatmap(lake, specs, None, None, last=last)

    whole = Lake.open(three_days)
    reads = LakeReads(whole)
    present = {s.qualified: present_days(whole, s.qualified, reads) for s in specs}
    expected = {s.qualified: expected_days(whole, s, {}, reads) for s in specs}
    stale = find_stale(whole, reads)
    days = sorted(set().union(*present.values(), *expected.values()))[-last:]
    assert heat.days == tuple(days)
    for spec in specs:
        row = {}
        for day in days:
            if day in expected[spec.qualified] and day not in present[spec.qualified]:
                row[day] = "missing"
            elif day in stale.get(spec.qualified, ()):
                row[day] = "stale"
            elif day in present[spec.qualified]:
                row[day] = "published"
        assert heat.cells[spec.qualified] == row, spec.qualified
    assert heat.cells["gold.customer_orders"][LAST] == "stale"  # via customers_clean LATE, upto
    if last == 14:
        assert heat.cells["bronze.orders"][START] == "missing"
