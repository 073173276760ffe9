"""Benchmark: a long SIGKILL sweep over every mutating command (results in docs/reliability.md).

Run from the repository root with the project's venv:

    .venv/bin/python bench/bench_kill_sweep.py [--trials 210] [--seed 20251026]
        [--commands backfill,run,repair,quarantine,rollback,vacuum,incident close] [--minutes M]
        [--no-docs] [--keep]

What it does: the trials of tests/e2e/test_kill_commands.py (the set-ups and checks are in
tests/kill_trials.py), many more of them. The example company project (120 orders a day, landing
data for 2025-10-20 … 27) is built for three days; then, per command, its lake is prepared (the
*old* state) and the command runs once uninterrupted (the *reference*: the *new* state and its wall
time). Then, taking the commands in turn, ``--trials`` times (split evenly over the commands) the
command's old state is restored, the command started as a subprocess and SIGKILLed at a moment drawn
uniformly between the CLI's import time and the reference's wall time (``--seed``; when the command
finished first, that attempt is not a trial and the later moments are drawn below it, up to six
attempts per trial). After each kill every (table, day) must hold exactly its old or exactly its
new rows and every table must load and scan; then the same command runs again and must exit 0 (or,
for quarantine and incident close, refuse with its "already done" error) and leave rows, the
``status`` heatmap and the command's own state exactly as the reference did.

Prints a table (command, trials, old-or-new held, rerun exact, rerun exits, seconds) and writes it
between ``<!-- bench_kill_sweep:start -->`` and ``<!-- bench_kill_sweep:end -->`` in
docs/reliability.md (nothing else in the file is touched) unless ``--no-docs``. ``--minutes`` starts
no trial after that many minutes (the commands are taken in turn, so each gets its share; the text
says how many of the planned trials ran). Exits 1 when a trial failed a check (each failure is
listed, in the docs too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests"))
from bench_pipeline import machine
from docs_section import write_section
from kill_trials import (
    FAMILIES,
    FamilyResult,
    Outcome,
    Trials,
    make_base,
    startup_seconds,
)

DOCS = REPO / "docs" / "reliability.md"
START_MARK = "<!-- bench_kill_sweep:start -->"
END_MARK = "<!-- bench_kill_sweep:end -->"


def split(trials: int, commands: list[str]) -> dict[str, int]:
    share, extra = divmod(trials, len(commands))
    return {c: share + (1 if i < extra else 0) for i, c in enumerate(commands)}


def results_table(results: list[FamilyResult]) -> str:
    rows = [("| command | what is killed | trials (killed) | finished before the kill (redrawn) | old-or-new held | "
             "rerun exact | rerun exit codes | reference s | seconds |"),
            "|---|---|---:|---:|---:|---:|---|---:|---:|"]
    for r in results:
        killed = r.killed
        held = sum(o.old_or_new for o in killed)
        exact = sum(o.rerun_exact for o in killed)
        codes = {}
        for o in killed:
            codes[o.rerun_code] = codes.get(o.rerun_code, 0) + 1
        shown = ", ".join(f"{code}: {n}" for code, n in sorted(codes.items(), key=lambda kv: str(kv[0])))
        rows.append(f"| `{r.command}` | {FAMILIES[r.command].note} | {len(killed)} | {len(r.outcomes) - len(killed)} | "
                    f"{held}/{len(killed)} | {exact}/{len(killed)} | {shown} | {r.seconds_reference:.1f} | {r.seconds:.0f} |")
    total = [o for r in results for o in r.killed]
    rows.append(f"| **all** | | **{len(total)}** | {sum(len(r.outcomes) - len(r.killed) for r in results)} | "
                f"**{sum(o.old_or_new for o in total)}/{len(total)}** | **{sum(o.rerun_exact for o in total)}/{len(total)}** | | | "
                f"{sum(r.seconds for r in results):.0f} |")
    return "\n".join(rows)


def failures(results: list[FamilyResult]) -> list[str]:
    return [f"`{r.command}` killed after {o.kill_after:.2f} s: {p}" for r in results for o in r.outcomes for p in o.problems]


def section(args: argparse.Namespace, results: list[FamilyResult], minutes: float, planned: int) -> str:
    command = ".venv/bin/python bench/bench_kill_sweep.py " + shlex.join(sys.argv[1:])
    ran = sum(len(r.killed) for r in results)
    lines = [
        START_MARK,
        "### Results of the last sweep",
        "",
        (f"Measured {dt.date.today()} on {machine()}; the machine is shared, so the wall times are noisy. "
         f"{ran} kill trials ({planned} planned) in {minutes:.0f} minutes, seed {args.seed}. Command: `{command}`."),
        "",
        results_table(results),
    ]
    problems = failures(results)
    if problems:
        lines += ["", f"Failed checks ({len(problems)}):", ""] + [f"- {p}" for p in problems[:40]]
        if len(problems) > 40:
            lines.append(f"- … and {len(problems) - 40} more (see the benchmark's output)")
    else:
        lines += ["", "Every trial held old-or-new and every rerun ended exactly as the reference."]
    lines.append(END_MARK)
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=210, help="kill trials in all, split evenly over the commands (default 210)")
    parser.add_argument("--seed", type=int, default=20251026, help="seed of the kill moments (default 20251026)")
    parser.add_argument("--commands", default=",".join(FAMILIES), help=f"comma-separated subset of: {', '.join(FAMILIES)}")
    parser.add_argument("--minutes", type=float, default=None, help="start no trial after this many minutes")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/reliability.md")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (printed)")
    args = parser.parse_args()
    unknown = [c for c in args.commands.split(",") if c not in FAMILIES]
    if unknown or args.trials < 1:
        parser.error(f"unknown command(s) {unknown}" if unknown else "--trials must be at least 1")
    return args


def show(command: str, outcome: Outcome) -> None:
    state = "killed" if outcome.killed else "finished first"
    verdict = "ok" if not outcome.problems else "FAILED: " + " | ".join(outcome.problems)
    print(f"  {command:14} @ {outcome.kill_after:5.2f}s {state:14} rerun exit {outcome.rerun_code}  {verdict}", flush=True)


def main() -> int:
    args = parse_args()
    commands = args.commands.split(",")
    plan = split(args.trials, commands)
    work = Path(tempfile.mkdtemp(prefix="lakemend-kill-sweep-"))
    started = time.monotonic()
    families: dict[str, Trials] = {}
    try:
        folder = make_base(work / "company", work / "saved")
        startup = startup_seconds()
        print(f"base lake built in {time.monotonic() - started:.0f} s ({work}); CLI imports in {startup:.2f} s", flush=True)
        for command in commands:
            families[command] = Trials(folder, FAMILIES[command], random.Random(f"{args.seed}:{command}"), startup)
            print(f"{command}: prepared, reference {families[command].prepared.seconds:.1f} s", flush=True)
        budget = args.minutes * 60 if args.minutes is not None else float("inf")
        while time.monotonic() - started < budget:
            pending = [c for c in commands if len(families[c].result.killed) < plan[c]
                       and len(families[c].result.outcomes) < 6 * plan[c]]
            if not pending:
                break
            for command in pending:
                show(command, families[command].attempt())
                if time.monotonic() - started >= budget:
                    print(f"--minutes {args.minutes:g} reached", flush=True)
                    break
    finally:
        if args.keep:
            print(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results = [families[c].result for c in commands if c in families]
    minutes = (time.monotonic() - started) / 60
    text = section(args, results, minutes, args.trials)
    print("\n" + text.replace(START_MARK + "\n", "").replace("\n" + END_MARK, ""), flush=True)
    if not args.no_docs:
        write_section(DOCS, START_MARK, END_MARK, text, intro="# Reliability\n")
    return 1 if failures(results) else 0


if __name__ == "__main__":
    sys.exit(main())
