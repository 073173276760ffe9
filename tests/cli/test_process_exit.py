"""The ``lakemend`` process leaves without Python's teardown (``cli/app._leave``), and still does
everything a normal exit does that matters: its exit code, other threads waited for, ``atexit``
handlers run, output flushed, the state DB's write-ahead log folded back into the file."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

_LEAVE = textwrap.dedent("""
    import atexit, sys, threading, time
    from lakemend.cli.app import _leave
    atexit.register(lambda: print("atexit ran", flush=True))
    worker = threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished", flush=True)))
    worker.start()
    print("buffered", end="")
    _leave(int(sys.argv[1]) if sys.argv[1].isdigit() else sys.argv[1])
    print("never")
""")


def _leave(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _LEAVE, code], capture_output=True, text=True, timeout=60)


def test_leaving_waits_for_threads_runs_atexit_flushes_and_keeps_the_code() -> None:
    done = _leave("3")
    assert done.returncode == 3, done.stderr
    assert done.stdout.splitlines() == ["bufferedthread finished", "atexit ran"]
    assert "never" not in done.stdout
    message = _leave("bye")  # sys.exit("bye"): printed, exit 1
    assert (message.returncode, message.stderr.strip()) == (1, "bye")


def _lakemend(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAKEMEND_REASON": "exit test"}
    return subprocess.run([sys.executable, "-m", "lakemend", "-C", str(project), *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_a_real_process_exits_with_its_code_and_leaves_no_write_ahead_log(example: Path) -> None:
    day = dt.date(2025, 10, 20).isoformat()
    built = _lakemend(example, "run", "--date", day, "--select", "bronze.orders")
    assert built.returncode == 0, built.stderr
    assert "1 partition(s) built" in " ".join(built.stdout.split())
    state = example / ".lakemend" / "state.db"
    assert state.is_file()
    assert not state.with_name("state.db-wal").exists()  # the last connection closed: log folded back
    for look in ("status", "gaps", "late"):  # read through sqlite3 (state.sqlite_reads), not the store
        assert _lakemend(example, look).returncode == 0
        assert not state.with_name("state.db-wal").exists(), look
    bad = _lakemend(example, "backfill", "bronze", "orders", "2025-13-40")
    assert bad.returncode == 2
    assert "invalid date '2025-13-40'" in bad.stderr
    failed = _lakemend(example, "verify", "--date", day, "--table", "no_such_table")
    assert failed.returncode != 0 and "no_such_table" in failed.stderr


def test_under_a_profiler_the_exit_is_the_normal_one(tmp_path: Path) -> None:
    stats = tmp_path / "version.prof"
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(stats), "-m", "lakemend", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert stats.is_file() and stats.stat().st_size > 0  # cProfile writes it after lakemend returned


_GC_AT_EXIT = textwrap.dedent("""
    import atexit, gc, sys
    atexit.register(lambda: print("gc", *gc.get_threshold()[:2], gc.get_freeze_count() > 0, flush=True))
    sys.argv = ["lakemend", *sys.argv[1:]]
    from lakemend.cli import main  # the console script's entry point
    main()
""")


def test_the_process_collects_garbage_rarely_until_a_build_begins(example: Path) -> None:
    """``lakemend.startup``: the process starts with a high collection threshold; the first day a
    build works on freezes what the imports made and brings Python's threshold back."""
    import gc

    from lakemend.startup import STARTUP_OLDER_THRESHOLD, STARTUP_THRESHOLD

    def threshold_at_exit(*args: str) -> str:
        env = {**os.environ, "LAKEMEND_REASON": "gc test"}
        done = subprocess.run([sys.executable, "-c", _GC_AT_EXIT, "-C", str(example), *args], capture_output=True,
                              text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()[-1]

    assert threshold_at_exit("status") == f"gc {STARTUP_THRESHOLD} {STARTUP_OLDER_THRESHOLD} False"
    built = threshold_at_exit("run", "--date", "2025-10-20", "--select", "bronze.orders")
    assert built == f"gc {' '.join(map(str, gc.get_threshold()[:2]))} True"
