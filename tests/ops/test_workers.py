"""``in_threads``: Ctrl-C (a real SIGINT, in a child process so it cannot reach pytest) stops the
pool with every thread joined, whenever it lands; results keep item order."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from lakemend.ops.workers import in_threads

# Item 0 sends the Ctrl-C while the pool may still be starting threads for the later items; the
# others wait until stopped. After the KeyboardInterrupt no thread of the pool may still run.
_CHILD = textwrap.dedent("""
    import os, signal, threading, time
    from lakemend.ops.workers import in_threads

    for attempt in range(40):
        stopped = threading.Event()
        started = []

        def work(item):
            started.append(item)
            if item == 0:
                os.kill(os.getpid(), signal.SIGINT)
            stopped.wait(30)
            return item

        try:
            in_threads(list(range(8)), work, 8, name="trial", stop=stopped.set)
        except KeyboardInterrupt:
            pass
        else:
            raise SystemExit("no KeyboardInterrupt")
        alive = [t.name for t in threading.enumerate() if t.name.startswith("trial")]
        if alive:
            raise SystemExit(f"attempt {attempt}: still running after the interrupt: {alive}")
    print("ok", flush=True)
""")


def test_ctrl_c_whenever_it_lands_leaves_no_thread_running() -> None:
    child = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=300)
    assert child.returncode == 0 and child.stdout.strip() == "ok", (child.stdout, child.stderr)


def test_results_come_in_item_order_and_an_error_stops_the_rest() -> None:
    seen: list[int] = []
    in_threads([3, 1, 2], lambda n: (time.sleep(n / 100), n)[1], 3, name="order", stop=lambda: None, each=seen.append)
    assert seen == [3, 1, 2]

    stopped = threading.Event()
    ran: list[int] = []

    def work(n: int) -> int:
        ran.append(n)
        if n == 0:
            raise ValueError("day 0 broke")
        stopped.wait(30)
        return n

    with pytest.raises(ValueError, match="day 0 broke"):
        in_threads(list(range(20)), work, 2, name="failing", stop=stopped.set)
    assert stopped.is_set() and len(ran) < 20  # the items not started never ran
    assert not [t for t in threading.enumerate() if t.name.startswith("failing")]


# A Ctrl-C that lands in a weakref callback: Python prints "Exception ignored in …" and drops the
# KeyboardInterrupt (what CI once saw mid-rebuild, in importlib's module-lock callback).
_DROPPED = textwrap.dedent("""
    import os, signal, threading, weakref
    from lakemend.interrupts import interrupts_remembered
    from lakemend.ops.workers import in_threads

    class Lock:
        pass

    def callback(ref):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100_000):  # the handler runs here, and its exception is dropped
            pass

    stopped = threading.Event()
    with interrupts_remembered():
        lock = Lock()
        ref = weakref.ref(lock, callback)
        del lock
        print("dropped", flush=True)  # reached: the KeyboardInterrupt did not get out
        weakref.ref(Lock(), lambda ref: 1 / 0)  # any other dropped exception is still reported
        try:
            in_threads([1, 2, 3], lambda item: stopped.wait(30), 2, name="trial", stop=stopped.set)
        except KeyboardInterrupt:
            print("stopped" if stopped.is_set() else "not stopped", flush=True)
""")


def test_a_ctrl_c_python_dropped_still_stops_the_pool() -> None:
    child = subprocess.run([sys.executable, "-c", _DROPPED], capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["dropped", "stopped"], (child.stdout, child.stderr)
    assert "KeyboardInterrupt" not in child.stderr, child.stderr  # handled, not printed
    assert "ZeroDivisionError" in child.stderr, child.stderr
