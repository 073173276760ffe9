"""Work on a pool of threads that Ctrl-C stops cleanly, and blocks a Ctrl-C must not cut short.

Ctrl-C is a KeyboardInterrupt in the main thread only, so the main thread never runs the work
itself while threads do: it hands the items out, then waits. When the wait is interrupted (or a
worker raises), no more items start, the caller's ``stop`` ends the running ones (an engine
statement interrupted, a poll loop woken), and every thread is joined before the exception goes
on, so nothing of the pool still runs while the caller closes its sessions and ledger rows.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ledger rows closed after a Ctrl-C must not be left half-closed by a second, impatient
    Ctrl-C: in the main thread SIGINT waits until the block ends, then is raised as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught and callable(previous):
            previous(signal.SIGINT, None)


def in_threads(items: Sequence[Item], work: Callable[[Item], Result], threads: int, *, name: str,
               stop: Callable[[], None] | None = None, each: Callable[[Result], None] | None = None) -> None:
    """``work`` on each item, on up to ``threads`` threads started in item order; ``each`` gets
    the results in item order, as they are ready.

    An exception (from a worker, from ``each``, or Ctrl-C while waiting) cancels the items not
    started, calls ``stop`` (if given) for the running ones, joins every thread and is raised.
    """
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
    try:
        # A Ctrl-C while the pool starts a thread would leave that thread unknown to the pool,
        # running on after the join below: the items are handed out with Ctrl-C held back.
        with interrupts_deferred():
            futures = [pool.submit(work, item) for item in items]
        for future in futures:
            result = future.result()
            if each is not None:
                each(result)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        if stop is not None:
            stop()
        pool.shutdown(wait=True)
        raise
    pool.shutdown(wait=True)
