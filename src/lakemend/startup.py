"""The cyclic garbage collector while the ``lakemend`` process starts.

A command imports up to 800 modules (the CLI's, pydantic, SQLAlchemy, pyiceberg, pyarrow, DuckDB)
before its work, creating a few hundred thousand objects that live as long as the process.
CPython's cyclic collector runs after every 700 net allocations of such objects and traverses
the young ones, and now and then all of them; almost none is garbage. Measured on these
machines (25 interleaved pairs, medians): importing what a one-day backfill uses takes 0.84 CPU s
with the default thresholds, 0.73 s when the collector runs only every 50,000 allocations. Even
then the middle generation filled up, and its one collection traversed most of those objects
(45 ms of a no-op ``run``); collecting it only after every 50th young collection made whole
commands 3–5 % cheaper (25 pairs each: no-op ``run`` 0.95×, tiny backfill 0.97×).

So the process starts with those high thresholds (:func:`collect_rarely`), which still bound
what uncollected cycles can hold. When the work with data begins (:func:`work_begins`: the first
day of a build, once its engine session is open) every object alive then is moved to the
permanent generation (``gc.freeze``: the modules are not traversed again) and Python's
thresholds come back, so a day's garbage is collected as promptly as it always was. Commands
that never get there (``status``, ``gaps``, ``verify``…) keep the high thresholds to the end.
Only the ``lakemend`` process does this (``lakemend.cli.main``); code importing lakemend as a
library, the tests included, keeps Python's settings.

Standard library only: every layer may use it.
"""

from __future__ import annotations

import gc

STARTUP_THRESHOLD = 50_000
"""Net allocations of container objects between two collections of the youngest generation
while the process starts (Python's default: 700)."""

STARTUP_OLDER_THRESHOLD = 50
"""Collections of the youngest generation between two of the middle one while the process starts
(Python's default: 10)."""

_restore: tuple[int, ...] | None = None
"""The thresholds to put back at :func:`work_begins` (None: nothing to do)."""


def collect_rarely() -> None:
    """Collect cycles only every ``STARTUP_THRESHOLD`` allocations until :func:`work_begins`."""
    global _restore
    if _restore is None:
        _restore = gc.get_threshold()
        gc.set_threshold(STARTUP_THRESHOLD, STARTUP_OLDER_THRESHOLD, *_restore[2:])


def work_begins() -> None:
    """The imports are done: freeze what is alive and collect as usual again (once; nothing
    unless :func:`collect_rarely` ran)."""
    global _restore
    if _restore is not None:
        restore, _restore = _restore, None
        gc.freeze()
        gc.set_threshold(*restore)
