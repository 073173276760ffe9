"""Ctrl-C that is never lost and never cuts a ledger update in half.

Python drops an exception raised inside a weakref callback or a ``__del__`` ("Exception ignored
in …"): a Ctrl-C landing there would be lost and the command would run on to the end, exit 0.
Inside ``interrupts_remembered`` a Ctrl-C is also remembered (and its dropped exception not
printed), and the places where work starts (a thread pool's wait, a batch's start) stop at
``stop_if_interrupted``.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_remembered: list[int] = []
"""The Ctrl-Cs seen inside ``interrupts_remembered`` (a list: appending is safe in a signal handler)."""


@contextmanager
def interrupts_remembered() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt as usual and is remembered until the block ends, so that
    ``stop_if_interrupted`` stops the work even when Python dropped that exception. Outside the
    main thread (or interpreter) the block changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def remember(signum: int, frame: object) -> None:
        _remembered.append(signum)
        raise KeyboardInterrupt

    def quiet(unraisable: sys.UnraisableHookArgs) -> None:  # a dropped Ctrl-C is handled: no traceback
        if not (_remembered and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            report(unraisable)

    try:
        previous = signal.signal(signal.SIGINT, remember)
    except ValueError:  # not the main interpreter
        yield
        return
    _remembered.clear()
    report, sys.unraisablehook = sys.unraisablehook, quiet
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = report
        _remembered.clear()


def stop_if_interrupted() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C was seen inside ``interrupts_remembered``."""
    if _remembered:
        raise KeyboardInterrupt


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
