"""SIGKILL trials for every mutating command, shared by tests/e2e/test_kill_commands.py and
bench/bench_kill_sweep.py.

A *family* is one command on one prepared lake (the *old* state). Its reference run -- the same
command, uninterrupted, in the same folder -- gives the *new* state and the command's duration.
Then each *trial* restores the old state, starts the command as a subprocess, SIGKILLs it at a
random moment of that duration, and checks:

* **old-or-new**: every (table, day) holds exactly its old rows or exactly its new rows
  (``support.content``: sorted rows, so a duplicate or a lost row is neither), and the catalog
  loads (every table is opened and scanned);
* **honest rerun**: the same command run again exits 0 (or, for a command that refuses to redo
  finished work, with its documented "already done" error) and leaves the lake exactly as the
  reference did: every table's rows, the ``status`` heatmap, and the family's own state (the
  incident and its post-mortem, the files vacuum keeps).

Every trial runs in the same folder (restored from a copy saved at that path), because the
catalog holds absolute paths: a lake copied elsewhere is refused (issue 11, item 7).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support import Content, content

START = dt.date(2025, 10, 20)
DAY = dt.timedelta(days=1)
BASE_END = START + 2 * DAY  # the base lake: three days built, landing data for eight
ROWS = 120
REASON = "kill trial"


def day(offset: int) -> str:
    return (START + offset * DAY).isoformat()


# ----- the project folder every trial of a family uses ------------------------------------------


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEMEND_")}
    return env | {"LAKEMEND_REASON": REASON, "COLUMNS": "200"}


def start_cli(root: Path, args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lakemend", *args], cwd=root, env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def run_cli(root: Path, args: list[str], timeout: float = 600) -> tuple[int, str]:
    process = start_cli(root, args)
    _, err = process.communicate(timeout=timeout)
    return process.returncode, err


def build(root: Path, start: dt.date, end: dt.date) -> str:
    """Build every table for the days through the library; returns the run id."""
    from lakemend.dates import day_range
    from lakemend.lake import Lake
    from lakemend.ops.runner import execute

    lake = Lake.open(root)
    report = execute(lake, command="run", days=day_range(start, end), tables=lake.project.ordered, reason=REASON)
    assert not report.failed, [r.error for r in report.failed]
    return report.run_id


def land_late(root: Path, days: list[int], source: str | None = None) -> None:
    """A late file for each day (the example generator's ``late`` fault)."""
    from lakemend.examples.data import generate, parse_fault

    for offset in days:
        when = START + offset * DAY
        fault = f"late:{when}" + (f":{source}" if source else "")
        generate(root / "landing", when, when, rows=ROWS, faults=[parse_fault(fault)])


@dataclass
class Folder:
    """The one project folder of the trials, and copies of it saved under other names."""

    root: Path
    saves: Path

    def save(self, name: str) -> None:
        target = self.saves / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.root, target, symlinks=True)

    def restore(self, name: str) -> None:
        shutil.rmtree(self.root)
        shutil.copytree(self.saves / name, self.root, symlinks=True)


def make_base(root: Path, saves: Path) -> Folder:
    """The example project (landing data for 2025-10-20 … 27) built for three days, saved as "base"."""
    from lakemend.examples.data import generate
    from lakemend.project.scaffold import init_project

    init_project(root, "company")
    generate(root / "landing", START, START + 7 * DAY, rows=ROWS)
    build(root, START, BASE_END)
    folder = Folder(root, saves)
    folder.save("base")
    return folder


# ----- the families ------------------------------------------------------------------------------


def status_cells(root: Path) -> dict[str, dict[str, str]]:
    from lakemend.lake import Lake
    from lakemend.ops.heatmap import build_heatmap

    lake = Lake.open(root)
    heat = build_heatmap(lake, lake.project.ordered, START, START + 7 * DAY)
    return {t: {str(d): s for d, s in row.items()} for t, row in heat.cells.items()}


def incident_state(root: Path) -> dict[str, Any]:
    from lakemend.lake import Lake
    from lakemend.state.incidents import list_incidents

    lake = Lake.open(root)
    drafts = sorted((root / ".lakemend" / "incidents").glob("*.md"))
    return {"incidents": {i.id: i.status for i in list_incidents(lake.state)},
            "drafts": {p.name: p.read_text().rstrip().endswith("- [ ]") for p in drafts}}  # complete drafts


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def lake_files(root: Path) -> list[str]:
    """What vacuum keeps: every file under the warehouse but the catalog database. The files a
    run writes itself (the metadata JSON of its own commits) get a random UUID in their name:
    it is left out, the version number stays."""
    lake = root / "lake"
    return sorted(_UUID.sub("<uuid>", p.relative_to(lake).as_posix()) for p in lake.rglob("*")
                  if p.is_file() and not p.name.startswith("catalog.db"))


@dataclass
class Family:
    """One mutating command on its prepared lake."""

    command: str
    prepare: Callable[[Path], list[str]]
    """Turns the base lake into the old state; returns the command's arguments."""
    extra: Callable[[Path], Any] = lambda root: None
    """More state the rerun must leave exactly as the reference did."""
    done: tuple[str, ...] = ()
    """stderr of a rerun that refuses because the killed run finished the work (exit 2 allowed then)."""
    note: str = ""


def _backfill(root: Path) -> list[str]:
    land_late(root, [0, 1], "orders")
    return ["backfill", "bronze", "orders", "--start", day(0), "--end", day(1), "--downstream", "--max-parallel", "2"]


def _run(root: Path) -> list[str]:
    return ["run", "--start", day(0), "--end", day(4)]  # days 3 and 4 are new, 0-2 up to date


def _repair(root: Path) -> list[str]:
    land_late(root, [1])
    return ["repair", "--late"]


def _quarantine(root: Path) -> list[str]:
    return ["quarantine", "--table", "silver.orders_clean", "--date", day(1), "--yes"]


def _rollback(root: Path) -> list[str]:
    land_late(root, [0, 1], "orders")
    run_id = build(root, START, BASE_END)  # bronze.orders 0-1 and their dependants rebuilt
    return ["rollback", "--table", "bronze.orders", "--to", f"pre-{run_id}", "--yes"]


def _vacuum(root: Path) -> list[str]:
    for offset, source in ((0, "orders"), (1, "hubspot"), (2, "orders")):  # three rebuilds: old snapshots and files
        land_late(root, [offset], source)
        build(root, START, BASE_END)
    return ["vacuum", "--older-than", "0d", "--yes"]


def _incident(root: Path) -> list[str]:
    from lakemend.lake import Lake
    from lakemend.ops.incidents import add_note, open_incident

    lake = Lake.open(root)
    incident = open_incident(lake.state, "orders of 2025-10-21 look wrong")
    add_note(lake.state, incident.id, "quarantined silver.orders_clean 2025-10-21 while we look")
    code, err = run_cli(root, ["quarantine", "--table", "silver.orders_clean", "--date", day(1), "--yes"])
    assert code == 0, err
    return ["incident", "close", incident.id, "--summary", "a bad export; rebuilt"]


FAMILIES: dict[str, Family] = {f.command: f for f in (
    Family("backfill", _backfill, note="bronze orders, 2 days with late files, --downstream"),
    Family("run", _run, note="the pipeline over 5 days: 2 new days to build"),
    Family("repair", _repair, note="repair --late after late files for both sources on one day"),
    Family("quarantine", _quarantine, done=("has no published partition",), note="one silver day"),
    Family("rollback", _rollback, note="bronze.orders back to the restore point before a 2-day rebuild"),
    Family("vacuum", _vacuum, extra=lake_files, note="--older-than 0d --yes after three rebuilds"),
    Family("incident close", _incident, extra=incident_state, done=("is already closed",),
           note="verify every table, write the post-mortem, close"),
)}


# ----- the trials --------------------------------------------------------------------------------


@dataclass
class Outcome:
    kill_after: float
    killed: bool  # False: the command finished before the kill was due
    old_or_new: bool = True
    rerun_exact: bool = True
    rerun_code: int | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class FamilyResult:
    command: str
    seconds_reference: float
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def killed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.killed]


@dataclass
class Prepared:
    family: Family
    args: list[str]
    old: Content
    new: Content
    final: dict[str, Any]
    seconds: float  # the uninterrupted command, start to exit


def observe(root: Path, family: Family) -> dict[str, Any]:
    return {"content": content(root), "status": status_cells(root), "extra": family.extra(root)}


def prepare(folder: Folder, family: Family) -> Prepared:
    """Old state (saved as the family's name), reference run, new state."""
    folder.restore("base")
    args = family.prepare(folder.root)
    folder.save(family.command)
    old = content(folder.root)
    started = time.monotonic()
    code, err = run_cli(folder.root, args)
    seconds = time.monotonic() - started
    assert code == 0, f"the reference {family.command} failed: {err}"
    final = observe(folder.root, family)
    assert final["content"] != old or family.command in ("vacuum", "incident close"), f"{family.command} changed nothing"
    return Prepared(family, args, old, final["content"], final, seconds)


def trial(folder: Folder, prepared: Prepared, kill_after: float) -> Outcome:
    """Restore the old state, SIGKILL the command after ``kill_after`` seconds, check, rerun, check."""
    family = prepared.family
    folder.restore(family.command)
    process = start_cli(folder.root, prepared.args)
    try:
        process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    outcome = Outcome(kill_after, killed=process.returncode == -signal.SIGKILL)
    if process.returncode not in (0, -signal.SIGKILL):
        outcome.problems.append(f"the command failed by itself (exit {process.returncode}): {process.stderr.read()[-500:]}")
    process.stderr.close()
    try:
        now = content(folder.root)
    except Exception as exc:  # noqa: BLE001 - a lake that cannot be read is the finding
        outcome.old_or_new = False
        outcome.problems.append(f"catalog or data not readable after the kill: {type(exc).__name__}: {exc}")
    else:
        for key in sorted(set(prepared.old) | set(prepared.new) | set(now)):
            if now.get(key) not in (prepared.old.get(key), prepared.new.get(key)):
                outcome.old_or_new = False
                outcome.problems.append(f"{key[0]} {key[1]} holds neither the old nor the new rows")
    code, err = run_cli(folder.root, prepared.args)
    outcome.rerun_code = code
    if code != 0 and not (code == 2 and any(text in err for text in family.done)):
        outcome.rerun_exact = False
        outcome.problems.append(f"the rerun exited {code}: {err.strip()[-500:]}")
    try:
        final = observe(folder.root, family)
    except Exception as exc:  # noqa: BLE001
        outcome.rerun_exact = False
        outcome.problems.append(f"not readable after the rerun: {type(exc).__name__}: {exc}")
    else:
        for part in ("content", "status", "extra"):
            if final[part] != prepared.final[part]:
                outcome.rerun_exact = False
                outcome.problems.append(f"after the rerun, {part} differs from the reference: {_difference(final[part], prepared.final[part])}")
    return outcome


def _difference(got: Any, want: Any) -> str:
    if isinstance(got, dict) and isinstance(want, dict):
        keys = sorted({k for k in set(got) | set(want) if got.get(k) != want.get(k)}, key=str)
        return "; ".join(f"{k}: {_short(got.get(k))} (reference {_short(want.get(k))})" for k in keys[:6])
    if isinstance(got, list) and isinstance(want, list):
        return f"only after the rerun: {sorted(set(got) - set(want))[:6]}, only in the reference: {sorted(set(want) - set(got))[:6]}"
    return f"{_short(got)} (reference {_short(want)})"


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, list) else f"{len(value)} rows"
    return text if len(text) < 160 else text[:160] + "…"


def startup_seconds() -> float:
    """How long the CLI takes to import what every mutating command imports (the fastest of two);
    without the interpreter's teardown, which the CLI skips too (``cli/app._leave``)."""
    code = "import lakemend.cli.app, lakemend.lake, lakemend.ops.runner, lakemend.iceberg.sql_catalog, duckdb, os; os._exit(0)"
    times = []
    for _ in range(2):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", code], check=True, env=cli_env())
        times.append(time.monotonic() - started)
    return min(times)


class Trials:
    """The trials of one family: kill moments drawn uniformly from (start-up, the command's duration).

    Dying while the interpreter imports proves little, so no moment is drawn before the CLI's
    import time. When the command finished before its moment, the attempt is not a trial; the
    moments drawn after that stay below it (the command is evidently faster than the reference).
    """

    def __init__(self, folder: Folder, family: Family, rng: random.Random, startup: float) -> None:
        started = time.monotonic()
        self.folder, self.rng = folder, rng
        self.prepared = prepare(folder, family)
        self.result = FamilyResult(family.command, self.prepared.seconds)
        self.low = min(startup, self.prepared.seconds / 2)
        self.high = self.prepared.seconds
        self.result.seconds = time.monotonic() - started

    def attempt(self) -> Outcome:
        started = time.monotonic()
        outcome = trial(self.folder, self.prepared, self.rng.uniform(self.low, self.high))
        if not outcome.killed:
            self.high = max(self.low + 0.1, outcome.kill_after)
        self.result.outcomes.append(outcome)
        self.result.seconds += time.monotonic() - started
        return outcome


def run_family(folder: Folder, family: Family, kills: int, rng: random.Random,
               on_outcome: Callable[[Outcome], None] | None = None) -> FamilyResult:
    """``kills`` trials that SIGKILLed the command (up to six attempts per trial)."""
    trials = Trials(folder, family, rng, startup_seconds())
    while len(trials.result.killed) < kills and len(trials.result.outcomes) < 6 * kills:
        outcome = trials.attempt()
        if on_outcome:
            on_outcome(outcome)
    return trials.result
