"""Ctrl-C that is never lost and never cuts a ledger update in half.

Python drops an exception raised inside a weakref callback or a ``__del__`` ("Exception ignored
in …"): a Ctrl-C landing there would be lost and the command would run on to the end, exit 0.
Inside ``interrupts_remembered`` a Ctrl-C is also remembered (and its dropped exception not
printed), the places where work starts (a thread pool's wait, a batch's start) stop at
``stop_if_interrupted``, and a DuckDB statement that swallowed one raises it
(``interrupts_not_swallowed``). Standard library only: every layer may use it.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_remembered: list[int] = []
"""The Ctrl-Cs seen inside ``interrupts_remembered`` (a list: appending is safe in a signal handler)."""


@contextmanager
def _sigint_handled_by(handler: Callable[[int, Any], None]) -> Iterator[tuple[bool, Any]]:
    """SIGINT goes to ``handler`` until the block ends. Yields (whether the handler was installed,
    the handler it replaced): outside the main thread (or interpreter) signals cannot be handled
    there, and nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield False, None
        return
    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main interpreter
        yield False, None
        return
    try:
        yield True, previous
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def interrupts_remembered() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt as usual and is remembered until the block ends, so that
    ``stop_if_interrupted`` stops the work even when Python dropped that exception. Outside the
    main thread (or interpreter) the block changes nothing."""

    def remember(signum: int, frame: object) -> None:
        _remembered.append(signum)
        raise KeyboardInterrupt

    def quiet(unraisable: sys.UnraisableHookArgs) -> None:  # a dropped Ctrl-C is handled: no traceback
        if not (_remembered and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            report(unraisable)

    installed = False
    try:
        with _sigint_handled_by(remember) as (installed, _):
            if installed:
                _remembered.clear()
                report, sys.unraisablehook = sys.unraisablehook, quiet
            yield
    finally:  # after SIGINT's handler is restored: a late Ctrl-C is not remembered past the block
        if installed:
            sys.unraisablehook = report
            _remembered.clear()


def stop_if_interrupted() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C was seen inside ``interrupts_remembered``."""
    if _remembered:
        raise KeyboardInterrupt


@contextmanager
def interrupts_not_swallowed() -> Iterator[None]:
    """Around a call into C code that takes a Ctrl-C itself and can swallow it: DuckDB, running a
    statement in the main thread, runs Python's SIGINT handler and sometimes lets the statement
    finish without raising anything. A Ctrl-C remembered while the block ran then raises
    KeyboardInterrupt when the block ends (main thread only; the next block starts afresh)."""
    seen = len(_remembered)
    yield
    if len(_remembered) > seen and threading.current_thread() is threading.main_thread():
        raise KeyboardInterrupt


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ledger rows closed after a Ctrl-C must not be left half-closed by a second, impatient
    Ctrl-C: in the main thread SIGINT waits until the block ends, then is raised as usual."""
    caught: list[int] = []
    previous: Any = None
    try:
        with _sigint_handled_by(lambda signum, frame: caught.append(signum)) as (_, previous):
            yield
    finally:
        if caught and callable(previous):
            previous(signal.SIGINT, None)
