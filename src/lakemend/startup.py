"""What the ``lakemend`` process does before it imports its libraries: the cyclic garbage
collector set for start-up, and a few modules those libraries import but lakemend never uses
deferred until something uses them.

**The garbage collector.**

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

**Deferred modules** (:func:`defer_unused_imports`). pyiceberg imports, when its tables are
imported, its parser of row filters written as text (with pyparsing) and ``strictyaml`` for its
``.pyiceberg.yaml`` file, and its Arrow reader imports ``pyarrow.dataset``: 0.05 CPU s of a one-day
backfill of a tiny table (20 interleaved pairs against the code before: 0.83 → 0.78 s), which uses
none of them (lakemend gives pyiceberg expressions, not text; without a ``.pyiceberg.yaml`` nothing
is parsed; only reading a table through pyiceberg's scan needs ``pyarrow.dataset``). Such a module
is made but its code does not run until the first attribute it lacks is asked for; then it runs,
once, under a lock, so threads asking at once all get the whole module (unlike the standard
library's ``LazyLoader`` on Python 3.11, where a second thread can see it half made).

Only the ``lakemend`` process does both (``lakemend.cli.main``); code importing lakemend as a
library, the tests included, keeps Python's settings.

Standard library only: every layer may use it.
"""

from __future__ import annotations

import gc
import importlib.abc
import importlib.machinery
import sys
import threading
import types
from importlib.machinery import ModuleSpec

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


DEFERRED = ("pyiceberg.expressions.parser", "strictyaml", "pyarrow.dataset")
"""Modules imported by lakemend's libraries whose code runs only when first used (see above)."""


class _Deferred(types.ModuleType):
    """A module whose code has not run yet: the first attribute it lacks runs it, once."""

    def __getattr__(self, name: str) -> object:
        spec = self.__spec__
        assert spec is not None
        loader, lock = _waiting.get(spec.name, (None, None))
        if lock is not None:
            with lock:
                if type(self) is _Deferred:
                    if spec.name in _running:  # asked while its own code runs: as a module half imported
                        raise AttributeError(f"partially initialized module {spec.name!r} has no attribute {name!r}")
                    _running.add(spec.name)
                    try:
                        assert loader is not None
                        loader.exec_module(self)
                        spec.loader = loader
                        self.__loader__ = loader
                        self.__class__ = types.ModuleType
                        _waiting.pop(spec.name, None)
                    finally:
                        _running.discard(spec.name)
        if type(self) is _Deferred:
            raise AttributeError(f"module {spec.name!r} has no attribute {name!r}")
        return getattr(self, name)


class _DeferringLoader(importlib.abc.Loader):
    """Makes the module (as its own loader would) and leaves running its code to :class:`_Deferred`."""

    def __init__(self, loader: importlib.machinery.SourceFileLoader) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> None:
        return None  # the default module object, as for any module written in Python

    def exec_module(self, module: types.ModuleType) -> None:
        _waiting[module.__name__] = (self.loader, threading.RLock())
        module.__class__ = _Deferred


class _DeferringFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of :data:`DEFERRED` as Python would, and has them deferred."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if name not in DEFERRED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)  # type: ignore[arg-type]
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec  # not found, or not Python source: imported as usual
        spec.loader = _DeferringLoader(spec.loader)
        return spec


_waiting: dict[str, tuple[importlib.machinery.SourceFileLoader, threading.RLock]] = {}
_running: set[str] = set()


def still_deferred(module: types.ModuleType) -> bool:
    """Whether ``module`` was deferred and its code has not run yet."""
    return type(module) is _Deferred


def defer_unused_imports() -> None:
    """Defer the modules of :data:`DEFERRED` that are not imported yet (once)."""
    if not any(isinstance(finder, _DeferringFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _DeferringFinder())
