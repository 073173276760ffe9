"""Ctrl-C (a real SIGINT to a real ``lakemend`` process): one line naming the run and how to resume,
exit 130, and no ledger row left ``running`` — read straight from the SQLite file, since opening a
StateStore would close a dead process's rows itself and hide the bug."""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kill_trials import cli_env

pytestmark = pytest.mark.slow


def _ledger(root: Path) -> tuple[list[tuple], list[tuple]]:
    con = sqlite3.connect(root / ".lakemend" / "state.db")
    try:
        runs = con.execute("SELECT run_id, command, status, error FROM runs ORDER BY started_at").fetchall()
        jobs = con.execute("SELECT run_id, table_name, day, status FROM jobs ORDER BY id").fetchall()
        return runs, jobs
    finally:
        con.close()


def _start(root: Path, args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lakemend", *args], cwd=root, env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _interrupt_when_jobs_run(root: Path, process: subprocess.Popen, jobs_done: int) -> None:
    """SIGINT once at least ``jobs_done`` jobs finished and one is running (mid-run, not before or after)."""
    database = root / ".lakemend" / "state.db"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, "the command ended before it could be interrupted"
        if database.exists():
            try:
                _, jobs = _ledger(root)
            except sqlite3.OperationalError:  # the schema is being created
                jobs = []
            done = [j for j in jobs if j[3] == "succeeded"]
            if len(done) >= jobs_done and any(j[3] == "running" for j in jobs):
                process.send_signal(signal.SIGINT)
                return
        time.sleep(0.02)
    raise AssertionError("no job ran within 300 s")


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("Error:")]


def test_ctrl_c_mid_run_closes_the_run_and_its_jobs(example: Path) -> None:
    process = _start(example, ["run", "--start", "2025-10-20", "--end", "2025-10-27"])
    _interrupt_when_jobs_run(example, process, jobs_done=3)
    started = time.monotonic()
    _, err = process.communicate(timeout=120)
    assert time.monotonic() - started < 30  # it stops: no waiting for the rest of the run
    assert process.returncode == 130, err

    runs, jobs = _ledger(example)
    (run_id, command, status, error), = runs
    assert (command, status) == ("run", "interrupted") and "KeyboardInterrupt" in error
    assert not [j for j in jobs if j[3] == "running"], jobs
    assert any(j[3] == "interrupted" for j in jobs), jobs  # the job Ctrl-C stopped, recorded as such
    assert {j[3] for j in jobs} <= {"succeeded", "interrupted"}

    lines = _error_lines(err)
    assert len(lines) == 1, err
    assert run_id in lines[0] and "rerun the same command" in lines[0], lines[0]
    assert "Traceback" not in err

    # the ledger commands agree: nothing running, and following its log ends
    code, out, _ = _run(example, ["runs", "--status", "running", "-o", "json"])
    assert code == 0 and out.strip() == "[]"
    code, _, err = _run(example, ["runs", "logs", run_id, "--follow"], timeout=60)
    assert code == 0, err

    # the report counts it as interrupted, not as failed
    code, out, err = _run(example, ["report", "--out", str(example / "report.html")])
    assert code == 0, err
    html = (example / "report.html").read_text(encoding="utf-8")
    stopped = sum(1 for j in jobs if j[3] == "interrupted")
    assert f"{len(jobs) - stopped} ok, 0 failed, {stopped} interrupted" in html  # the run's line
    assert f"<b>{stopped}</b><span>jobs interrupted</span>" in html  # the summary card

    # rerunning the same command finishes the work
    code, _, err = _run(example, ["run", "--start", "2025-10-20", "--end", "2025-10-27"])
    assert code == 0, err
    runs, jobs = _ledger(example)
    assert runs[-1][2] == "succeeded" and not [j for j in jobs if j[3] == "running"]


def test_ctrl_c_in_a_backfill_names_runs_resume(example: Path) -> None:
    code, _, err = _run(example, ["run", "--start", "2025-10-20", "--end", "2025-10-22"])
    assert code == 0, err
    process = _start(example, ["rebuild", "silver", "--table", "all", "--start", "2025-10-20", "--end", "2025-10-22",
                               "--downstream", "--max-parallel", "2"])
    _interrupt_when_jobs_run(example, process, jobs_done=18 + 1)  # the run's 18 jobs, then one of the rebuild's
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    runs, jobs = _ledger(example)
    run_id = runs[-1][0]
    assert runs[-1][1:3] == ("rebuild silver", "interrupted")
    assert not [j for j in jobs if j[3] == "running"], jobs
    (line,) = _error_lines(err)
    assert f"lakemend runs resume {run_id}" in line, line

    code, _, err = _run(example, ["runs", "resume", run_id])
    assert code == 0, err


def test_ctrl_c_at_the_reason_prompt(example: Path) -> None:
    """On a terminal the reason is asked for; Ctrl-C there is an interruption before any run."""
    env = {k: v for k, v in cli_env().items() if k != "LAKEMEND_REASON"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: lakemend on a terminal
        os.chdir(example)
        os.execve(sys.executable, [sys.executable, "-m", "lakemend", "pause", "--all"], env)
    seen = b""
    deadline = time.monotonic() + 120
    while b"Why are you running this?" not in seen:
        assert time.monotonic() < deadline, seen
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:  # the child ended without asking
                raise AssertionError(seen.decode(errors="replace")) from None
    _wait_until_blocked_reading(pid)
    os.kill(pid, signal.SIGINT)
    for chunk in _terminal_output(fd):
        seen += chunk
    _, status = os.waitpid(pid, 0)
    text = seen.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 130, text
    assert len([line for line in text.splitlines() if "Error:" in line]) == 1, text
    assert "interrupted before any run started" in text and "Traceback" not in text
    assert "Aborted" not in text and "unexpected" not in text
    assert _paused(example) == ""  # nothing was paused


def _terminal_output(fd: int, wait: float | None = None) -> Iterator[bytes]:
    """What the child writes to its terminal, as it comes, until it closes it; with ``wait``, also
    ``b""`` after each ``wait`` seconds without output, so that the caller can act meanwhile."""
    while True:
        if wait is not None and not select.select([fd], [], [], wait)[0]:
            yield b""
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child ended
            return
        if not chunk:
            return
        yield chunk


def _wait_until_blocked_reading(pid: int) -> None:
    """Until the child, its prompt written, sleeps in the terminal read. A SIGINT that lands after
    the prompt but before the read blocks is only acted on when the read returns (CPython checks
    for signals when a blocking call is interrupted, not before it blocks): a person's Ctrl-C
    comes later than that, a test's may not."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        if state == "S":
            return
        time.sleep(0.01)
    raise AssertionError("the child never waited for the answer")


def _paused(root: Path) -> str:
    if not (root / ".lakemend" / "state.db").exists():
        return ""
    con = sqlite3.connect(root / ".lakemend" / "state.db")
    try:
        return " ".join(str(r) for r in con.execute("SELECT * FROM pauses"))
    except sqlite3.OperationalError:
        return ""
    finally:
        con.close()


def _run(root: Path, args: list[str], timeout: float = 300) -> tuple[int, str, str]:
    process = _start(root, args)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def test_ctrl_c_while_verify_reads_days_side_by_side(example: Path) -> None:
    """Verify reads its days on threads: a Ctrl-C while it reads (its progress bar past a few days)
    stops it at once, with one line and exit 130, and no traceback from a thread."""
    import re

    from conftest import build

    assert not build(example).failed
    root = example
    pid, fd = pty.fork()
    if pid == 0:  # the child: lakemend on a terminal, so that its progress bar is drawn
        os.chdir(root)
        os.execve(sys.executable, [sys.executable, "-m", "lakemend", "verify"], cli_env())
    seen, sent = b"", None
    for chunk in _terminal_output(fd, wait=0.05):
        seen += chunk
        steps = re.findall(rb"(\d+)/(\d+)", seen)
        if sent is None and steps and 3 <= int(steps[-1][0]) < int(steps[-1][1]):
            os.kill(pid, signal.SIGINT)
            sent = time.monotonic()
    _, status = os.waitpid(pid, 0)
    text = seen.decode(errors="replace")
    assert sent is not None, f"verify ended before it could be interrupted: {text}"
    assert time.monotonic() - sent < 10, text  # it stops: the days not started are not read
    assert os.waitstatus_to_exitcode(status) == 130, text
    assert len([line for line in text.splitlines() if "Error:" in line]) == 1, text
    assert "Traceback" not in text and "Verified" not in text
