"""The ``lakemend`` command line (see app.py); the entry point is ``main``."""

from lakemend.cli.app import main

__all__ = ["main"]
