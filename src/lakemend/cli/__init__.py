"""The ``lakemend`` command line (see app.py); the entry point is ``main``."""

from __future__ import annotations


def main() -> None:
    """The ``lakemend`` process: its garbage collection set for start-up and the modules it never
    uses deferred (``lakemend.startup``) before the CLI and what it uses are imported, then the
    command (``app.main``)."""
    from lakemend.startup import collect_rarely, defer_unused_imports

    collect_rarely()
    defer_unused_imports()
    from lakemend.cli.app import main as run

    run()


__all__ = ["main"]
