"""Work on a pool of threads that Ctrl-C stops cleanly.

Ctrl-C is a KeyboardInterrupt in the main thread only, so the main thread never runs the work
itself while threads do: it hands the items out, then waits. When the wait is interrupted (or a
worker raises), no more items start, the caller's ``stop`` ends the running ones (an engine
statement interrupted, a poll loop woken), and every thread is joined before the exception goes
on, so nothing of the pool still runs while the caller closes its sessions and ledger rows. The
wait also stops for a Ctrl-C whose KeyboardInterrupt Python dropped (``lakemend.interrupts``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

from lakemend.interrupts import interrupts_deferred, stop_if_interrupted

Item = TypeVar("Item")
Result = TypeVar("Result")

CHECK_SECONDS = 0.2
"""How often the pool's wait looks for a Ctrl-C whose KeyboardInterrupt Python dropped."""


def in_threads(items: Sequence[Item], work: Callable[[Item], Result], threads: int, *, name: str,
               stop: Callable[[], None] | None = None, each: Callable[[Result], None] | None = None) -> None:
    """``work`` on each item, on up to ``threads`` threads started in item order; ``each`` gets
    the results in item order, as they are ready.

    An exception (from a worker, from ``each``, or Ctrl-C while waiting, even one Python dropped)
    cancels the items not started, calls ``stop`` (if given) for the running ones, joins every
    thread and is raised.
    """
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
    try:
        # A Ctrl-C while the pool starts a thread would leave that thread unknown to the pool,
        # running on after the join below: the items are handed out with Ctrl-C held back.
        with interrupts_deferred():
            futures = [pool.submit(work, item) for item in items]
        for future in futures:
            while not future.done():  # a Ctrl-C Python dropped still stops the pool
                wait([future], timeout=CHECK_SECONDS)
                stop_if_interrupted()
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
